# Re-analysis of units given as an aligned file (units.tsv `aligned`: a CRAM/BAM) instead of
# FASTQ (helgenom.aligned; config reanalysis.mode, checked before any job):
#
#   realign  aligned_fastq: the unit's reads as FASTQ pairs -> fastp -> the aligner, as any
#            FASTQ unit (trim.smk, align.smk)
#   reuse    aligned_reuse: the unit's alignments with the run's read group, mate tags
#            recomputed and old duplicate flags cleared -> markdup_cram (align.smk)
#
# and for every sample the record of where its reads came from (results/qc/input/), shown in
# MultiQC and the clinical report.


rule aligned_fastq:
    input:
        unpack(aligned_input),
    output:
        r1=temp("results/reanalysis/{sample}/{unit}_R1.fastq.gz"),
        r2=temp("results/reanalysis/{sample}/{unit}_R2.fastq.gz"),
        singletons=temp("results/reanalysis/{sample}/{unit}_singletons.fastq.gz"),
        other=temp("results/reanalysis/{sample}/{unit}_other.fastq.gz"),
    log:
        "logs/aligned_fastq/{sample}/{unit}.log",
    benchmark:
        "benchmarks/aligned_fastq/{sample}/{unit}.tsv"
    params:
        select=aligned_select,
    threads: 4
    resources:
        **job_resources("extract"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        # Primary records only (-F 0x900: no secondary/supplementary, so each read once),
        # grouped by name (collate: deterministic for one input file); samtools fastq turns
        # reverse-strand reads back, takes original qualities from OQ (-O), writes the pairs
        # to R1/R2 and the reads without a mate to the singleton/other files (not realigned,
        # counted in the input record).
        "(samtools view -u -F 0x900 {params.select} --reference {input.ref} {input.aligned}"
        " | samtools collate -O -u -@ {threads} - {resources.tmpdir}/{wildcards.sample}.{wildcards.unit}.collate"
        " | samtools fastq -n -O -F 0x900 -c 1 -1 {output.r1} -2 {output.r2}"
        " -s {output.singletons} -0 {output.other} -) 2> {log}"


rule aligned_reuse_header:
    input:
        dict=reference_files()["dict"],
    output:
        temp("results/reanalysis/{sample}/{unit}.header.sam"),
    log:
        "logs/aligned_reuse_header/{sample}/{unit}.log",
    benchmark:
        "benchmarks/aligned_reuse_header/{sample}/{unit}.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.aligned import reuse_header
        from helgenom.fileio import atomic_write_text
        from helgenom.samplesheet import read_group_fields

        unit = UNITS[(wildcards.sample, wildcards.unit)]
        atomic_write_text(output[0], reuse_header(Path(input.dict), read_group_fields(unit)))
        Path(log[0]).write_text(f"header of {wildcards.sample} {wildcards.unit}\n")


rule aligned_reuse:
    input:
        unpack(aligned_input),
        header="results/reanalysis/{sample}/{unit}.header.sam",
    output:
        temp("results/align/{sample}/{unit}.reuse.bam"),
    log:
        "logs/aligned_reuse/{sample}/{unit}.log",
    benchmark:
        "benchmarks/aligned_reuse/{sample}/{unit}.tsv"
    params:
        select=aligned_select,
        rg=lambda wildcards: read_group_fields(UNITS[(wildcards.sample, wildcards.unit)])["ID"],
        sort_mem_mb=res.SORT_MEM_PER_THREAD_MB,
    threads: 4
    resources:
        **job_resources("reuse"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        # By name (collate) for fixmate -m (mate tags and scores, as after the aligner), the
        # old duplicate flags cleared (markdup_cram marks them again across the sample's
        # units), every read put into the unit's read group, sorted, and the header replaced
        # by the run's (its @SQ lines are the file's, checked before any job).
        "(samtools view -u {params.select} --reference {input.ref} {input.aligned}"
        " | samtools collate -O -u -@ {threads} - {resources.tmpdir}/{wildcards.sample}.{wildcards.unit}.collate"
        " | samtools fixmate -m -u - -"
        " | samtools view -u --remove-flags 0x400 -"
        " | samtools addreplacerg -u -m overwrite_all -r 'ID:{params.rg}' -"
        " | samtools sort -@ {threads} -m {params.sort_mem_mb}M -T {resources.tmpdir}/{wildcards.sample}.{wildcards.unit} -"
        " | samtools reheader {input.header} - > {output}) 2> {log}"


rule aligned_record:
    input:
        unpack(aligned_record_inputs),
    output:
        "results/qc/input/{sample}/{unit}.json",
    log:
        "logs/aligned_record/{sample}/{unit}.log",
    benchmark:
        "benchmarks/aligned_record/{sample}/{unit}.tsv"
    params:
        mode=REANALYSIS_MODE,
    threads: 1
    resources:
        **job_resources("scan"),
    run:
        from helgenom.aligned import aligned_unit_record
        from helgenom.fileio import write_json

        unit = UNITS[(wildcards.sample, wildcards.unit)]
        leftovers = [Path(f) for f in input.get("leftovers", [])]
        record = aligned_unit_record(unit, params.mode, Path(input.dict), leftovers)
        write_json(record, output[0])
        Path(log[0]).write_text(f"{unit.aligned.name}: sha256 {record['sha256']}\n")


rule input_record:
    input:
        sample_input_records,
    output:
        "results/qc/input/{sample}.json",
    log:
        "logs/input_record/{sample}.log",
    benchmark:
        "benchmarks/input_record/{sample}.tsv"
    params:
        mode=REANALYSIS_MODE,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.aligned import describe_input, input_record
        from helgenom.fileio import read_json, write_json

        records = {Path(path).stem: read_json(path) for path in input}
        sample = SAMPLES[wildcards.sample]
        record = input_record(sample.sample_id, sample.units, params.mode, records)
        write_json(record, output[0])
        Path(log[0]).write_text(f"{wildcards.sample}: {describe_input(record)}\n")


rule input_mqc:
    input:
        expand("results/qc/input/{sample}.json", sample=SAMPLES),
    output:
        "results/qc/input_mqc.tsv",
    log:
        "logs/input_mqc.log",
    benchmark:
        "benchmarks/input_mqc.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.aligned import write_input_mqc
        from helgenom.fileio import read_json

        write_input_mqc([read_json(path) for path in input], output[0])
        Path(log[0]).write_text(f"{len(input)} samples\n")
