# Per unit: alignment streamed into fixmate and coordinate sort (no SAM on disk).
# Per sample: merge the units, mark duplicates across all of them, write CRAM + CRAI.
#
# Duplicates are marked with samtools fixmate -m (in the alignment stream, where reads are
# still grouped by name) and samtools markdup after the merge, so duplicates across lanes of
# one library are found too; samblaster in the stream would only see one lane at a time.


rule align_bwa:
    input:
        unpack(trimmed_fastqs),
        index=BWA_INDEX,
        fa=REF_FA,
        dict=reference_files()["dict"],
    output:
        temp("results/align/{sample}/{unit}.bwa.bam"),
    log:
        "logs/align_bwa/{sample}/{unit}.log",
    benchmark:
        "benchmarks/align_bwa/{sample}/{unit}.tsv"
    params:
        rg=unit_read_group,
        sort_mem_mb=res.SORT_MEM_PER_THREAD_MB,
    threads: 8
    resources:
        **job_resources("align"),
    conda:
        "../../envs/bwa.yaml"
    shell:
        # -K fixes the batch size, so the output does not depend on the thread count;
        # -H puts the dict's @SQ lines (with M5 and the build) into the header.
        "(bwa mem -K 100000000 -Y -t {threads} -R '{params.rg}' -H {input.dict}"
        " {input.fa} {input.r1} {input.r2}"
        " | samtools fixmate -m -u - -"
        " | samtools sort -@ {threads} -m {params.sort_mem_mb}M -T {resources.tmpdir}/{wildcards.sample}.{wildcards.unit}"
        " -o {output} -) 2> {log}"


rule align_minimap2:
    input:
        unpack(trimmed_fastqs),
        index=MM2_INDEX,
    output:
        temp("results/align/{sample}/{unit}.minimap2.bam"),
    log:
        "logs/align_minimap2/{sample}/{unit}.log",
    benchmark:
        "benchmarks/align_minimap2/{sample}/{unit}.tsv"
    params:
        rg=unit_read_group,
        sort_mem_mb=res.SORT_MEM_PER_THREAD_MB,
    threads: 8
    resources:
        **job_resources("align"),
    conda:
        "../../envs/minimap2.yaml"
    shell:
        "(minimap2 -ax sr -Y -t {threads} -R '{params.rg}' {input.index} {input.r1} {input.r2}"
        " | samtools fixmate -m -u - -"
        " | samtools sort -@ {threads} -m {params.sort_mem_mb}M -T {resources.tmpdir}/{wildcards.sample}.{wildcards.unit}"
        " -o {output} -) 2> {log}"


rule markdup_cram:
    input:
        bams=sample_unit_bams,
        **reference_files(),
    output:
        cram="results/cram/{sample}.cram",
        crai="results/cram/{sample}.cram.crai",
        stats="results/qc/samtools/{sample}.markdup.txt",
    log:
        "logs/markdup_cram/{sample}.log",
    benchmark:
        "benchmarks/markdup_cram/{sample}.tsv"
    threads: 4
    resources:
        **job_resources("markdup"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        "(samtools merge -u -o - {input.bams}"
        " | samtools markdup -@ {threads} -T {resources.tmpdir}/{wildcards.sample}.markdup"
        " -f {output.stats} --reference {input.fa} -O cram --write-index - {output.cram}) 2> {log}"
