"""The sample checks computed here rather than read from a tool: the sex inferred from X/Y
coverage (against the declared sex) and the contamination estimated from allele counts
(FORMAT/AD) at hom-alt SNVs in the VCF.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helgenom.qc.coverage import autosomes, sex_contigs
from helgenom.qc.parsers import SummaryRow

# ---- sex check -----------------------------------------------------------------------------
# X and Y coverage relative to the autosomes (mean over non-N bases). Expected: female X ~1.0,
# Y ~0 (reads of X-transposed/ampliconic sequence give a few %); male X ~0.5, Y ~0.3-0.5 (MAPQ
# 0 reads count, so Y's repeats are covered). Between the bands the call is "ambiguous" (e.g.
# XXY, X0, mosaicism or contamination) and warns.
FEMALE_X_MIN = 0.75
MALE_X_RANGE = (0.35, 0.65)
MALE_Y_MIN = 0.2
FEMALE_Y_MAX = 0.1


@dataclass(frozen=True)
class SexCheck:
    declared: str
    inferred: str | None  # female, male, ambiguous; None when not assessable
    x_ratio: float | None
    y_ratio: float | None
    reason: str  # how it was decided, or why it could not be


def infer_sex(
    summary: Mapping[str, SummaryRow], acgt: Mapping[str, tuple[int, int]], declared: str
) -> SexCheck:
    """Sex from X/Y coverage relative to the autosomes (mosdepth summary, non-N lengths)."""
    names = list(acgt)
    auto = [c for c in autosomes(names) if c in summary]
    x, y = sex_contigs(names)
    if not auto or x is None or x not in summary:
        missing = "autosomes (chr1-22/1-22)" if not auto else "an X chromosome (chrX/X)"
        return SexCheck(
            declared, None, None, None, f"not assessable: the reference has no {missing}"
        )

    def mean(contigs: Sequence[str]) -> float:
        acgt_bases = sum(acgt[c][1] for c in contigs)
        return sum(summary[c].bases for c in contigs) / acgt_bases if acgt_bases else 0.0

    auto_mean = mean(auto)
    if auto_mean <= 0:
        return SexCheck(declared, None, None, None, "not assessable: no autosomal coverage")
    x_ratio = mean([x]) / auto_mean
    y_ratio = mean([y]) / auto_mean if y is not None and y in summary else None
    female = x_ratio >= FEMALE_X_MIN and (y_ratio is None or y_ratio < FEMALE_Y_MAX)
    male = MALE_X_RANGE[0] <= x_ratio <= MALE_X_RANGE[1] and (
        y_ratio is None or y_ratio >= MALE_Y_MIN
    )
    inferred = "female" if female else "male" if male else "ambiguous"
    basis = f"X/autosomes {x_ratio:.2f}" + (
        f", Y/autosomes {y_ratio:.2f}" if y_ratio is not None else ", no Y contig"
    )
    return SexCheck(declared, inferred, round(x_ratio, 4), round_or_none(y_ratio, 4), basis)


def round_or_none(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# ---- contamination -------------------------------------------------------------------------
# A maximum-likelihood estimate of the fraction c of reads that come from another person, from
# the allele counts (FORMAT/AD) at the sample's PASS biallelic SNVs.
#
# Hom-alt sites carry the signal: there every REF read is a sequencing error or a read of the
# contaminant, so the REF-allele fraction is ~ c x (the contaminant's REF-allele dosage / 2).
# The contaminant's genotype is unknown; it is marginalised with the genotype frequencies
# expected for an unrelated person under a neutral site-frequency spectrum (density ~ 1/p):
# given the sample is hom-alt, the contaminant carries 0/1/2 ALT alleles with probability
# 1/6, 1/3, 1/2 (so on average a third of its alleles there are REF).
#
# Het sites carry next to no information at the 2% level: per-site binomial noise at 30x is
# +-9% allele balance, and reference bias and over-dispersion shift and widen the allele balance
# by more than 2% contamination does (in simulations a het-site model read over-dispersion as
# ~17% contamination). They are therefore not in the likelihood; their allele-balance spread is
# reported beside the estimate (median and the fraction outside 0.3-0.7 at depth >= 20).
#
# Limits: errors that turn an ALT into the REF base (~0.1% per base) are counted as
# contamination, so a clean sample reads ~0.1-0.5% (conservative). The estimate assumes an
# unrelated contaminant of the same population; a contaminant that shares few of the sample's
# ALT alleles (another population, a non-human source) is over-estimated (up to 3x), one that
# shares most (a relative, or a population where the sample's hom-alt alleles are near fixed)
# under-estimated. Above ~20-30% the caller itself calls the affected hom-alt sites het, so high
# values are under-estimated. VerifyBamID2 with population allele frequencies is the reference
# method where a definitive value is needed.
CONTAMINATION_MIN_DEPTH = 10
CONTAMINATION_MAX_SITES = 50_000
CONTAMINATION_MIN_SITES = 20
CONTAMINATION_ERROR = 0.001  # probability that a read of the ALT allele shows the REF base
_HOM_PRIOR = np.array([1 / 6, 1 / 3, 1 / 2])  # contaminant ALT dosage 0, 1, 2 | sample hom-alt
_DOSAGE = np.array([0.0, 0.5, 1.0])


@dataclass(frozen=True)
class AlleleCounts:
    """REF/ALT read counts at PASS biallelic SNVs, split by the sample's genotype."""

    hom_ref_reads: np.ndarray  # at 1/1 sites
    hom_depth: np.ndarray
    het_alt_reads: np.ndarray  # at 0/1 sites
    het_depth: np.ndarray


