# QC per sample (samtools stats/flagstat, mosdepth, bcftools stats; fastp from trim.smk),
# the clinical QC gate per sample (helgenom.qc: metrics, thresholds, overrides), one MultiQC
# report for the run, and the versions of every tool the run used.

import re  # noqa: E402

from helgenom.report.coverage import quantize_env, quantize_spec  # noqa: E402

# The threshold set, the coverage BED, the overrides file (QC_OVERRIDES) and the gene panels
# (REPORT_PANELS) were checked with the other inputs before any job (common.smk, _load_run).
QC_ANALYSIS = config["qc"]["analysis"]
QC_THRESHOLDS = config["qc"]["thresholds"][QC_ANALYSIS]
MIN_DEPTH = config["report"]["min_depth"]
# Depths mosdepth counts per coverage region: the QC figures, the gate's 20x, the panel's.
MOSDEPTH_THRESHOLDS = sorted({*config["qc"]["coverage_thresholds"], 20, MIN_DEPTH})
# Sample IDs may hold '.', so {sample}.json and {sample}.metrics.json need the exact IDs.
SAMPLE_IDS = "|".join(re.escape(sample) for sample in SAMPLES)


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
        regions="results/qc/coverage_regions.bed",
    output:
        dist="results/qc/mosdepth/{sample}.mosdepth.global.dist.txt",
        summary="results/qc/mosdepth/{sample}.mosdepth.summary.txt",
        region_dist="results/qc/mosdepth/{sample}.mosdepth.region.dist.txt",
        regions="results/qc/mosdepth/{sample}.regions.bed.gz",
        regions_csi="results/qc/mosdepth/{sample}.regions.bed.gz.csi",
        thresholds="results/qc/mosdepth/{sample}.thresholds.bed.gz",
        thresholds_csi="results/qc/mosdepth/{sample}.thresholds.bed.gz.csi",
        quantized="results/qc/mosdepth/{sample}.quantized.bed.gz",
        quantized_csi="results/qc/mosdepth/{sample}.quantized.bed.gz.csi",
    log:
        "logs/mosdepth/{sample}.log",
    benchmark:
        "benchmarks/mosdepth/{sample}.tsv"
    params:
        prefix=lambda wc: f"results/qc/mosdepth/{wc.sample}",
        thresholds=",".join(map(str, MOSDEPTH_THRESHOLDS)),
        quantize=quantize_spec(MIN_DEPTH),
        bins=quantize_env(),
    threads: 2
    resources:
        **job_resources("qc"),
    conda:
        "../../envs/mosdepth.yaml"
    shell:
        # --fast-mode: no per-base CIGAR/mate-overlap correction; as used for WGS QC.
        # --by/--thresholds: exact base counts over the gate's coverage regions; --quantize:
        # genome-wide runs of 0, 1..MIN_DEPTH-1 and >= MIN_DEPTH reads (the panel's coverage).
        "{params.bins} mosdepth --threads {threads} --no-per-base --fast-mode --fasta {input.fa}"
        " --by {input.regions} --thresholds {params.thresholds} --quantize {params.quantize}"
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
        # --samples -: the per-sample counts (het / hom-alt SNV genotypes) the gate needs.
        "bcftools stats --fasta-ref {input.fa} --apply-filters PASS --samples - {input.vcf}"
        " > {output} 2> {log}"


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
        from helgenom.qc.coverage import write_coverage_mqc
        from helgenom.qc.parsers import read_mosdepth

        summaries = {
            sample: read_mosdepth(s, d, params.thresholds)
            for sample, s, d in zip(SAMPLES, input.summary, input.dist)
        }
        write_coverage_mqc(summaries, output[0])


