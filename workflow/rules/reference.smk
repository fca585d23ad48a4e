# Reference preparation, once per reference, into reference.prep_dir: an uncompressed copy
# (so every tool reads the same bytes), samtools faidx, samtools dict (with M5), aligner index.


rule reference_fasta:
    input:
        config["reference"]["fasta"],
    output:
        REF_FA,
    log:
        f"{REF_DIR}/logs/reference_fasta.log",
    benchmark:
        f"{REF_DIR}/benchmarks/reference_fasta.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        # gzip -cdf decompresses gzip/bgzip and passes a plain FASTA through unchanged.
        "gzip -cdf {input} > {output} 2> {log}"


rule reference_faidx:
    input:
        REF_FA,
    output:
        f"{REF_FA}.fai",
    log:
        f"{REF_DIR}/logs/reference_faidx.log",
    benchmark:
        f"{REF_DIR}/benchmarks/reference_faidx.tsv"
    threads: 1
    resources:
        **job_resources("small"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        "samtools faidx {input} 2> {log}"


rule reference_dict:
    input:
        REF_FA,
    output:
        reference_files()["dict"],
    log:
        f"{REF_DIR}/logs/reference_dict.log",
    benchmark:
        f"{REF_DIR}/benchmarks/reference_dict.tsv"
    params:
        assembly=config["reference"]["build"],
        uri=Path(REF_FA).name,
    threads: 1
    resources:
        **job_resources("small"),
    conda:
        "../../envs/samtools.yaml"
    shell:
        # M5 is written by default; AS names the build; UR is the file name only, so the
        # header (copied into every CRAM by bwa mem -H) is the same on every site.
        "samtools dict --assembly {params.assembly} --uri {params.uri} -o {output} {input} 2> {log}"


rule reference_bwa_index:
    input:
        REF_FA,
    output:
        BWA_INDEX,
    log:
        f"{REF_DIR}/logs/reference_bwa_index.log",
    benchmark:
        f"{REF_DIR}/benchmarks/reference_bwa_index.tsv"
    threads: 1
    resources:
        **job_resources("reference"),
    conda:
        "../../envs/bwa.yaml"
    shell:
        "bwa index {input} > {log} 2>&1"


rule reference_minimap2_index:
    input:
        REF_FA,
    output:
        MM2_INDEX,
    log:
        f"{REF_DIR}/logs/reference_minimap2_index.log",
    benchmark:
        f"{REF_DIR}/benchmarks/reference_minimap2_index.tsv"
    threads: 2
    resources:
        **job_resources("reference"),
    conda:
        "../../envs/minimap2.yaml"
    shell:
        "minimap2 -x sr -t {threads} -d {output} {input} > {log} 2>&1"


rule genome_chunks:
    input:
        fai=f"{REF_FA}.fai",
    output:
        expand("results/calls/chunks/{chunk}.bed", chunk=CHUNKS),
    log:
        "logs/genome_chunks.log",
    benchmark:
        "benchmarks/genome_chunks.tsv"
    params:
        # the mitochondrial contig is called on its own (mito.smk), never as diploid
        exclude=config["mito"]["contigs"],
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.calling import write_chunk_beds

        write_chunk_beds(input.fai, output, exclude=params.exclude)
