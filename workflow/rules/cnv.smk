# Copy-number variants per sample from read depth (helgenom.cnv): cnvkit bins of the accessible
# genome (once per run), each sample's coverage over them (mosdepth, as a cnvkit table), a
# reference (cnv.reference: flat, the run's samples unrelated to it, or the site's panel of
# normals), cnvkit fix and CBS segments; the segments called gains and losses at integer copy
# number with the panel genes they overlap -> results/cnv/<sample>.vcf.gz (+ .tbi) and
# <sample>.cnv.json, a MultiQC table for the run, and a section of the clinical report.
# cnv.enabled false: no cnvkit job, "not assessed". Settings and input functions: common.smk.

# Debian installs the command as `cnvkit`, bioconda as `cnvkit.py`; pandas' FutureWarnings of
# cnvkit 0.9.9 kept out of the logs.
CNVKIT = "PYTHONWARNINGS=ignore::FutureWarning $(command -v cnvkit.py || echo cnvkit)"
CNV_BINS = "results/cnv/bins/targets.bed"
CNV_ANTITARGET = "results/cnv/bins/antitarget.coverage.cnn"


rule cnv_access:
    input:
        exclude=CNV.exclude_bed or [],
        **reference_files(),
    output:
        "results/cnv/bins/access.bed",
    log:
        "logs/cnv_access.log",
    benchmark:
        "benchmarks/cnv_access.tsv"
    params:
        exclude=f"-x {CNV.exclude_bed}" if CNV.exclude_bed else "",
        cnvkit=CNVKIT,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/cnvkit.yaml"
    shell:
        # the accessible genome: runs of N (and the excluded regions) left out
        "{params.cnvkit} access {input.fa} {params.exclude} -o {output} > {log} 2>&1"


rule cnv_bins:
    input:
        "results/cnv/bins/access.bed",
    output:
        bins=CNV_BINS,
        antitarget=CNV_ANTITARGET,
    log:
        "logs/cnv_bins.log",
    benchmark:
        "benchmarks/cnv_bins.tsv"
    params:
        bin_size=CNV.bin_size,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.cnv import write_bins, write_empty_coverage

        n = write_bins(input[0], output.bins, params.bin_size, config["mito"]["contigs"])
        write_empty_coverage(output.antitarget)  # whole-genome mode: no antitarget bins
        Path(log[0]).write_text(f"{n} bins of about {params.bin_size} bp\n")


rule cnv_coverage:
    input:
        bins=CNV_BINS,
        cram="results/cram/{sample}.cram",
        crai="results/cram/{sample}.cram.crai",
        **reference_files(),
    output:
        regions="results/cnv/coverage/{sample}.regions.bed.gz",
        csi="results/cnv/coverage/{sample}.regions.bed.gz.csi",
        summary=temp("results/cnv/coverage/{sample}.mosdepth.summary.txt"),
        dist=temp("results/cnv/coverage/{sample}.mosdepth.global.dist.txt"),
        region_dist=temp("results/cnv/coverage/{sample}.mosdepth.region.dist.txt"),
    log:
        "logs/cnv_coverage/{sample}.log",
    benchmark:
        "benchmarks/cnv_coverage/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        prefix=lambda wc: f"results/cnv/coverage/{wc.sample}",
    threads: 2
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/mosdepth.yaml"
    shell:
        # the mean depth of each bin (duplicates, secondary, QC-failed and unmapped reads left
        # out as by samtools bedcov, i.e. cnvkit coverage; MAPQ 0 kept; overlapping mates
        # counted once); mosdepth reads a 30x CRAM many times faster than cnvkit coverage
        "mosdepth --threads {threads} --no-per-base --fasta {input.fa} --by {input.bins} "
        "{params.prefix} {input.cram} > {log} 2>&1"


rule cnv_coverage_table:
    input:
        "results/cnv/coverage/{sample}.regions.bed.gz",
    output:
        "results/cnv/coverage/{sample}.targetcoverage.cnn",
    log:
        "logs/cnv_coverage_table/{sample}.log",
    benchmark:
        "benchmarks/cnv_coverage_table/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.cnv import write_coverage_table

        n = write_coverage_table(input[0], output[0])
        Path(log[0]).write_text(f"{n} bins\n")


