"""Truth comparison with bcftools norm on tiny VCFs: counting, normalisation, haplotype matching."""

from __future__ import annotations

import json
from pathlib import Path

import pysam
import pytest

from helgenom.truth import (
    Comparison,
    compare,
    write_report,
    write_validation_mqc,
)

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


# ---- haplotype-aware matching: one hand-made case per representation difference ----------
# 87 bp contig; 42-45 is a soft-masked (lower-case) poly-A run, so indels there shift;
# 72-87 is C, 13 A, GT: moving the C across the run spreads one haplotype over 14 bp.
REF2 = (
    "TTGACCATGGCAACGTCATTGCAGGTCATGCCATAGTTCAGaaaacgtaGCTAGCTAGCTACCGATCGGAT" + "CAAAAAAAAAAAAAGT"
)
HEADER2 = HEADER.replace("length=60", f"length={len(REF2)}")
# (counts per type: TRUTH.TP, QUERY.TP, FP, FN, genotype matches)
Expected = dict[str, tuple[int, int, int, int, int]]


@pytest.fixture()
def ref2(tmp_path: Path) -> Path:
    fa = tmp_path / "ref2.fa"
    fa.write_text(f">c1\n{REF2}\n")
    pysam.faidx(str(fa))
    return fa


def _plain_vcf(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER2 + "".join(f"c1\t{r}\n" for r in rows))
    return path


def _counts(result: Comparison) -> Expected:
    return {
        kind: (c.tp, c.tp_query, c.fp, c.fn, c.genotype_match)
        for kind, c in result.counts.items()
        if c.tp + c.tp_query + c.fp + c.fn
    }


def _compare2(tmp_path: Path, ref: Path, truth: list[str], query: list[str], **kw) -> Comparison:
    t = _plain_vcf(tmp_path / "t.vcf", [f"{r}\t.\tPASS\t.\tGT\t{g}" for r, g in truth])
    q = _plain_vcf(tmp_path / "q.vcf", [f"{r}\t50\tPASS\t.\tGT\t{g}" for r, g in query])
    return compare(q, t, ref, kw.pop("bed", None), **kw)


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


@pytest.mark.parametrize("case", list(CASES))
def test_representation_differences(tmp_path: Path, ref2: Path, case: str) -> None:
    truth, query, expected = CASES[case]
    assert _counts(_compare2(tmp_path, ref2, truth, query)) == expected


def test_cases_sit_on_the_reference() -> None:
    assert REF2[12:17] == "ACGTC" and REF2[27] == "A" and REF2[29] == "G" and REF2[33] == "T"
    assert REF2[40:46] == "Gaaaac" and REF2[70:87] == "TC" + "A" * 13 + "GT"


def test_mismatch_lists_name_the_variants(tmp_path: Path, ref2: Path) -> None:
    truth, query, _ = CASES["half_of_multiallelic"]
    result = _compare2(tmp_path, ref2, truth, query)
    assert [str(v) for v in result.false_negatives] == ["c1:28:A>T:0/1"]
    (t, q), *rest = result.genotype_mismatches
    assert not rest and (str(t), str(q)) == ("c1:28:A>G:0/1", "c1:28:A>G:1/1")


def test_limit_phasing_is_ignored(tmp_path: Path, ref2: Path) -> None:
    # Truth phases the two SNPs on different haplotypes, the query's MNP puts them on one:
    # documented limit, they still match.
    truth = [("14\t.\tC\tG", "0|1"), ("15\t.\tG\tT", "1|0")]
    result = _compare2(tmp_path, ref2, truth, [("14\t.\tCG\tGT", "0/1")])
    assert _counts(result) == {"snp": (2, 2, 0, 0, 2)}


def test_limit_window_smaller_than_the_spread(tmp_path: Path, ref2: Path) -> None:
    # Truth moves the C72 behind the A run (deletion + insertion); the query writes the same
    # haplotype as two SNPs 13 bp apart. With the default window (10 bp) the representations
    # are not combined (documented limit); a wider window matches them.
    truth = [("71\t.\tTC\tT", "0/1"), ("85\t.\tA\tAC", "0/1")]
    query = [("72\t.\tC\tA", "0/1"), ("85\t.\tA\tC", "0/1")]
    split = _compare2(tmp_path, ref2, truth, query)
    assert _counts(split) == {"snp": (0, 0, 2, 0, 0), "indel": (0, 0, 0, 2, 0)}
    joined = _compare2(tmp_path, ref2, truth, query, window=12)
    assert _counts(joined) == {"snp": (0, 2, 0, 0, 0), "indel": (2, 0, 0, 0, 2)}


def test_large_clusters_fall_back_to_exact_alleles(tmp_path: Path, ref2: Path) -> None:
    result = _compare2(tmp_path, ref2, DEL_INS, TWO_SNPS, max_cluster_variants=1)
    assert _counts(result) == {"snp": (0, 0, 2, 0, 0), "indel": (0, 0, 0, 2, 0)}
    assert result.fallback_clusters == 1
    same = _compare2(tmp_path, ref2, TWO_SNPS, TWO_SNPS, max_cluster_variants=1)
    assert _counts(same) == {"snp": (2, 2, 0, 0, 2)} and same.fallback_clusters == 0


def test_matching_ignores_regions_counting_does_not(tmp_path: Path, ref2: Path) -> None:
    # Only position 13 (the deletion) is confident: the insertion just outside still
    # completes the haplotype, and neither it nor the query SNPs (14, 15) are counted.
    bed = tmp_path / "r.bed"
    bed.write_text("c1\t12\t13\n")
    result = _compare2(tmp_path, ref2, DEL_INS, TWO_SNPS, bed=bed)
    assert _counts(result) == {"indel": (1, 0, 0, 0, 1)}


def test_reports_tsv_json_and_multiqc_table(tmp_path: Path, ref2: Path) -> None:
    truth, query, _ = CASES["half_of_multiallelic"]
    result = _compare2(tmp_path, ref2, truth, query)
    rows = [line.split("\t") for line in result.to_tsv().splitlines()]
    assert rows[0][:4] == ["type", "truth_total", "tp", "fn"]
    snp = dict(zip(rows[0], rows[1], strict=True))
    assert (snp["type"], snp["tp"], snp["fn"], snp["recall"]) == ("snp", "1", "1", "0.5000")
    data = json.loads(result.to_json())
    assert data["counts"]["all"]["genotype_concordance"] == 0.0
    assert data["false_negatives"] == ["c1:28:A>T:0/1"]
    tsv, js, mqc = tmp_path / "s.tsv", tmp_path / "s.json", tmp_path / "v_mqc.tsv"
    write_report({"confident": result, "truth_span": result}, "S1", tsv, js)
    assert tsv.read_text().splitlines()[1].startswith("S1\tconfident\tsnp\t2\t1\t1\t")
    write_validation_mqc([js], mqc)
    header, row = mqc.read_text().splitlines()[-2:]
    values = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert values["Sample"] == "S1" and values["snp_recall"] == "0.5000"
    assert values["fn"] == "1" and values["span_snp_recall"] == "0.5000"
