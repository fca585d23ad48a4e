"""Truth comparison: the parts that need no tool (BED handling, the test cases' own checks)."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from helgenom.truth import (
    Variant,
    apply_edits,
    in_regions,
    read_bed,
    truth_span,
)

# 60 bp contig; positions 21-24 are a poly-A run so indels there can be written shifted.
REF = "ACGTACGTACGTACGTACGTAAAACGTTGCATGCATCCGATCGGATCCATGCAAGGTTCC"


@pytest.fixture()
def ref(tmp_path: Path) -> Path:
    fa = tmp_path / "ref.fa"
    fa.write_text(f">c1\n{REF}\n")
    pysam.faidx(str(fa))
    return fa


def test_bed_is_zero_based_half_open(tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nc1\t9\t20\n")
    regions = read_bed(bed)
    assert not in_regions(regions, "c1", 9)
    assert in_regions(regions, "c1", 10) and in_regions(regions, "c1", 20)
    assert not in_regions(regions, "c1", 21) and not in_regions(regions, "c2", 10)


# ---- haplotype-aware matching: one hand-made case per representation difference ----------
# 87 bp contig; 42-45 is a soft-masked (lower-case) poly-A run, so indels there shift;
# 72-87 is C, 13 A, GT: moving the C across the run spreads one haplotype over 14 bp.
REF2 = (
    "TTGACCATGGCAACGTCATTGCAGGTCATGCCATAGTTCAGaaaacgtaGCTAGCTAGCTACCGATCGGAT" + "CAAAAAAAAAAAAAGT"
)
# (counts per type: TRUTH.TP, QUERY.TP, FP, FN, genotype matches)
Expected = dict[str, tuple[int, int, int, int, int]]


@pytest.fixture()
def ref2(tmp_path: Path) -> Path:
    fa = tmp_path / "ref2.fa"
    fa.write_text(f">c1\n{REF2}\n")
    pysam.faidx(str(fa))
    return fa


# Truth: delete C14, insert T after T16 (ACGTC -> AGTTC); query: the same haplotype as two
# SNPs C14G, G15T. No normalisation turns one into the other.
DEL_INS = [("13\t.\tAC\tA", "0/1"), ("16\t.\tT\tTT", "0/1")]
TWO_SNPS = [("14\t.\tC\tG", "0/1"), ("15\t.\tG\tT", "0/1")]

CASES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], Expected]] = {
    # an MNP in one record vs the same two SNPs decomposed
    "mnp_vs_snps": (TWO_SNPS, [("14\t.\tCG\tGT", "0/1")], {"snp": (2, 2, 0, 0, 2)}),
    # deletion + insertion vs two SNPs: two truth indels match two query SNPs
    "indels_vs_snps": (DEL_INS, TWO_SNPS, {"snp": (0, 2, 0, 0, 0), "indel": (2, 0, 0, 0, 2)}),
    # a deletion written with extra bases on both alleles (complex REF/ALT)
    "indel_as_complex": (
        [("13\t.\tAC\tA", "0/1")],
        [("13\t.\tACGT\tAGT", "0/1")],
        {"indel": (1, 1, 0, 0, 1)},
    ),
    # a deletion in a soft-masked repeat, left-aligned vs shifted right and lower-case
    "shifted_deletion_soft_masked": (
        [("41\t.\tGA\tG", "1/1")],
        [("44\t.\taa\ta", "1/1")],
        {"indel": (1, 1, 0, 0, 1)},
    ),
    # multi-allelic het 1/2 in one record vs two records
    "multiallelic_snp_1/2": (
        [("28\t.\tA\tG,T", "1/2")],
        [("28\t.\tA\tG", "0/1"), ("28\t.\tA\tT", "0/1")],
        {"snp": (2, 2, 0, 0, 2)},
    ),
    # 1/2 insertions in a repeat (as GIAB's A>AA,AG): normalised to two different positions
    "multiallelic_insertions_1/2": (
        [("45\t.\tA\tAA,AG", "1/2")],
        [("41\t.\tG\tGA", "0/1"), ("45\t.\ta\taG", "0/1")],
        {"indel": (2, 2, 0, 0, 2)},
    ),
    # right allele, wrong zygosity: a TP with a genotype mismatch
    "genotype_mismatch": (
        [("34\t.\tT\tC", "1/1")],
        [("34\t.\tT\tC", "0/1")],
        {"snp": (1, 1, 0, 0, 0)},
    ),
    # one allele of a 1/2 site called (as homozygous): TP (genotype wrong) + FN
    "half_of_multiallelic": (
        [("28\t.\tA\tG,T", "1/2")],
        [("28\t.\tA\tG", "1/1")],
        {"snp": (1, 1, 0, 1, 0)},
    ),
    # another allele at the same position: FP + FN
    "wrong_allele": ([("34\t.\tT\tC", "0/1")], [("34\t.\tT\tG", "0/1")], {"snp": (0, 0, 1, 1, 0)}),
    # hom + het vs het + het nearby: both alleles found, only the het's genotype matches
    "hom_het_vs_het_het": (
        [("30\t.\tG\tA", "1/1"), ("34\t.\tT\tC", "0/1")],
        [("30\t.\tG\tA", "0/1"), ("34\t.\tT\tC", "0/1")],
        {"snp": (2, 2, 0, 0, 1)},
    ),
}


def test_cases_sit_on_the_reference() -> None:
    assert REF2[12:17] == "ACGTC" and REF2[27] == "A" and REF2[29] == "G" and REF2[33] == "T"
    assert REF2[40:46] == "Gaaaac" and REF2[70:87] == "TC" + "A" * 13 + "GT"


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
