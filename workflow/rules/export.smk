# Export into the national genome database (helgenom.export.step; config `export`): per sample,
# once its QC gate passed (or every failed metric was overridden), CRAM+CRAI, VCF+TBI,
# gVCF+TBI, QC metrics and report renderings with a provenance manifest are crypt4gh-encrypted
# to the database's key and deposited; the database's receipt (accession, version, checksums)
# is the output. A failed gate without override gives a "not deposited" record (or fails the
# job with export.on_qc_fail: error). Rerunning is safe: identical content returns the same
# receipt and stores nothing; an interrupted deposit resumes. A local rule: HPC compute
# nodes have no route to the database.


rule export:
    input:
        unpack(export_inputs),
    output:
        "results/export/{sample}.receipt.json",
    log:
        "logs/export/{sample}.log",
    benchmark:
        "benchmarks/export/{sample}.tsv"
    wildcard_constraints:
        sample=SAMPLE_IDS,
    threads: 1
    resources:
        **job_resources("small"),
    run:
        from helgenom.export.step import export_from_run

        with open(log[0], "w") as log_file:
            export_from_run(
                wildcards.sample,
                config=config,
                config_files=workflow.configfiles,
                results="results",
                versions=input.versions,
                qc_gate=input.gate,
                started=RUN_STARTED,
                out=output[0],
                fastqs=[
                    (unit.unit_id, path)
                    for unit in SAMPLES[wildcards.sample].units
                    for path in ((unit.aligned,) if unit.aligned else (unit.fq1, unit.fq2))
                ],
                log=lambda message: print(message, file=log_file, flush=True),
            )
