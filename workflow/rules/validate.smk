# Validation runs: for each sample that config.yaml's `validation` names a truth set for
# (e.g. GIAB NA12878), the calls are compared with the truth (helgenom.truth: both sets
# normalised and atomised alike, haplotype-aware matching) inside the confident regions and
# over the whole span of the truth set. Per sample a TSV and a JSON table; for the run a
# MultiQC custom-content table. The rules exist only in runs that name a truth set.

from helgenom.truth import NORM_PIPELINE  # noqa: E402


if VALIDATION:

    localrules:
        validation_compare,
        validation_summary,

    rule validation_normalise:
        input:
            vcf=validation_vcf,
            **reference_files(),
        output:
            temp("results/validation/{sample}.{callset}.norm.bcf"),
        log:
            "logs/validation_normalise/{sample}.{callset}.log",
        benchmark:
            "benchmarks/validation_normalise/{sample}.{callset}.tsv"
        wildcard_constraints:
            callset="calls|truth",
        threads: 1
        resources:
            **job_resources("gather"),
        conda:
            "../../envs/bcftools.yaml"
        shell:
            "("
            + NORM_PIPELINE.format(ref="{input.fa}", vcf="{input.vcf}", out="{output}")
            + ") 2> {log}"

    rule validation_compare:
        input:
            unpack(validation_inputs),
            **reference_files(),
        output:
            tsv="results/validation/{sample}.tsv",
            json="results/validation/{sample}.json",
        log:
            "logs/validation_compare/{sample}.log",
        benchmark:
            "benchmarks/validation_compare/{sample}.tsv"
        threads: 1
        resources:
            **job_resources("gather"),
        run:
            from helgenom.truth import validation_report

            validation_report(
                wildcards.sample, input.calls, input.truth, input.fa, input.bed,
                output.tsv, output.json, log[0],
            )  # fmt: skip

    rule validation_summary:
        input:
            validation_reports(),
        output:
            "results/qc/validation_mqc.tsv",
        log:
            "logs/validation_summary.log",
        benchmark:
            "benchmarks/validation_summary.tsv"
        threads: 1
        resources:
            **job_resources("small"),
        run:
            from helgenom.truth import write_validation_mqc

            write_validation_mqc(input, output[0])
