# Per unit: fastp adapter and quality trimming, with its JSON + HTML report.
# Reads are never dropped (quality and length filtering are off), so the CRAM keeps every
# sequenced read; the trimmed FASTQs are temporary and written with fast compression.


rule fastp:
    input:
        unpack(unit_fastqs),
    output:
        r1=temp("results/trimmed/{sample}/{unit}_R1.fastq.gz"),
        r2=temp("results/trimmed/{sample}/{unit}_R2.fastq.gz"),
        json="results/qc/fastp/{sample}/{sample}_{unit}.fastp.json",
        html="results/qc/fastp/{sample}/{sample}_{unit}.fastp.html",
    log:
        "logs/fastp/{sample}/{unit}.log",
    benchmark:
        "benchmarks/fastp/{sample}/{unit}.tsv"
    params:
        extra=config["trimming"]["extra"],
    threads: 2
    resources:
        **job_resources("fastp"),
    conda:
        "../../envs/fastp.yaml"
    shell:
        "fastp --in1 {input.r1} --in2 {input.r2} --out1 {output.r1} --out2 {output.r2}"
        " --detect_adapter_for_pe --disable_quality_filtering --disable_length_filtering"
        " --compression 1 --thread {threads} {params.extra}"
        " --json {output.json} --html {output.html} --report_title '{wildcards.sample} {wildcards.unit}'"
        " 2> {log}"