def read_allele_counts(
    vcf: str | Path,
    *,
    contigs: Collection[str] | None = None,
    min_depth: int = CONTAMINATION_MIN_DEPTH,
    max_sites: int = CONTAMINATION_MAX_SITES,
) -> AlleleCounts:
    """FORMAT/AD at PASS SNVs with genotype 0/1 or 1/1 (first sample), optionally on `contigs`.

    Sites with REF+ALT reads below `min_depth` or above 3x the median depth (collapsed
    repeats, CNVs) are left out; each class is thinned to at most `max_sites` sites by taking
    every k-th (deterministic).
    """
    from cyvcf2 import VCF

    rows: dict[str, list[tuple[int, int]]] = {"hom": [], "het": []}
    reader = VCF(str(vcf))
    try:
        if "AD" not in {h.info().get("ID") for h in reader.header_iter() if h.type == "FORMAT"}:
            raise ValueError(f"{vcf}: no FORMAT/AD field (allele depths are needed)")
        for record in reader:
            if record.FILTER is not None or len(record.ALT) != 1:
                continue
            if len(record.REF) != 1 or len(record.ALT[0]) != 1:
                continue
            if contigs is not None and record.CHROM not in contigs:
                continue
            gt = record.genotypes[0]
            alleles = sorted(a for a in gt[:2] if a is not None and a >= 0)
            if len(alleles) != 2 or alleles == [0, 0]:
                continue
            ad = record.format("AD")
            if ad is None:
                continue
            ref, alt = int(max(ad[0][0], 0)), int(max(ad[0][1], 0))
            if ref + alt < min_depth:
                continue
            rows["hom" if alleles == [1, 1] else "het"].append((ref, alt))
    finally:
        reader.close()
    depths = [r + a for cls in rows.values() for r, a in cls]
    if depths:
        limit = 3 * statistics.median(depths)
        for key in rows:
            rows[key] = [(r, a) for r, a in rows[key] if r + a <= limit]
    for key, values in rows.items():
        if len(values) > max_sites:
            step = len(values) / max_sites
            rows[key] = [values[int(i * step)] for i in range(max_sites)]
    hom = np.array(rows["hom"], dtype=np.int64).reshape(-1, 2)
    het = np.array(rows["het"], dtype=np.int64).reshape(-1, 2)
    return AlleleCounts(hom[:, 0], hom.sum(axis=1), het[:, 1], het.sum(axis=1))


def _hom_loglik(
    ref_reads: np.ndarray, depth: np.ndarray, c: np.ndarray, error: float
) -> np.ndarray:
    """Log-likelihood of the REF counts at hom-alt sites for each contamination value in `c`."""
    # P(a read shows REF) for contaminant ALT dosage d: c * (1 - d/2), plus errors.
    p_ref = c[:, None] * (1 - _DOSAGE[None, :])
    p_ref = p_ref * (1 - error) + (1 - p_ref) * error
    p_ref = np.clip(p_ref, 1e-12, 1 - 1e-12)
    terms = (
        np.log(_HOM_PRIOR)[None, :, None]
        + ref_reads[None, None, :] * np.log(p_ref)[:, :, None]
        + (depth - ref_reads)[None, None, :] * np.log1p(-p_ref)[:, :, None]
    )
    peak = terms.max(axis=1, keepdims=True)
    return (peak[:, 0, :] + np.log(np.exp(terms - peak).sum(axis=1))).sum(axis=1)


@dataclass(frozen=True)
class Contamination:
    estimate: float | None  # fraction (0-1); None when not assessable
    hom_alt_sites: int
    het_sites: int
    ref_fraction_at_hom_alt: float | None
    het_allele_balance_median: float | None
    het_allele_balance_outside_30_70: float | None  # at depth >= 20
    reason: str


def estimate_contamination(
    counts: AlleleCounts,
    *,
    error: float = CONTAMINATION_ERROR,
    min_sites: int = CONTAMINATION_MIN_SITES,
) -> Contamination:
    """Maximum-likelihood contamination fraction from hom-alt allele counts (see above)."""
    n_hom, n_het = len(counts.hom_depth), len(counts.het_depth)
    ab = counts.het_alt_reads / np.maximum(counts.het_depth, 1)
    deep = counts.het_depth >= 20
    ab_median = float(np.median(ab)) if n_het else None
    outside = float(np.mean((ab[deep] < 0.3) | (ab[deep] > 0.7))) if deep.any() else None
    ref_fraction = float(counts.hom_ref_reads.sum() / counts.hom_depth.sum()) if n_hom else None
    if n_hom < min_sites:
        return Contamination(
            None, n_hom, n_het, ref_fraction, ab_median, outside,
            f"not assessable: {n_hom} hom-alt SNVs with depth >= {CONTAMINATION_MIN_DEPTH} "
            f"(at least {min_sites} needed)",
        )  # fmt: skip
    coarse = np.arange(0.0, 0.5 + 1e-9, 0.005)
    best = coarse[
        int(np.argmax(_hom_loglik(counts.hom_ref_reads, counts.hom_depth, coarse, error)))
    ]
    fine = np.arange(max(best - 0.005, 0.0), min(best + 0.005, 0.5) + 1e-9, 0.0001)
    value = fine[int(np.argmax(_hom_loglik(counts.hom_ref_reads, counts.hom_depth, fine, error)))]
    return Contamination(
        round(float(value), 4), n_hom, n_het, round_or_none(ref_fraction, 5),
        round_or_none(ab_median, 4), round_or_none(outside, 4),
        f"maximum likelihood over {n_hom} hom-alt SNVs (REF-read fraction "
        f"{100 * ref_fraction:.2f}%)",
    )  # fmt: skip