rule cnv_reference_flat:
    input:
        bins=CNV_BINS,
        **reference_files(),
    output:
        "results/cnv/reference/flat.cnn",
    log:
        "logs/cnv_reference/flat.log",
    benchmark:
        "benchmarks/cnv_reference/flat.tsv"
    params:
        cnvkit=CNVKIT,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/cnvkit.yaml"
    shell:
        "{params.cnvkit} reference -f {input.fa} -t {input.bins} -o {output} > {log} 2>&1"


rule cnv_reference_run:
    input:
        normals=cnv_normals,
        **reference_files(),
    output:
        "results/cnv/reference/{sample}.cnn",
    log:
        "logs/cnv_reference/{sample}.log",
    benchmark:
        "benchmarks/cnv_reference/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        cnvkit=CNVKIT,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/cnvkit.yaml"
    shell:
        # leave-one-out panel of normals: the median of the unrelated samples, per bin
        "{params.cnvkit} reference -f {input.fa} {input.normals} -o {output} > {log} 2>&1"


rule cnv_segment:
    input:
        coverage="results/cnv/coverage/{sample}.targetcoverage.cnn",
        antitarget=CNV_ANTITARGET,
        reference=cnv_reference,
    output:
        cnr="results/cnv/{sample}.cnr",
        cns="results/cnv/{sample}.cns",
    log:
        "logs/cnv_segment/{sample}.log",
    benchmark:
        "benchmarks/cnv_segment/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        cnvkit=CNVKIT,
        alpha=CNV.segment_alpha,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/cnvkit.yaml"
    shell:
        # bins' log2 ratios to the reference (GC, repeat content corrected), then CBS; every
        # bin kept (--drop-outliers 0: the bins of a homozygous deletion are no outliers)
        "({params.cnvkit} fix {input.coverage} {input.antitarget} {input.reference} "
        "-i {wildcards.sample} -o {output.cnr} && "
        "{params.cnvkit} segment -m cbs -t {params.alpha} --drop-outliers 0 {output.cnr} "
        "-o {output.cns}) > {log} 2>&1"


rule cnv_vcf:
    input:
        unpack(cnv_call_inputs),
    output:
        vcf="results/cnv/{sample}.vcf.gz",
        tbi="results/cnv/{sample}.vcf.gz.tbi",
        json="results/cnv/{sample}.cnv.json",
    log:
        "logs/cnv_vcf/{sample}.log",
    benchmark:
        "benchmarks/cnv_vcf/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        settings=config["cnv"],  # changed settings call again
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.cnv import (
            call_cnvs,
            covered_fraction,
            not_assessed,
            read_bin_log2,
            read_fai,
            read_segments,
            summarise_cnv,
            with_median_log2,
            write_cnv_vcf,
        )
        from helgenom.fileio import write_json
        from helgenom.sv import read_gene_intervals

        sample = SAMPLES[wildcards.sample]
        covered, n_bins = covered_fraction(input.coverage) if CNV.enabled else (0.0, 0)
        if CNV.enabled and covered >= CNV.min_covered_fraction:
            genes = read_gene_intervals(input.bed) if "bed" in input.keys() else []
            segments = with_median_log2(read_segments(input.cns), read_bin_log2(input.cnr))
            calls = call_cnvs(segments, sample.sex, CNV, genes)
            normals = len(PEDIGREE.unrelated(wildcards.sample)) if CNV.reference == "run" else None
            summary = summarise_cnv(wildcards.sample, calls, segments, CNV, normals=normals)
        elif CNV.enabled:
            calls = []
            reason = (
                f"reads in {covered:.0%} of the {n_bins} bins, fewer than "
                f"cnv.min_covered_fraction ({CNV.min_covered_fraction:.0%}): not a whole genome"
            )
            summary = not_assessed(wildcards.sample, reason, CNV)
        else:
            calls = []
            summary = not_assessed(wildcards.sample, "cnv.enabled is false", CNV)
        summary["covered_fraction"] = round(covered, 4) if CNV.enabled else None
        write_cnv_vcf(calls, output.vcf, wildcards.sample, read_fai(input.fai))
        write_json(summary, output.json)
        Path(log[0]).write_text(f"{wildcards.sample}: {summary['interpretation']}\n")


rule cnv_mqc:
    input:
        expand("results/cnv/{sample}.cnv.json", sample=SAMPLES),
    output:
        "results/qc/cnv_mqc.tsv",
    log:
        "logs/cnv_mqc.log",
    benchmark:
        "benchmarks/cnv_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.cnv import write_cnv_mqc

        write_cnv_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} samples\n")
