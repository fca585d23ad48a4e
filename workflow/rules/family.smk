# Identity, relatedness and families (helgenom.family).
# - Every run: the samples' gVCFs merged (bcftools merge --gvcf; at config identity.sites when
#   set) -> KING-robust kinship of every pair -> results/identity/relatedness.tsv and a MultiQC
#   table; one individual as two samples is flagged there (it gates only within a family, so
#   that no sample's gate waits for the whole run).
# - Each family declared in samples.tsv (two or more members in the run): the members' gVCFs
#   merged into joint genotypes (results/family/<family>.vcf.gz), the pedigree check (gates
#   the members: a swapped sample fails), and for each trio Mendelian errors (bcftools
#   +mendelian), de novo candidates (bcftools +trio-dnm2) and the inheritance of the child's
#   variants (helgenom.family) -> results/family/<family>.json, read by the proband's report.

FAMILY_IDS = "|".join(re.escape(f) for f in FAMILIES) or "(?!)"


wildcard_constraints:
    family=FAMILY_IDS,


def merge_gvcf_command(sites):
    """bcftools merge --gvcf of the inputs' gVCFs (at `sites` when given), the records with an
    alternate allele in any of them; each sample's reference blocks give its 0/0 and depth."""
    regions = f"-R {sites} " if sites else ""
    return (
        f"bcftools merge --gvcf {{input.fa}} {regions}--threads {{threads}} -Ou {{input.gvcf}} "
        "2> {log} | bcftools view -e 'ALT=\".\" || ALT=\"<*>\"' -Oz -o {output.vcf} 2>> {log} "
        "&& tabix -f -p vcf {output.vcf}"
    )