rule coverage_regions:
    input:
        **reference_files(),
        bed=config["qc"]["coverage_regions"] or [],
    output:
        bed="results/qc/coverage_regions.bed",
        acgt="results/qc/reference_acgt.tsv",
    log:
        "logs/coverage_regions.log",
    benchmark:
        "benchmarks/coverage_regions.tsv"
    params:
        exclude=config["mito"]["contigs"],  # its far higher depth is not the genome's
    threads: 1
    resources:
        **job_resources("scan"),
    run:
        from helgenom.qc.coverage import write_coverage_regions

        configured = config["qc"]["coverage_regions"]
        scope = write_coverage_regions(
            input.fa, output.bed, output.acgt, configured, exclude=params.exclude
        )
        Path(log[0]).write_text(f"coverage regions: {scope}\n")


rule qc_metrics:
    input:
        flagstat="results/qc/samtools/{sample}.flagstat.txt",
        markdup="results/qc/samtools/{sample}.markdup.txt",
        stats="results/qc/samtools/{sample}.stats.txt",
        bcftools="results/qc/bcftools/{sample}.stats.txt",
        summary="results/qc/mosdepth/{sample}.mosdepth.summary.txt",
        thresholds="results/qc/mosdepth/{sample}.thresholds.bed.gz",
        acgt="results/qc/reference_acgt.tsv",
        vcf="results/vcf/{sample}.vcf.gz",
    output:
        "results/qc/gate/{sample}.metrics.json",
    log:
        "logs/qc_metrics/{sample}.log",
    benchmark:
        "benchmarks/qc_metrics/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    threads: 1
    resources:
        **job_resources("scan"),
    run:
        from helgenom.fileio import write_json
        from helgenom.qc.coverage import coverage_scope
        from helgenom.qc.gate import collect_metrics

        metrics = collect_metrics(
            sample_id=wildcards.sample,
            declared_sex=SAMPLES[wildcards.sample].sex,
            flagstat=input.flagstat,
            markdup=input.markdup,
            samtools_stats=input.stats,
            bcftools_stats=input.bcftools,
            mosdepth_summary=input.summary,
            mosdepth_thresholds=input.thresholds,
            acgt=input.acgt,
            vcf=input.vcf,
            coverage_scope=coverage_scope(config["qc"]["coverage_regions"], input.acgt),
        )
        write_json(metrics, output[0])
        Path(log[0]).write_text(f"{metrics['values']}\n")


rule qc_gate:
    input:
        metrics="results/qc/gate/{sample}.metrics.json",
        overrides=config["qc"]["overrides"] or [],
        pedigree=pedigree_of,
    output:
        "results/qc/gate/{sample}.json",
    log:
        "logs/qc_gate/{sample}.log",
    benchmark:
        "benchmarks/qc_gate/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        # a changed threshold set reruns the gates (and the reports)
        analysis=QC_ANALYSIS,
        thresholds=QC_THRESHOLDS,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json, write_json
        from helgenom.qc.gate import gate, verdict
        from helgenom.qc.overrides import overrides_for

        metrics = read_json(input.metrics)
        if input.pedigree:  # a family member: the pedigree check (family.smk)
            checked = read_json(input.pedigree[0])["verdicts"][wildcards.sample]
            metrics["values"]["pedigree_check"] = checked["pedigree_check"]
            metrics["pedigree"] = checked
        result = gate(
            metrics,
            params.analysis,
            params.thresholds,
            overrides_for(QC_OVERRIDES, wildcards.sample),
            declared_sex=SAMPLES[wildcards.sample].sex,
        )
        write_json(result, output[0])
        Path(log[0]).write_text(f"{wildcards.sample}: {verdict(result)}\n")


rule qc_gate_summary:
    input:
        expand("results/qc/gate/{sample}.json", sample=SAMPLES),
    output:
        "results/qc/qc_gate_mqc.yaml",
    log:
        "logs/qc_gate_summary.log",
    benchmark:
        "benchmarks/qc_gate_summary.tsv"
    params:
        analysis=QC_ANALYSIS,
        thresholds=QC_THRESHOLDS,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.qc.gate import write_gate_mqc

        gates = [read_json(path) for path in input]
        write_gate_mqc(gates, params.thresholds, params.analysis, output[0])


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
