"""The clinical QC gate: metric parsing, pass/warn/fail boundaries, the sex check, the coverage
regions, the gate's verdict with overrides, and the MultiQC table (unit tests)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest
import yaml

from helgenom.config import validate_config
from helgenom.qc.coverage import read_acgt, write_coverage_regions
from helgenom.qc.gate import METRICS, evaluate, gate, threshold_text, verdict, write_gate_mqc
from helgenom.qc.overrides import Override
from helgenom.qc.parsers import (
    SummaryRow,
    read_bcftools_stats,
    read_flagstat,
    read_markdup,
    read_region_coverage,
)
from helgenom.qc.sex_contamination import infer_sex

REPO = Path(__file__).resolve().parents[2]
BASE = {"samples": "s", "units": "u", "reference": {"fasta": "r", "build": "b"}}
FLAGSTAT = """51700 + 0 in total (QC-passed reads + QC-failed reads)
51678 + 0 primary
0 + 0 secondary
22 + 0 supplementary
221 + 0 duplicates
221 + 0 primary duplicates
51576 + 0 mapped (99.76% : N/A)
51554 + 0 primary mapped (99.76% : N/A)
51678 + 0 paired in sequencing
25839 + 0 read1
25839 + 0 read2
51280 + 0 properly paired (99.23% : N/A)
51430 + 0 with itself and mate mapped
124 + 0 singletons (0.24% : N/A)
0 + 0 with mate mapped to a different chr
0 + 0 with mate mapped to a different chr (mapQ>=5)
"""
MARKDUP = """COMMAND: samtools markdup -f x.txt in.bam out.cram
READ: 51700
WRITTEN: 51700
EXCLUDED: 146
EXAMINED: 51554
PAIRED: 51430
SINGLE: 124
DUPLICATE PAIR: 198
DUPLICATE SINGLE: 23
DUPLICATE PAIR OPTICAL: 0
DUPLICATE SINGLE OPTICAL: 0
DUPLICATE NON PRIMARY: 0
DUPLICATE NON PRIMARY OPTICAL: 0
DUPLICATE PRIMARY TOTAL: 221
DUPLICATE TOTAL: 221
ESTIMATED_LIBRARY_SIZE: 3331125
"""
BCFTOOLS = """# This file was produced by bcftools stats (1.16+htslib-1.16)
SN\t0\tnumber of samples:\t1
SN\t0\tnumber of records:\t253
SN\t0\tnumber of SNPs:\t202
SN\t0\tnumber of indels:\t51
# TSTV, transitions/transversions:
TSTV\t0\t134\t68\t1.97\t134\t68\t1.97
# PSC\t[2]id\t[3]sample\t[4]nRefHom\t[5]nNonRefHom\t[6]nHets\t[7]nTransitions
PSC\t0\tNA12878\t0\t80\t122\t134\t68\t51\t42.4\t253\t0\t0\t0
"""


def wgs() -> dict:
    return validate_config(BASE)["qc"]["thresholds"]["wgs_germline"]


def test_flagstat_markdup_and_bcftools_stats(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text(FLAGSTAT)
    (tmp_path / "m.txt").write_text(MARKDUP)
    (tmp_path / "b.txt").write_text(BCFTOOLS)
    flags = read_flagstat(tmp_path / "f.txt")
    assert (flags["primary"], flags["primary_mapped"]) == (51678, 51554)
    assert (flags["paired"], flags["properly_paired"], flags["duplicates"]) == (51678, 51280, 221)
    dups = read_markdup(tmp_path / "m.txt")
    assert (dups["examined"], dups["duplicate_primary_total"]) == (51554, 221)
    stats = read_bcftools_stats(tmp_path / "b.txt")
    assert (stats.snvs, stats.indels, stats.het_snvs, stats.hom_alt_snvs) == (202, 51, 122, 80)
    assert stats.titv == pytest.approx(134 / 68)
    assert stats.het_hom_ratio == pytest.approx(122 / 80)
    (tmp_path / "bad.txt").write_text("not a flagstat\n")
    with pytest.raises(ValueError, match="primary"):
        read_flagstat(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="EXAMINED"):
        read_markdup(tmp_path / "bad.txt")


def test_bcftools_stats_without_per_sample_counts(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("\n".join(BCFTOOLS.splitlines()[:-1]) + "\n")
    stats = read_bcftools_stats(tmp_path / "b.txt")
    assert stats.het_hom_ratio is None and stats.titv == pytest.approx(1.97, abs=0.01)


def test_region_coverage_counts_exact_bases(tmp_path: Path) -> None:
    summary = tmp_path / "s.mosdepth.summary.txt"
    summary.write_text(
        "chrom\tlength\tbases\tmean\tmin\tmax\n"
        "c1\t1000\t30000\t30.00\t0\t40\n"
        "c1_region\t900\t28800\t32.00\t0\t40\n"
        "total\t1000\t30000\t30.00\t0\t40\n"
        "total_region\t900\t28800\t32.00\t0\t40\n"
    )
    thresholds = tmp_path / "s.thresholds.bed.gz"
    with gzip.open(thresholds, "wt") as handle:
        handle.write("#chrom\tstart\tend\tregion\t10X\t20X\t30X\n")
        handle.write("c1\t0\t500\tunknown\t500\t480\t200\n")
        handle.write("c1\t600\t1000\tunknown\t400\t395\t100\n")
    cov = read_region_coverage(summary, thresholds)
    assert (cov.length, cov.mean) == (900, 32.0)
    assert cov.bases_at_least == {10: 900, 20: 875, 30: 300}
    assert cov.fraction_at_least(20) == pytest.approx(875 / 900)


@pytest.mark.parametrize(
    ("value", "status"),
    [(29.99, "fail"), (30.0, "warn"), (31.99, "warn"), (32.0, "pass"), (100, "pass"),
     (None, "not_assessable")],
)  # fmt: skip
def test_lower_limits_pass_at_the_limit(value: float | None, status: str) -> None:
    assert evaluate(value, {"fail_below": 30, "warn_below": 32}) == status


@pytest.mark.parametrize(
    ("value", "status"),
    [(1.89, "fail"), (1.9, "warn"), (1.99, "warn"), (2.0, "pass"), (2.15, "pass"),
     (2.16, "warn"), (2.2, "warn"), (2.21, "fail")],
)  # fmt: skip
def test_titv_range(value: float, status: str) -> None:
    spec = {"fail_below": 1.9, "fail_above": 2.2, "warn_below": 2.0, "warn_above": 2.15}
    assert evaluate(value, spec) == status


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.0, "pass"), (1.0, "pass"), (1.01, "warn"), (2.0, "warn"), (2.01, "fail")],
)
def test_upper_limits(value: float, status: str) -> None:
    assert evaluate(value, {"fail_above": 2, "warn_above": 1}) == status


@pytest.mark.parametrize(
    ("inferred", "declared", "status"),
    [("female", "female", "pass"), ("male", "female", "fail"), ("ambiguous", "male", "warn"),
     ("male", "unknown", "not_assessable"), (None, "female", "not_assessable")],
)  # fmt: skip
def test_sex_check_status(inferred: str | None, declared: str, status: str) -> None:
    assert evaluate(inferred, {"mismatch": "fail", "_declared": declared}) == status


def test_threshold_text() -> None:
    assert threshold_text({"fail_below": 30, "warn_below": 32}, "x") == "fail < 30x; warn < 32x"
    spec = {"fail_below": 1.9, "fail_above": 2.2}
    assert threshold_text(spec, "") == "fail < 1.9 or > 2.2"
    assert threshold_text({"mismatch": "fail"}).startswith("fail if the inferred sex")


def _summary(**means: float) -> dict[str, SummaryRow]:
    return {c: SummaryRow(1000, int(m * 1000), m) for c, m in means.items()}


ACGT = {f"chr{i}": (1000, 1000) for i in range(1, 23)} | {"chrX": (1000, 1000), "chrY": (1000, 500)}


@pytest.mark.parametrize(
    ("x", "y", "inferred"),
    [(30, 0.5, "female"), (15, 6, "male"), (30, 10, "ambiguous"), (15, 0.3, "ambiguous")],
)
def test_infer_sex_from_x_and_y_coverage(x: float, y: float, inferred: str) -> None:
    summary = _summary(**{f"chr{i}": 30.0 for i in range(1, 23)}, chrX=x, chrY=y)
    check = infer_sex(summary, ACGT, "female")
    assert check.inferred == inferred
    assert check.x_ratio == pytest.approx(x / 30, abs=1e-4)
    # Y's mean is over its non-N bases (500 of 1000)
    assert check.y_ratio == pytest.approx(2 * y / 30, abs=1e-4)


def test_sex_not_assessable_without_sex_chromosomes() -> None:
    check = infer_sex(_summary(demo1=30, demo2=30), {"demo1": (1, 1), "demo2": (1, 1)}, "male")
    assert check.inferred is None and "not assessable" in check.reason


def test_coverage_regions_are_the_autosomes_without_n(tmp_path: Path) -> None:
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nNNNNACGTACGTNNACGT\n>chrX\nACGTACGT\n>chrUn_x\nACGT\n")
    pysam.faidx(str(fasta))
    scope = write_coverage_regions(fasta, tmp_path / "r.bed", tmp_path / "a.tsv")
    assert (tmp_path / "r.bed").read_text() == "chr1\t4\t12\nchr1\t14\t18\n"
    assert read_acgt(tmp_path / "a.tsv") == {"chr1": (18, 12), "chrX": (8, 8), "chrUn_x": (4, 4)}
    assert scope == "non-N bases of the reference's autosomes"
    configured = tmp_path / "t.bed"
    configured.write_text("chrX\t2\t6\nchr1\t0\t3\nchr1\t2\t5\n")
    scope = write_coverage_regions(fasta, tmp_path / "r.bed", tmp_path / "a.tsv", configured)
    assert (tmp_path / "r.bed").read_text() == "chrX\t2\t6\nchr1\t0\t5\n"
    assert scope == "configured regions (t.bed)"
    configured.write_text("chr2\t0\t5\n")
    with pytest.raises(ValueError, match="t.bed:1: contig 'chr2' is not in the reference"):
        write_coverage_regions(fasta, tmp_path / "r.bed", tmp_path / "a.tsv", configured)


def _metrics(**values: object) -> dict:
    base = {
        "mean_coverage": 33.0, "pct_ge_20x": 98.0, "duplicates_pct": 5.0, "mapped_pct": 99.5,
        "properly_paired_pct": 98.0, "titv": 2.05, "het_hom_ratio": 1.6,
        "contamination_pct": 0.3, "sex_check": "female",
    }  # fmt: skip
    base.update(values)
    return {"sample_id": "S1", "values": base, "coverage": {"scope": "test"}, "sex": {}}


def test_gate_pass_warn_fail() -> None:
    result = gate(_metrics(), "wgs_germline", wgs(), declared_sex="female")
    assert (result["status"], result["reportable"], verdict(result)) == ("pass", True, "pass")
    assert result["decision"] == "pass" and result["failed_checks"] == []
    result = gate(_metrics(titv=2.18), "wgs_germline", wgs(), declared_sex="female")
    assert (result["status"], result["reportable"]) == ("warn", True)
    assert verdict(result) == "pass with warnings (titv)"
    result = gate(_metrics(mean_coverage=5.2, pct_ge_20x=9.0), "wgs_germline", wgs())
    assert (result["status"], result["reportable"]) == ("fail", False)
    assert result["failed"] == ["mean_coverage", "pct_ge_20x"]
    assert verdict(result) == "fail (mean_coverage, pct_ge_20x)"
    assert "override" not in result
    rows = {m["id"]: m for m in result["metrics"]}
    assert rows["mean_coverage"]["threshold"] == "fail < 30x; warn < 32x"
    assert "Clinical Genomics Stockholm" in rows["duplicates_pct"]["source"]
    assert rows["sex_check"]["status"] == "not_assessable"  # declared sex unknown


def test_gate_sex_mismatch_fails() -> None:
    result = gate(_metrics(sex_check="male"), "wgs_germline", wgs(), declared_sex="female")
    assert result["failed"] == ["sex_check"] and not result["reportable"]


def test_override_is_the_only_way_past_a_failure() -> None:
    failing = _metrics(mean_coverage=5.2, pct_ge_20x=9.0)
    partial = Override("S1", ("mean_coverage",), "kbj", "coverage sufficient", "2026-11-20")
    result = gate(failing, "wgs_germline", wgs(), [partial])
    assert not result["reportable"] and result["overridden"] == ["mean_coverage"]
    full = Override(
        "S1", ("mean_coverage", "pct_ge_20x", "titv"), "kbj", "panel covered", "2026-11-21"
    )
    result = gate(failing, "wgs_germline", wgs(), [full])
    assert result["reportable"] and result["status"] == "fail"
    assert verdict(result) == "fail, overridden (mean_coverage, pct_ge_20x)"
    assert result["unused_overrides"] == ["titv"]
    # what helgenom.export reads from the gate result
    assert result["decision"] == "fail"
    assert result["override"] == {"by": "kbj", "reason": "panel covered", "at": "2026-11-21"}
    rows = {m["id"]: m for m in result["metrics"]}
    assert rows["mean_coverage"]["status"] == "fail"  # the observed status stays
    assert rows["mean_coverage"]["override"]["who"] == "kbj"


def test_gate_mqc_table(tmp_path: Path) -> None:
    out = tmp_path / "qc_gate_mqc.yaml"
    gates = [
        gate(_metrics(), "wgs_germline", wgs(), declared_sex="female"),
        gate(_metrics(mean_coverage=5.2) | {"sample_id": "S2"}, "wgs_germline", wgs()),
    ]
    gates[1]["sample_id"] = "S2"
    write_gate_mqc(gates, wgs(), "wgs_germline", out)
    content = yaml.safe_load(out.read_text())
    assert content["plot_type"] == "table" and content["id"] == "helgenom_qc_gate"
    assert "fail &lt; 30x; warn &lt; 32x" in content["description"]
    assert "Clinical Genomics Stockholm" in content["description"]
    assert content["data"]["S1"]["qc_gate"] == "pass"
    assert content["data"]["S2"]["qc_gate"] == "fail"
    assert content["data"]["S2"]["mean_coverage"] == 5.2
    assert content["data"]["S1"]["sex_check"] == "female (pass)"
    header = content["headers"]["mean_coverage"]
    assert header["cond_formatting_rules"]["fail"] == [{"lt": 30}]
    assert "fail < 30x" in header["description"]


def test_threshold_sets_in_config_schema_and_demo() -> None:
    shipped = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    defaults = validate_config(BASE)
    assert shipped["qc"] == defaults["qc"]  # the shipped config is the clinical default
    assert defaults["qc"]["analysis"] == "wgs_germline"
    wgs_set = defaults["qc"]["thresholds"]["wgs_germline"]
    assert set(wgs_set["metrics"]) == set(METRICS)
    assert all(spec["source"] for spec in wgs_set["metrics"].values())
    metrics = wgs_set["metrics"]
    assert metrics["mean_coverage"]["fail_below"] == 30
    assert metrics["pct_ge_20x"]["fail_below"] == 95
    assert metrics["duplicates_pct"]["fail_above"] == 20
    assert metrics["mapped_pct"]["fail_below"] == 95
    assert metrics["properly_paired_pct"]["fail_below"] == 90
    assert (metrics["titv"]["fail_below"], metrics["titv"]["fail_above"]) == (1.9, 2.2)
    assert metrics["contamination_pct"]["fail_above"] == 2
    assert "fail_below" not in metrics["het_hom_ratio"]  # warn only
    demo = yaml.safe_load((REPO / "resources" / "demo" / "config.yaml").read_text())
    merged = validate_config(BASE | {"qc": demo["qc"]})
    assert merged["qc"]["analysis"] == "demo_synthetic"
    assert set(merged["qc"]["thresholds"]["demo_synthetic"]["metrics"]) == set(METRICS)


def test_threshold_set_typo_is_reported_with_the_key(tmp_path: Path) -> None:
    from helgenom.config import ConfigError

    bad = BASE | {"qc": {"thresholds": {"x": {"label": "l", "description": "d", "metrics": {
        "mean_coverage": {"fail_below": 30}, "coverage": {"source": "s"}}}}}}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        validate_config(bad)
    text = str(info.value)
    assert "'coverage' was unexpected" in text
    assert "required key 'qc.thresholds.x.metrics.mean_coverage.source' is missing" in text
