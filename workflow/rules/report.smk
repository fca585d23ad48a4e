# The clinical report per sample (helgenom.report): the sample's variants in its gene panel
# (chosen by its indication; consequences by bcftools csq when report.gff3 is set), the panel's
# coverage from mosdepth, the QC gate -> results/report/<sample>.json (validated against
# src/helgenom/schemas/report.schema.json), rendered as <sample>.html, <sample>.pdf and the FHIR R4
# bundle <sample>.fhir.json. Samples whose indication has no panel get QC but no report.

GFF3 = config["report"]["gff3"]
# bcftools csq: per-record (local) predictions, as the genotypes are unphased.
PANEL_CSQ = " | bcftools csq --local-csq --phase a -f {input.fa} -g {input.gff3} -Ou" if GFF3 else ""


rule panel_variants:
    input:
        vcf="results/vcf/{sample}.vcf.gz",
        tbi="results/vcf/{sample}.vcf.gz.tbi",
        bed=panel_bed,
        gff3=GFF3 or [],
        **reference_files(),
    output:
        "results/panel/{sample}.vcf.gz",
    log:
        "logs/panel_variants/{sample}.log",
    benchmark:
        "benchmarks/panel_variants/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    threads: 1
    resources:
        **job_resources("scan"),
    conda:
        "../../envs/bcftools.yaml"
    shell:
        "(bcftools view -R {input.bed} -Ou {input.vcf}" + PANEL_CSQ + " | bcftools view -Oz -o {output}"
        ") 2> {log}"


rule report_json:
    input:
        gate="results/qc/gate/{sample}.json",
        metrics="results/qc/gate/{sample}.metrics.json",
        quantized="results/qc/mosdepth/{sample}.quantized.bed.gz",
        quantized_csi="results/qc/mosdepth/{sample}.quantized.bed.gz.csi",
        vcf="results/panel/{sample}.vcf.gz",
        versions="results/versions.yaml",
        bed=panel_bed,
        roh="results/roh/{sample}.roh.json",
        mito="results/mito/{sample}.mito.json",
        sv="results/sv/{sample}.sv.json",
        cnv="results/cnv/{sample}.cnv.json",
        input_record="results/qc/input/{sample}.json",
        family=family_of_sample,
        **reference_files(),
    output:
        "results/report/{sample}.json",
    log:
        "logs/report_json/{sample}.log",
    benchmark:
        "benchmarks/report_json/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    params:
        report=config["report"],  # a changed report setting reruns the report
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.fileio import read_json
        from helgenom.report import build_report, write_report

        s = SAMPLES[wildcards.sample]
        report = build_report(
            sample={
                "sample_id": s.sample_id,
                "indication": s.indication,
                "priority": s.priority,
                "sex": s.sex,
                "received": s.received.isoformat() if s.received else None,
            },
            config=config,
            gate=read_json(input.gate),
            metrics=read_json(input.metrics),
            panel=REPORT_PANELS[wildcards.sample],
            quantized_bed=input.quantized,
            panel_vcf=input.vcf,
            versions_yaml=input.versions,
            reference_dict=input.dict,
            roh=read_json(input.roh),
            mito=read_json(input.mito),
            sv=read_json(input.sv),
            cnv=read_json(input.cnv),
            input_record=read_json(input.input_record),
            family=read_json(input.family[0]) if input.family else None,
        )
        write_report(report, output[0])
        Path(log[0]).write_text(f"{report['report_id']}: {report['answer']['category']}\n")


rule report_render:
    input:
        "results/report/{sample}.json",
    output:
        html="results/report/{sample}.html",
        pdf="results/report/{sample}.pdf",
        fhir="results/report/{sample}.fhir.json",
    log:
        "logs/report_render/{sample}.log",
    benchmark:
        "benchmarks/report_render/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.report import render_all

        render_all(input[0], output.html, output.pdf, output.fhir)
        Path(log[0]).write_text(f"rendered {output.html}, {output.pdf}, {output.fhir}\n")
