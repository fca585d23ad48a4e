"""How each rule of the workflow runs for one sample (its stage, scatter, threads and
resource estimate): the cost model fits and projects by it (helgenom.capacity.model), the
measurement bounds a job's CPU by its threads (helgenom.capacity.measure).
tests/workflow/test_capacity_rules.py checks the table against the workflow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleInfo:
    """How a rule runs for one sample: its pipeline stage (in order), how many jobs it has
    (one, one per unit, one per calling chunk, or one per run), its threads, and its estimate
    in helgenom.resources. tests/workflow/test_capacity_rules.py checks these against the
    workflow."""

    stage: str
    scatter: str  # "sample", "unit", "chunk" or "run"
    threads: int
    estimate: str  # a key of helgenom.resources.ESTIMATES ("call" for every calling mode)
    grows: str = "none"  # what its cost grows with: "bases", "genome" or "none"


STAGES = ("trim", "align", "markdup", "call", "gather", "qc", "report", "export")

RULES: dict[str, RuleInfo] = {
    "fastp": RuleInfo("trim", "unit", 2, "fastp", "bases"),
    "align_bwa": RuleInfo("align", "unit", 8, "align", "bases"),
    "align_minimap2": RuleInfo("align", "unit", 8, "align", "bases"),
    "markdup_cram": RuleInfo("markdup", "sample", 4, "markdup", "bases"),
    "call_chunk": RuleInfo("call", "chunk", 1, "call", "bases"),
    "gather_calls": RuleInfo("gather", "sample", 1, "gather", "genome"),
    "samtools_stats": RuleInfo("qc", "sample", 2, "qc", "bases"),
    "samtools_flagstat": RuleInfo("qc", "sample", 2, "qc", "bases"),
    "mosdepth": RuleInfo("qc", "sample", 2, "qc", "bases"),
    "bcftools_stats": RuleInfo("qc", "sample", 1, "qc", "genome"),
    "coverage_regions": RuleInfo("qc", "run", 1, "scan", "genome"),
    "coverage_summary": RuleInfo("qc", "run", 1, "small"),
    "qc_metrics": RuleInfo("qc", "sample", 1, "scan", "genome"),
    "qc_gate": RuleInfo("qc", "sample", 1, "small"),
    "qc_gate_summary": RuleInfo("qc", "run", 1, "small"),
    "multiqc": RuleInfo("qc", "run", 1, "multiqc"),
    "genome_chunks": RuleInfo("call", "run", 1, "small", "genome"),
    "tool_version": RuleInfo("qc", "run", 1, "small"),
    "versions": RuleInfo("qc", "run", 1, "small"),
    "roh": RuleInfo("qc", "sample", 1, "scan", "genome"),
    # re-analysis from an aligned file (units.tsv `aligned`; only re-analysed units run them)
    "aligned_fastq": RuleInfo("trim", "unit", 4, "extract", "bases"),
    "aligned_reuse_header": RuleInfo("align", "unit", 1, "small"),
    "aligned_reuse": RuleInfo("align", "unit", 4, "reuse", "bases"),
    "aligned_record": RuleInfo("qc", "unit", 1, "scan", "bases"),
    "input_record": RuleInfo("qc", "sample", 1, "small"),
    "input_mqc": RuleInfo("qc", "run", 1, "small"),
    "roh_summary": RuleInfo("qc", "sample", 1, "small"),
    "roh_mqc": RuleInfo("qc", "run", 1, "small"),
    # identity and families (family.smk): the run's merged gVCFs and relatedness, and per
    # family (no sample wildcard: shared over the run's samples, as the run's rules)
    "identity_vcf": RuleInfo("qc", "run", 2, "merge", "genome"),
    "relatedness": RuleInfo("qc", "run", 1, "small"),
    "family_ped": RuleInfo("qc", "run", 1, "small"),
    "family_vcf": RuleInfo("qc", "run", 2, "merge", "genome"),
    "pedigree_check": RuleInfo("qc", "run", 1, "small"),
    "mendelian": RuleInfo("qc", "run", 1, "scan", "genome"),
    "de_novo": RuleInfo("qc", "run", 1, "scan", "genome"),
    "family_summary": RuleInfo("qc", "run", 1, "small"),
    "family_mqc": RuleInfo("qc", "run", 1, "small"),
    "mito_region": RuleInfo("qc", "run", 1, "small"),
    "mito_pileup": RuleInfo("qc", "sample", 1, "scan", "bases"),
    "mito_variants": RuleInfo("qc", "sample", 1, "small"),
    "mito_mqc": RuleInfo("qc", "run", 1, "small"),
    "sv_delly": RuleInfo("qc", "sample", 1, "sv", "bases"),
    "sv_tiddit": RuleInfo("qc", "sample", 1, "sv_tiddit", "bases"),
    "sv_vcf": RuleInfo("qc", "sample", 1, "small"),
    "sv_mqc": RuleInfo("qc", "run", 1, "small"),
    "cnv_access": RuleInfo("qc", "run", 1, "scan", "genome"),
    "cnv_bins": RuleInfo("qc", "run", 1, "small"),
    "cnv_coverage": RuleInfo("qc", "sample", 2, "qc", "bases"),
    "cnv_coverage_table": RuleInfo("qc", "sample", 1, "small"),
    "cnv_reference_flat": RuleInfo("qc", "run", 1, "scan", "genome"),
    "cnv_reference_run": RuleInfo("qc", "sample", 1, "scan", "genome"),
    "cnv_segment": RuleInfo("qc", "sample", 1, "scan", "genome"),
    "cnv_vcf": RuleInfo("qc", "sample", 1, "small"),
    "cnv_mqc": RuleInfo("qc", "run", 1, "small"),
    "panel_variants": RuleInfo("report", "sample", 1, "scan", "genome"),
    "report_json": RuleInfo("report", "sample", 1, "small"),
    "report_render": RuleInfo("report", "sample", 1, "small"),
    "export": RuleInfo("export", "sample", 1, "small"),
}
