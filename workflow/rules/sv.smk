# Structural variants per sample (helgenom.sv): the callers of sv.callers on the sample's CRAM,
# delly call (germline, paired-end and split reads) and/or TIDDIT (discordant pairs, split
# reads, coverage; --skip_assembly: Debian 12 has no fermi2/ropebwt2); the callers' PASS calls
# go through one merge step (one caller: copied; two: SURVIVOR merge) that adds the callers and
# the panel genes each SV touches -> results/sv/<sample>.vcf.gz (+ .tbi) and <sample>.sv.json,
# a MultiQC table for the run, and a section of the clinical report.

from helgenom.paths import package_path  # noqa: E402


rule sv_delly:
    input:
        cram="results/cram/{sample}.cram",
        crai="results/cram/{sample}.cram.crai",
        exclude=SV.exclude_bed or [],
        **reference_files(),
    output:
        bcf="results/sv/delly/{sample}.bcf",
        csi="results/sv/delly/{sample}.bcf.csi",
    log:
        "logs/sv_delly/{sample}.log",
    benchmark:
        "benchmarks/sv_delly/{sample}.tsv"
    params:
        exclude=f"-x {SV.exclude_bed}" if SV.exclude_bed else "",
    threads: 1  # delly parallelises over samples only
    resources:
        **job_resources("sv"),
    conda:
        "../../envs/delly.yaml"
    shell:
        "delly call -g {input.fa} {params.exclude} -o {output.bcf} {input.cram} > {log} 2>&1"


rule sv_tiddit:
    input:
        cram="results/cram/{sample}.cram",
        crai="results/cram/{sample}.cram.crai",
        **reference_files(),
    output:
        vcf="results/sv/tiddit/{sample}.vcf.gz",
    log:
        "logs/sv_tiddit/{sample}.log",
    benchmark:
        "benchmarks/sv_tiddit/{sample}.tsv"
    params:
        # TIDDIT 3.5.2 with its 3.6.1 fix for samples without candidates (see the script),
        # run by the interpreter TIDDIT is installed for (the tiddit script's first line)
        script=package_path("scripts", "tiddit_sv.py"),
    # tiddit parallelises over contigs in worker processes, ~1.5 s to start; one thread: at
    # 30x it still ends well before delly (single-threaded, ~2x its CPU), which runs alongside
    threads: 1
    resources:
        **job_resources("sv_tiddit"),
    conda:
        "../../envs/tiddit.yaml"
    shell:
        # tiddit writes <prefix>.vcf, <prefix>.ploidies.tab and a <prefix>_tiddit/ of read
        # signals (which a later run with that prefix would reuse): all in a fresh scratch
        # directory, the VCF kept (bgzipped)
        "tmp=$(mktemp -d {resources.tmpdir}/helgenom-tiddit.XXXXXX) && "
        "trap 'rm -rf \"$tmp\"' EXIT && "
        "tiddit_python=$(sed -n '1s/^#! *//p' \"$(command -v tiddit)\") && "
        "$tiddit_python {params.script} --sv --skip_assembly --threads {threads} "
        "--bam {input.cram} --ref {input.fa} -o $tmp/{wildcards.sample} > {log} 2>&1 && "
        "bgzip -c $tmp/{wildcards.sample}.vcf > {output.vcf}"


rule sv_vcf:
    input:
        unpack(sv_caller_calls),
        bed=panel_bed,
        exclude=SV.exclude_bed or [],  # TIDDIT's calls in it are left out
    output:
        vcf="results/sv/{sample}.vcf.gz",
        tbi="results/sv/{sample}.vcf.gz.tbi",
        json="results/sv/{sample}.sv.json",
    log:
        "logs/sv_vcf/{sample}.log",
    benchmark:
        "benchmarks/sv_vcf/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        settings=config["sv"],  # changed settings write the VCF again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import write_json
        from helgenom.sv import merge_sv_calls, read_gene_intervals, summarise_sv

        genes = read_gene_intervals(input.bed) if input.bed else []
        notes = []
        vcfs = {c: input[c] for c in SV.callers}
        calls = merge_sv_calls(vcfs, output.vcf, genes, SV, notes=notes)
        summary = summarise_sv(wildcards.sample, calls, SV)
        write_json(summary, output.json)
        notes.append(f"{wildcards.sample}: {summary['total']} SVs")
        Path(log[0]).write_text("".join(f"{note}\n" for note in notes))


rule sv_mqc:
    input:
        expand("results/sv/{sample}.sv.json", sample=SAMPLES),
    output:
        "results/qc/sv_mqc.tsv",
    log:
        "logs/sv_mqc.log",
    benchmark:
        "benchmarks/sv_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.sv import write_sv_mqc

        write_sv_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} samples\n")
