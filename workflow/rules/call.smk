# Small variants per genome chunk (chunks balanced by length), by the caller(s) of
# calling.mode: bcftools mpileup | call, freebayes, or bcftools with freebayes calls added
# where bcftools has none (helgenom.calling). Each chunk gives its variant records and, with
# calling.gvcf, its gVCF (coverage gaps filled with no-data blocks). Gathered in genome order:
# the VCF normalised (left-aligned, multi-allelics split) and soft-filtered, the gVCF as is.


rule call_chunk:
    input:
        unpack(sample_cram),
        bed="results/calls/chunks/{chunk}.bed",
        **reference_files(),
    output:
        **chunk_call_outputs("results/calls/{sample}/chunks/{chunk}"),
    log:
        "logs/call_chunk/{sample}/{chunk}.log",
    benchmark:
        "benchmarks/call_chunk/{sample}/{chunk}.tsv"
    params:
        **call_chunk_params(config["calling"]),
    threads: 1
    resources:
        **job_resources(res.call_kind(CALLING_MODE), size_factor=1 / N_CHUNKS),
    conda:
        calling_env()
    shell:
        call_chunk_command(CALLING_MODE, GVCF)


rule gather_calls:
    input:
        chunks=chunk_calls,
        gvcf_chunks=chunk_gvcfs,
        **reference_files(),
    output:
        **gathered_call_outputs(),
    log:
        "logs/gather_calls/{sample}.log",
    benchmark:
        "benchmarks/gather_calls/{sample}.tsv"
    params:
        filters=soft_filter_pipeline(calling_filters()),
    threads: 1
    resources:
        **job_resources("gather"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        "(bcftools concat -Ou {input.chunks}"
        " | bcftools norm --fasta-ref {input.fa} --multiallelics -both -Ou"
        " {params.filters}"
        " | bcftools view -Oz -o {output.vcf}"
        " && tabix -p vcf {output.vcf}"
        + GATHER_GVCF
        + ") 2> {log}"
