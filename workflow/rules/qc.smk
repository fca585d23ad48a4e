# QC per sample (samtools stats/flagstat, mosdepth, bcftools stats; fastp from trim.smk),
# one MultiQC report for the run, and the versions of every tool the run used.


rule samtools_stats:
    input:
        unpack(sample_cram),
        **reference_files(),
    output:
        "results/qc/samtools/{sample}.stats.txt",
    log:
        "logs/samtools_stats/{sample}.log",
    benchmark:
        "benchmarks/samtools_stats/{sample}.tsv"
    threads: 2
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        "samtools stats -@ {threads} --reference {input.fa} {input.cram} > {output} 2> {log}"


rule samtools_flagstat:
    input:
        unpack(sample_cram),
        **reference_files(),
    output:
        "results/qc/samtools/{sample}.flagstat.txt",
    log:
        "logs/samtools_flagstat/{sample}.log",
    benchmark:
        "benchmarks/samtools_flagstat/{sample}.tsv"
    threads: 2
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        "samtools flagstat -@ {threads} --input-fmt-option reference={input.fa} {input.cram}"
        " > {output} 2> {log}"


rule mosdepth:
    input:
        unpack(sample_cram),
        **reference_files(),
    output:
        dist="results/qc/mosdepth/{sample}.mosdepth.global.dist.txt",
        summary="results/qc/mosdepth/{sample}.mosdepth.summary.txt",
    log:
        "logs/mosdepth/{sample}.log",
    benchmark:
        "benchmarks/mosdepth/{sample}.tsv"
    params:
        prefix=lambda wc: f"results/qc/mosdepth/{wc.sample}",
    threads: 2
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/mosdepth.yaml"
    shell:
        # --fast-mode: no per-base CIGAR/mate-overlap correction; as used for WGS QC.
        "mosdepth --threads {threads} --no-per-base --fast-mode --fasta {input.fa}"
        " {params.prefix} {input.cram} > {log} 2>&1"


rule bcftools_stats:
    input:
        vcf="results/vcf/{sample}.vcf.gz",
        fa=REF_FA,
    output:
        "results/qc/bcftools/{sample}.stats.txt",
    log:
        "logs/bcftools_stats/{sample}.log",
    benchmark:
        "benchmarks/bcftools_stats/{sample}.tsv"
    threads: 1
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        "bcftools stats --fasta-ref {input.fa} --apply-filters PASS {input.vcf} > {output} 2> {log}"


rule coverage_summary:
    input:
        dist=expand("results/qc/mosdepth/{sample}.mosdepth.global.dist.txt", sample=SAMPLES),
        summary=expand("results/qc/mosdepth/{sample}.mosdepth.summary.txt", sample=SAMPLES),
    output:
        "results/qc/coverage_mqc.tsv",
    log:
        "logs/coverage_summary.log",
    benchmark:
        "benchmarks/coverage_summary.tsv"
    params:
        thresholds=config["qc"]["coverage_thresholds"],
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.qc import read_mosdepth, write_coverage_mqc

        summaries = {
            sample: read_mosdepth(s, d, params.thresholds)
            for sample, s, d in zip(SAMPLES, input.summary, input.dist)
        }
        write_coverage_mqc(summaries, output[0])


rule multiqc:
    input:
        multiqc_inputs,
    output:
        html="results/qc/multiqc/multiqc_report.html",
        data=directory("results/qc/multiqc/multiqc_report_data"),
    log:
        "logs/multiqc.log",
    benchmark:
        "benchmarks/multiqc.tsv"
    params:
        outdir="results/qc/multiqc",
    threads: 1
    resources:
        **job_resources("multiqc"),
    conda:
        "../../envs/multiqc.yaml"
    shell:
        "multiqc --force --no-ansi --outdir {params.outdir} --filename multiqc_report.html"
        " --title helgenom {input} > {log} 2>&1"


rule tool_version:
    output:
        "results/versions/{tool}.txt",
    log:
        "logs/tool_version/{tool}.log",
    benchmark:
        "benchmarks/tool_version/{tool}.tsv"
    params:
        command=lambda wc: TOOLS[wc.tool].command,
    # Off the critical path: run when cores are free rather than delaying the samples.
    priority: -10
    threads: 1
    resources:
        **job_resources("small"),
    conda:
        lambda wc: f"../../envs/{TOOL_ENVS[wc.tool]}.yaml"
    shell:
        # Some tools print their version to stderr and exit non-zero (bwa): keep both.
        "({params.command} > {output} 2>&1 || true) 2> {log}"


rule versions:
    input:
        tools=expand("results/versions/{tool}.txt", tool=versions_tools()),
        # MultiQC records its own version in its data (asking `multiqc --version` costs ~1 s).
        multiqc="results/qc/multiqc/multiqc_report_data",
    output:
        "results/versions.yaml",
    log:
        "logs/versions.log",
    benchmark:
        "benchmarks/versions.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.versions import write_versions

        raw = dict(zip(versions_tools(), input.tools))
        raw["multiqc"] = f"{input.multiqc}/multiqc_data.json"
        write_versions(raw, output[0])
