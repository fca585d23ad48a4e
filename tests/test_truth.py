from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from helgenom.truth import compare, in_regions, read_bed

# 60 bp contig; positions 21-24 are a poly-A run so indels there can be written shifted.
REF = "ACGTACGTACGTACGTACGTAAAACGTTGCATGCATCCGATCGGATCCATGCAAGGTTCC"
HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=c1,length=60>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FILTER=<ID=LowQual,Description="low">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
)


def _vcf(path: Path, rows: list[str]) -> Path:
    text = HEADER + "".join(f"c1\t{r}\n" for r in rows)
    plain = path.with_suffix("")
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


@pytest.fixture()
def ref(tmp_path: Path) -> Path:
    fa = tmp_path / "ref.fa"
    fa.write_text(f">c1\n{REF}\n")
    pysam.faidx(str(fa))
    return fa


def test_counts_tp_fp_fn_and_genotypes(tmp_path: Path, ref: Path) -> None:
    assert REF[4] == "A" and REF[9] == "C" and REF[29] == "C" and REF[33] == "C"
    truth = _vcf(
        tmp_path / "t.vcf.gz",
        [
            "5\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",
            "10\t.\tC\tT\t.\tPASS\t.\tGT\t1/1",
            "30\t.\tC\tA\t.\tPASS\t.\tGT\t0|1",
        ],
    )
    query = _vcf(
        tmp_path / "q.vcf.gz",
        [
            "5\t.\tA\tG\t50\tPASS\t.\tGT\t0/1",  # TP, genotype right
            "10\t.\tC\tT\t50\tPASS\t.\tGT\t0/1",  # TP, genotype wrong
            "30\t.\tC\tA\t5\tLowQual\t.\tGT\t0/1",  # filtered: does not count -> FN
            "34\t.\tC\tG\t50\tPASS\t.\tGT\t0/1",  # FP
        ],
    )
    result = compare(query, truth, ref)
    snp = result.counts["snp"]
    assert (snp.tp, snp.fp, snp.fn, snp.genotype_match) == (2, 1, 1, 1)
    assert snp.recall == pytest.approx(2 / 3) and snp.precision == pytest.approx(2 / 3)
    assert [v.pos for v in result.false_negatives] == [30]
    assert [v.pos for v in result.false_positives] == [34]
    assert result.genotype_mismatches[0][0].pos == 10


def test_shifted_indel_and_multiallelic_are_normalised(tmp_path: Path, ref: Path) -> None:
    # Deleting one A of the AAAA run (positions 21-24), written left-aligned vs shifted right.
    assert REF[19:25] == "TAAAAC"
    truth = _vcf(
        tmp_path / "t.vcf.gz",
        [
            "20\t.\tTA\tT\t.\tPASS\t.\tGT\t0/1",
            "34\t.\tC\tG\t.\tPASS\t.\tGT\t0/1",
            "34\t.\tC\tT\t.\tPASS\t.\tGT\t0/1",
        ],
    )
    query = _vcf(
        tmp_path / "q.vcf.gz",
        [
            "23\t.\tAA\tA\t50\tPASS\t.\tGT\t0/1",
            "34\t.\tC\tG,T\t50\tPASS\t.\tGT\t1/2",
        ],
    )
    result = compare(query, truth, ref)
    assert (result.counts["indel"].tp, result.counts["indel"].fp) == (1, 0)
    assert (result.counts["snp"].tp, result.counts["snp"].fp) == (2, 0)
    assert result.total().genotype_match == 3


def test_regions_restrict_both_sets(tmp_path: Path, ref: Path) -> None:
    truth = _vcf(tmp_path / "t.vcf.gz", ["5\t.\tA\tG\t.\tPASS\t.\tGT\t0/1"])
    query = _vcf(tmp_path / "q.vcf.gz", ["34\t.\tC\tG\t50\tPASS\t.\tGT\t0/1"])
    bed = tmp_path / "r.bed"
    bed.write_text("c1\t20\t30\n")
    result = compare(query, truth, ref, bed)
    assert result.total().tp == result.total().fp == result.total().fn == 0
    assert '"recall": 1.0' in result.to_json()


def test_bed_is_zero_based_half_open(tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nc1\t9\t20\n")
    regions = read_bed(bed)
    assert not in_regions(regions, "c1", 9)
    assert in_regions(regions, "c1", 10) and in_regions(regions, "c1", 20)
    assert not in_regions(regions, "c1", 21) and not in_regions(regions, "c2", 10)
