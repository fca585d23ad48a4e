# Small variants: bcftools mpileup | call scattered over genome chunks balanced by length,
# gathered in genome order, normalised (left-aligned, multi-allelics split), soft-filtered.


rule call_chunk:
    input:
        unpack(sample_cram),
        bed="results/calls/chunks/{chunk}.bed",
        **reference_files(),
    output:
        temp("results/calls/{sample}/chunks/{chunk}.bcf"),
    log:
        "logs/call_chunk/{sample}/{chunk}.log",
    benchmark:
        "benchmarks/call_chunk/{sample}/{chunk}.tsv"
    params:
        mpileup=config["calling"]["mpileup_extra"],
        call=config["calling"]["call_extra"],
    threads: 1
    resources:
        **job_resources("call", size_factor=1 / N_CHUNKS),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        "(bcftools mpileup --fasta-ref {input.fa} --regions-file {input.bed}"
        " --annotate FORMAT/AD,FORMAT/DP,FORMAT/SP {params.mpileup} -Ou {input.cram}"
        " | bcftools call {params.call} -Ob -o {output}) 2> {log}"


rule gather_calls:
    input:
        chunks=chunk_calls,
        **reference_files(),
    output:
        vcf="results/vcf/{sample}.vcf.gz",
        tbi="results/vcf/{sample}.vcf.gz.tbi",
    log:
        "logs/gather_calls/{sample}.log",
    benchmark:
        "benchmarks/gather_calls/{sample}.tsv"
    params:
        filters=soft_filter_pipeline(config["calling"]["filters"]),
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
        " && tabix -p vcf {output.vcf}) 2> {log}"
