# helgenom: clinical germline WGS, FASTQ (or a CRAM/BAM to re-analyse) -> CRAM + VCF + QC.
# One rule file per pipeline stage; input functions and config/sample loading in common.smk.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/reanalysis.smk"
include: "workflow/rules/trim.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/call.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/roh.smk"
include: "workflow/rules/family.smk"
include: "workflow/rules/mito.smk"
include: "workflow/rules/sv.smk"
include: "workflow/rules/cnv.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/export.smk"


# Seconds-long steps run in the Snakemake process itself, never as cluster jobs.
localrules:
    all,
    genome_chunks,
    coverage_summary,
    tool_version,
    versions,
    qc_gate,
    qc_gate_summary,
    roh_summary,
    roh_mqc,
    relatedness,
    family_ped,
    pedigree_check,
    family_summary,
    family_mqc,
    mito_region,
    mito_variants,
    mito_mqc,
    sv_vcf,
    sv_mqc,
    cnv_bins,
    cnv_coverage_table,
    cnv_vcf,
    cnv_mqc,
    aligned_reuse_header,
    input_record,
    input_mqc,
    report_json,
    report_render,
    export,


rule all:
    input:
        final_outputs(),
    default_target: True
