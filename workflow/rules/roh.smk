# Runs of homozygosity per sample (helgenom.roh): bcftools roh over the sample's PASS SNV
# genotypes, summarised per chromosome with UPD and consanguinity hints -> results/roh/,
# a MultiQC table for the run, and a section of the clinical report.

from helgenom.roh import RohSettings, roh_command_options  # noqa: E402

ROH = RohSettings.from_config(config["roh"])


rule roh:
    input:
        vcf="results/vcf/{sample}.vcf.gz",
        tbi="results/vcf/{sample}.vcf.gz.tbi",
        af=ROH.af_file or [],
    output:
        "results/roh/{sample}.roh.txt",
    log:
        "logs/roh/{sample}.log",
    benchmark:
        "benchmarks/roh/{sample}.tsv"
    params:
        options=roh_command_options(ROH),
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        # -O r: the segments (RG lines); the per-site states are not kept.
        "bcftools roh {params.options} -O r -o {output} {input.vcf} 2> {log}"


rule roh_summary:
    input:
        roh="results/roh/{sample}.roh.txt",
        acgt="results/qc/reference_acgt.tsv",
    output:
        "results/roh/{sample}.roh.json",
    log:
        "logs/roh_summary/{sample}.log",
    benchmark:
        "benchmarks/roh_summary/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        settings=config["roh"],  # changed settings summarise again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import write_json
        from helgenom.qc.coverage import read_acgt
        from helgenom.roh import read_roh_regions, summarise_roh

        segments = read_roh_regions(input.roh, wildcards.sample)
        summary = summarise_roh(wildcards.sample, segments, read_acgt(input.acgt), ROH)
        write_json(summary, output[0])
        Path(log[0]).write_text(f"{wildcards.sample}: {summary['interpretation']}\n")


rule roh_mqc:
    input:
        expand("results/roh/{sample}.roh.json", sample=SAMPLES),
    output:
        "results/qc/roh_mqc.tsv",
    log:
        "logs/roh_mqc.log",
    benchmark:
        "benchmarks/roh_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.roh import write_roh_mqc

        write_roh_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} samples\n")
