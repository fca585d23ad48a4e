# Mitochondrial variants with heteroplasmy per sample (helgenom.mito): the mitochondrial
# contig (mito.contigs; left out of the nuclear calling) read with bcftools mpileup at its full
# depth, allele fractions from the read counts, no diploid assumption -> results/mito/, a
# MultiQC table for the run, and a section of the clinical report. A reference without the
# contig (e.g. a slice of chr20) gives "not assessed" results instead of failing.

from helgenom.mito import MitoSettings, pileup_options  # noqa: E402

MITO = MitoSettings.from_config(config["mito"])


rule mito_region:
    input:
        fai=f"{REF_FA}.fai",
    output:
        "results/mito/region.bed",
    log:
        "logs/mito_region.log",
    benchmark:
        "benchmarks/mito_region.tsv"
    params:
        contigs=MITO.contigs,  # changed names look again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.mito import not_assessed, write_mito_region

        region = write_mito_region(input.fai, output[0], MITO)
        found = f"{region[0]}: {region[1]} bp" if region else not_assessed(MITO)
        Path(log[0]).write_text(found + "\n")


rule mito_pileup:
    input:
        unpack(sample_cram),
        region="results/mito/region.bed",
        **reference_files(),
    output:
        temp("results/mito/{sample}.pileup.bcf"),
    log:
        "logs/mito_pileup/{sample}.log",
    benchmark:
        "benchmarks/mito_pileup/{sample}.tsv"
    params:
        options=pileup_options(MITO),
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        # An empty region (no mitochondrial contig in the reference) leaves an empty placeholder
        # that mito_variants does not read: bcftools mpileup cannot take an empty region list.
        "if [ -s {input.region} ]; then"
        " bcftools mpileup {params.options} -f {input.fa} -R {input.region} -o {output}"
        " {input.cram} 2> {log};"
        " else : > {output}; echo 'no mitochondrial contig: not assessed' > {log}; fi"


rule mito_variants:
    input:
        pileup="results/mito/{sample}.pileup.bcf",
        region="results/mito/region.bed",
    output:
        vcf="results/mito/{sample}.vcf.gz",
        tbi="results/mito/{sample}.vcf.gz.tbi",
        json="results/mito/{sample}.mito.json",
    log:
        "logs/mito_variants/{sample}.log",
    benchmark:
        "benchmarks/mito_variants/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        settings=config["mito"],  # changed settings call again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import write_json
        from helgenom.mito import read_mito_region, read_pileup, summarise_mito, write_mito_vcf

        region = read_mito_region(input.region)
        pileup = read_pileup(input.pileup, MITO) if region else None
        calls = pileup.calls if pileup else []
        write_mito_vcf(calls, output.vcf, wildcards.sample, MITO, region, Path(REF_FA).name)
        summary = summarise_mito(wildcards.sample, pileup, MITO, region)
        write_json(summary, output.json)
        Path(log[0]).write_text(f"{wildcards.sample}: {summary['interpretation']}\n")


rule mito_mqc:
    input:
        expand("results/mito/{sample}.mito.json", sample=SAMPLES),
    output:
        "results/qc/mito_mqc.tsv",
    log:
        "logs/mito_mqc.log",
    benchmark:
        "benchmarks/mito_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.mito import write_mito_mqc

        write_mito_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} samples\n")
