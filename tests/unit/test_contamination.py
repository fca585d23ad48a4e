"""The contamination estimate from allele counts: simulated mixtures with a known fraction, the
documented limits, and reading FORMAT/AD from a real VCF (cyvcf2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest

from helgenom.qc.sex_contamination import AlleleCounts, estimate_contamination, read_allele_counts


def simulate(
    c: float,
    *,
    contaminant: str = "population",
    sites: int = 20_000,
    depth: int = 30,
    seed: int = 7,
) -> AlleleCounts:
    """Reads of a sample mixed with a fraction `c` of another person's reads.

    Allele frequencies follow a neutral site-frequency spectrum; the contaminant is an
    unrelated person of the same population (or, with contaminant="rare", carries none of the
    sample's ALT alleles). Reads carry 0.1% errors; het sites have 48% ALT (reference bias).
    """
    rng = np.random.default_rng(seed)
    p = np.exp(rng.random(sites * 20) * np.log(1e-3))
    genotype = rng.binomial(2, p)
    other = rng.binomial(2, p) if contaminant == "population" else np.zeros_like(genotype)
    keep = genotype > 0
    genotype, other = genotype[keep][:sites], other[keep][:sites]
    depth_ = rng.poisson(depth, len(genotype))
    own = np.where(genotype == 1, 0.48, 1.0)
    alt_fraction = (1 - c) * own + c * other / 2
    alt_fraction = alt_fraction * (1 - 0.001) + (1 - alt_fraction) * 0.001
    alt = rng.binomial(depth_, alt_fraction)
    called = depth_ >= 10
    hom = called & (genotype == 2)
    het = called & (genotype == 1)
    return AlleleCounts(
        (depth_ - alt)[hom], depth_[hom], alt[het], depth_[het]
    )  # fmt: skip


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.02, 0.05, 0.10])
def test_estimate_recovers_the_fraction(fraction: float) -> None:
    result = estimate_contamination(simulate(fraction))
    assert result.estimate == pytest.approx(fraction, abs=0.004 + 0.1 * fraction)
    assert result.hom_alt_sites > 1000 and result.het_sites > 1000


def test_clean_sample_passes_and_two_percent_fails_the_gate() -> None:
    assert 100 * estimate_contamination(simulate(0.0)).estimate < 1  # below the warn limit
    assert 100 * estimate_contamination(simulate(0.03)).estimate > 2  # above the fail limit


def test_dissimilar_contaminant_is_overestimated_not_missed() -> None:
    # The documented limit: a contaminant sharing none of the sample's ALT alleles is read
    # as up to 3x more contamination (conservative for the gate).
    result = estimate_contamination(simulate(0.02, contaminant="rare"))
    assert 0.04 <= result.estimate <= 0.065


def test_het_allele_balance_is_reported() -> None:
    result = estimate_contamination(simulate(0.0))
    assert result.het_allele_balance_median == pytest.approx(0.48, abs=0.04)
    assert 0 < result.het_allele_balance_outside_30_70 < 0.2


def test_too_few_sites_is_not_assessable() -> None:
    counts = simulate(0.0, sites=30)
    result = estimate_contamination(counts, min_sites=20)
    assert result.hom_alt_sites < 20
    assert result.estimate is None and result.reason.startswith("not assessable")


def _vcf(path: Path, records: list[tuple[str, int, str, str, str, tuple[int, int], str]]) -> Path:
    header = pysam.VariantHeader()
    for contig in ("chr1", "chrX"):
        header.contigs.add(contig, length=1_000_000)
    header.add_sample("S1")
    header.formats.add("GT", 1, "String", "Genotype")
    header.formats.add("AD", "R", "Integer", "Allelic depths")
    header.filters.add("LowQual", None, None, "low quality")
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for chrom, pos, ref, alt, gt, ad, filt in records:
            record = out.new_record(contig=chrom, start=pos - 1, alleles=(ref, alt))
            record.samples["S1"]["GT"] = tuple(int(a) for a in gt.split("/"))
            record.samples["S1"]["AD"] = ad
            record.filter.add(filt)
            out.write(record)
    return path


def test_read_allele_counts_from_a_vcf(tmp_path: Path) -> None:
    vcf = _vcf(
        tmp_path / "s.vcf.gz",
        [
            ("chr1", 100, "A", "G", "1/1", (1, 29), "PASS"),
            ("chr1", 200, "C", "T", "0/1", (15, 14), "PASS"),
            ("chr1", 300, "C", "T", "0/1", (3, 4), "PASS"),  # too shallow
            ("chr1", 400, "CA", "C", "1/1", (0, 30), "PASS"),  # an indel
            ("chr1", 500, "G", "A", "1/1", (0, 30), "LowQual"),  # filtered
            ("chr1", 600, "G", "A", "0/0", (30, 0), "PASS"),
            ("chr1", 700, "T", "A", "1/1", (2, 300), "PASS"),  # > 3x the median depth
            ("chrX", 800, "G", "T", "1/1", (0, 15), "PASS"),  # not on the contigs asked
        ],
    )
    counts = read_allele_counts(vcf, contigs={"chr1"})
    assert counts.hom_ref_reads.tolist() == [1] and counts.hom_depth.tolist() == [30]
    assert counts.het_alt_reads.tolist() == [14] and counts.het_depth.tolist() == [29]
    every = read_allele_counts(vcf)
    assert every.hom_depth.tolist() == [30, 15]
