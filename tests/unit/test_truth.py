"""Truth comparison: the parts that need no tool (BED handling, the test cases' own checks)."""

from __future__ import annotations

from pathlib import Path

from helgenom.truth import (
    Variant,
    apply_edits,
    in_regions,
    read_bed,
    truth_span,
)


def test_bed_is_zero_based_half_open(tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nc1\t9\t20\n")
    regions = read_bed(bed)
    assert not in_regions(regions, "c1", 9)
    assert in_regions(regions, "c1", 10) and in_regions(regions, "c1", 20)
    assert not in_regions(regions, "c1", 21) and not in_regions(regions, "c2", 10)


def test_apply_edits_rejects_overlaps() -> None:
    ref = "ACGTACGT"
    assert apply_edits(ref, 10, [(11, 12, "G"), (13, 13, "TT")]) == "AGGTTTACGT"
    assert apply_edits(ref, 10, [(11, 13, ""), (12, 13, "A")]) is None  # SNP in a deletion
    assert apply_edits(ref, 10, [(13, 13, "A"), (13, 13, "C")]) is None  # two insertions
    assert apply_edits(ref, 10, [(13, 13, "A"), (13, 14, "C")]) == "ACGACACGT"


def test_truth_span_and_merged_bed(tmp_path: Path) -> None:
    variants = [Variant("c1", 20, "A", "G", 1), Variant("c1", 5, "A", "G", 2)]
    assert truth_span(variants) == {"c1": [(4, 20)]}
    bed = tmp_path / "r.bed"
    bed.write_text("c1\t10\t20\nc1\t15\t30\nc1\t40\t50\n")
    assert read_bed(bed) == {"c1": [(10, 30), (40, 50)]}