rule identity_vcf:
    input:
        gvcf=expand("results/gvcf/{sample}.g.vcf.gz", sample=SAMPLES),
        tbi=expand("results/gvcf/{sample}.g.vcf.gz.tbi", sample=SAMPLES),
        sites=IDENTITY_SITES or [],
        **reference_files(),
    output:
        vcf="results/identity/run.vcf.gz",
        tbi="results/identity/run.vcf.gz.tbi",
    log:
        "logs/identity/run.log",
    benchmark:
        "benchmarks/identity/run.tsv"
    threads: 2
    resources:
        **job_resources("merge"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        merge_gvcf_command(IDENTITY_SITES)


rule relatedness:
    input:
        "results/identity/run.vcf.gz",
    output:
        tsv="results/identity/relatedness.tsv",
        mqc="results/qc/relatedness_mqc.tsv",
    log:
        "logs/identity/relatedness.log",
    benchmark:
        "benchmarks/identity/relatedness.tsv"
    params:
        settings=config["identity"],  # changed settings check again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.family import all_pairs, check_pair, read_genotypes, write_relatedness

        pairs = all_pairs(read_genotypes(input[0], IDENTITY), IDENTITY)
        checks = [check_pair(p, PEDIGREE.expected(p.a, p.b)) for p in pairs]
        write_relatedness(checks, output.tsv, output.mqc)
        flagged = [c.message for c in checks if c.status == "fail"]
        Path(log[0]).write_text(
            f"{len(pairs)} pairs\n" + "".join(f"flagged: {m}\n" for m in flagged)
        )
        for message in flagged:
            print(f"helgenom: warning: relatedness: {message}", file=sys.stderr)


rule family_ped:
    output:
        "results/family/{family}.ped",
    log:
        "logs/family/{family}.ped.log",
    benchmark:
        "benchmarks/family_ped/{family}.tsv"
    params:
        members=lambda wildcards: PEDIGREE.ped(wildcards.family),  # a changed sheet rewrites it
    threads: 1
    resources:
        **job_resources("small"),
    run:
        Path(output[0]).write_text(params.members)
        Path(log[0]).write_text(f"{wildcards.family}: {len(FAMILIES[wildcards.family])} members\n")


rule family_vcf:
    input:
        unpack(family_gvcfs),
    output:
        vcf="results/family/{family}.vcf.gz",
        tbi="results/family/{family}.vcf.gz.tbi",
    log:
        "logs/family/{family}.merge.log",
    benchmark:
        "benchmarks/family_vcf/{family}.tsv"
    threads: 2
    resources:
        **job_resources("merge"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        merge_gvcf_command(None)


rule pedigree_check:
    input:
        "results/family/{family}.vcf.gz",
    output:
        "results/family/{family}.pedigree.json",
    log:
        "logs/family/{family}.pedigree.log",
    benchmark:
        "benchmarks/pedigree_check/{family}.tsv"
    params:
        settings=config["identity"],
        members=lambda wildcards: PEDIGREE.ped(wildcards.family),
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.family import all_pairs, check_family, read_genotypes, sample_verdict
        from helgenom.fileio import write_json

        checks = check_family(PEDIGREE, all_pairs(read_genotypes(input[0], IDENTITY), IDENTITY))
        members = FAMILIES[wildcards.family]
        verdicts = {s: sample_verdict(s, checks) for s in members}
        write_json(
            {
                "family": wildcards.family,
                "members": members,
                "pairs": [c.as_dict() for c in checks],
                "verdicts": verdicts,
            },
            output[0],
        )
        Path(log[0]).write_text(
            "".join(f"{s}: {v['pedigree_check']} ({v['reason']})\n" for s, v in verdicts.items())
        )


rule mendelian:
    input:
        vcf="results/family/{family}.vcf.gz",
        ped="results/family/{family}.ped",
    output:
        "results/family/{family}.mendelian.txt",
    log:
        "logs/family/{family}.mendelian.log",
    benchmark:
        "benchmarks/mendelian/{family}.tsv"
    params:
        min_depth=TRIO_SETTINGS.min_depth,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        # sites where every member is covered at min_depth (a reference block's depth counts)
        "bcftools view -i 'MIN(FMT/DP)>={params.min_depth}' -Ou {input.vcf} 2> {log}"
        " | bcftools +mendelian -m c -p {input.ped} > {output} 2>> {log}"


rule de_novo:
    input:
        vcf="results/family/{family}.vcf.gz",
        ped="results/family/{family}.ped",
    output:
        "results/family/{family}.dnm.vcf.gz",
    log:
        "logs/family/{family}.dnm.log",
    benchmark:
        "benchmarks/de_novo/{family}.tsv"
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        # The naive model (genotypes only): bcftools' gVCF reference blocks carry no
        # likelihoods for the parents' hom-ref calls; depth, QUAL and allele-fraction filters
        # follow in family_summary (helgenom.family.trio_variants).
        "bcftools +trio-dnm2 -P {input.ped} --dnm-tag DNM:flag -Ou {input.vcf} 2> {log}"
        " | bcftools view -i 'FMT/DNM=1' -Oz -o {output} 2>> {log}"


rule family_summary:
    input:
        unpack(family_summary_inputs),
    output:
        "results/family/{family}.json",
    log:
        "logs/family/{family}.summary.log",
    benchmark:
        "benchmarks/family_summary/{family}.tsv"
    params:
        settings=config["family"],
        panels=lambda wildcards: {
            s: REPORT_PANELS[s].id for s in FAMILIES[wildcards.family] if s in REPORT_PANELS
        },
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.family import family_log, family_summary
        from helgenom.fileio import write_json

        summary = family_summary(
            PEDIGREE,
            wildcards.family,
            vcf=input.vcf,
            pedigree_json=input.pedigree,
            mendelian_txt=input.get("mendelian"),
            dnm_vcf=input.get("dnm"),
            panels=REPORT_PANELS,
            settings=TRIO_SETTINGS,
        )
        write_json(summary, output[0])
        Path(log[0]).write_text(family_log(summary))


rule family_mqc:
    input:
        expand("results/family/{family}.json", family=FAMILIES),
    output:
        "results/qc/family_mqc.tsv",
    log:
        "logs/family_mqc.log",
    benchmark:
        "benchmarks/family_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.family import write_family_mqc
        from helgenom.fileio import read_json

        write_family_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} families\n")
