"""Clinical QC: metric parsing, the coverage regions, sex and contamination checks, thresholds,
pass/warn/fail, operator overrides and the QC gate.

The metrics come from the run's QC outputs (samtools flagstat/markdup, mosdepth, bcftools
stats) plus two estimates computed here: the sex inferred from X/Y coverage and the
contamination estimated from allele counts (FORMAT/AD) in the VCF.

Gate semantics (one threshold set per analysis type, config ``qc.thresholds.<analysis>``):

* a metric whose value is below ``fail_below`` or above ``fail_above`` fails; otherwise one below
  ``warn_below`` or above ``warn_above`` warns; otherwise it passes. The limits themselves pass
  (``fail_below: 30`` passes 30.0). A metric that cannot be computed on this sample (no X
  contig, too few SNVs) is ``not_assessable`` and never fails the gate.
* every fail limit is a hard limit: a failing metric makes the sample a "QC failure", which is
  not reported as a clinical result. The only way past is an override recorded by an operator
  in the overrides file (``qc.overrides``; who, why, when per sample and metric), which the
  report shows.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from helgenom.problems import ProblemsError

# ---- coverage summaries (mosdepth) ----------------------------------------------------------


@dataclass(frozen=True)
class CoverageSummary:
    mean: float
    median: int
    fraction_at_least: dict[int, float]  # depth -> fraction of bases with coverage >= depth


def read_mosdepth(
    summary_txt: str | Path, dist_txt: str | Path, thresholds: Sequence[int]
) -> CoverageSummary:
    """Genome-wide coverage from mosdepth's summary and global distribution files.

    The mean is mosdepth's "total" row (bases / genome length); the median and the
    fractions come from the cumulative distribution (`total` rows of the global dist file:
    depth, fraction of bases with coverage >= depth).
    """
    mean = None
    with Path(summary_txt).open() as handle:
        header = handle.readline().rstrip("\n").split("\t")
        for line in handle:
            row = dict(zip(header, line.rstrip("\n").split("\t"), strict=False))
            if row.get("chrom") == "total":
                mean = float(row["mean"])
    if mean is None:
        raise ValueError(f"{summary_txt}: no 'total' row in the mosdepth summary")
    cumulative: dict[int, float] = {}
    with Path(dist_txt).open() as handle:
        for line in handle:
            chrom, depth, fraction = line.rstrip("\n").split("\t")
            if chrom == "total":
                cumulative[int(depth)] = float(fraction)
    if not cumulative:
        raise ValueError(f"{dist_txt}: no 'total' rows in the mosdepth distribution")
    median = max((d for d, f in cumulative.items() if f >= 0.5), default=0)
    fractions = {t: cumulative.get(t, 0.0) for t in thresholds}
    return CoverageSummary(mean=mean, median=median, fraction_at_least=fractions)


def write_coverage_mqc(summaries: dict[str, CoverageSummary], out: str | Path) -> None:
    """A MultiQC custom-content table (one row per sample) of the coverage summary."""
    thresholds = sorted({t for s in summaries.values() for t in s.fraction_at_least})
    lines = [
        "# id: 'helgenom_coverage'",
        "# section_name: 'Coverage (helgenom)'",
        "# description: 'Genome-wide coverage from mosdepth: mean, median and % of bases at "
        "or above each depth.'",
        "# plot_type: 'table'",
        "\t".join(
            ["Sample", "mean_coverage", "median_coverage"] + [f"pct_ge_{t}x" for t in thresholds]
        ),
    ]
    for sample, s in summaries.items():
        row = [sample, f"{s.mean:.2f}", str(s.median)]
        row += [f"{100 * s.fraction_at_least[t]:.2f}" for t in thresholds]
        lines.append("\t".join(row))
    Path(out).write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class SummaryRow:
    length: int
    bases: int
    mean: float


def read_mosdepth_summary(path: str | Path) -> dict[str, SummaryRow]:
    """mosdepth's summary: chrom (also `<chrom>_region`, `total`, `total_region`) -> row."""
    rows: dict[str, SummaryRow] = {}
    with Path(path).open() as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header[:4] != ["chrom", "length", "bases", "mean"]:
            raise ValueError(f"{path}: not a mosdepth summary (header {header[:4]})")
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            rows[fields[0]] = SummaryRow(int(fields[1]), int(fields[2]), float(fields[3]))
    return rows


@dataclass(frozen=True)
class RegionCoverage:
    """Coverage over a set of regions from mosdepth --by/--thresholds (exact base counts)."""

    length: int  # bases in the regions
    mean: float  # mosdepth's total_region mean
    bases_at_least: dict[int, int]  # depth -> bases with coverage >= depth

    def fraction_at_least(self, depth: int) -> float:
        return self.bases_at_least[depth] / self.length if self.length else 0.0


def read_region_coverage(summary_txt: str | Path, thresholds_bed: str | Path) -> RegionCoverage:
    """Mean (summary `total_region`) and exact per-depth base counts (thresholds.bed.gz)."""
    import gzip

    rows = read_mosdepth_summary(summary_txt)
    if "total_region" not in rows:
        raise ValueError(f"{summary_txt}: no 'total_region' row (mosdepth was run without --by)")
    length = 0
    counts: dict[int, int] = {}
    with gzip.open(thresholds_bed, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        depths = [int(h.rstrip("X")) for h in header[4:]]
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            length += int(fields[2]) - int(fields[1])
            for depth, value in zip(depths, fields[4:], strict=True):
                counts[depth] = counts.get(depth, 0) + int(value)
    return RegionCoverage(length, rows["total_region"].mean, counts)


# ---- samtools / bcftools text outputs ------------------------------------------------------
_FLAGSTAT = {
    "in total": "total",
    "primary": "primary",
    "secondary": "secondary",
    "supplementary": "supplementary",
    "duplicates": "duplicates",
    "primary duplicates": "primary_duplicates",
    "mapped": "mapped",
    "primary mapped": "primary_mapped",
    "paired in sequencing": "paired",
    "read1": "read1",
    "read2": "read2",
    "properly paired": "properly_paired",
    "with itself and mate mapped": "both_mapped",
    "singletons": "singletons",
}


def read_flagstat(path: str | Path) -> dict[str, int]:
    """samtools flagstat (default text format): QC-passed counts by name."""
    out: dict[str, int] = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"(\d+) \+ (\d+) (.+?)(?: \(|$)", line)
        if not match:
            continue
        label = match.group(3).strip()
        for text, key in _FLAGSTAT.items():
            if label == text or label.startswith(text + " ("):
                out[key] = int(match.group(1))
    for key in ("primary", "primary_mapped", "paired", "properly_paired"):
        if key not in out:
            raise ValueError(f"{path}: no '{key}' line in the samtools flagstat output")
    return out


def read_markdup(path: str | Path) -> dict[str, int]:
    """samtools markdup -f statistics: 'NAME: value' lines."""
    out: dict[str, int] = {}
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().isdigit():
            out[name.strip().lower().replace(" ", "_")] = int(value)
    for key in ("examined", "duplicate_total"):
        if key not in out:
            raise ValueError(f"{path}: no '{key.upper()}' line in the samtools markdup stats")
    return out


def read_samtools_stats(path: str | Path) -> dict[str, float]:
    """The SN (summary numbers) section of samtools stats."""
    out: dict[str, float] = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("SN\t"):
            fields = line.split("\t")
            out[fields[1].rstrip(":")] = float(fields[2])
    if not out:
        raise ValueError(f"{path}: no SN lines (not a samtools stats output)")
    return out


@dataclass(frozen=True)
class VariantStats:
    snvs: int
    indels: int
    transitions: int
    transversions: int
    het_snvs: int | None  # PSC section (bcftools stats -s -): SNV genotypes only
    hom_alt_snvs: int | None

    @property
    def titv(self) -> float | None:
        return self.transitions / self.transversions if self.transversions else None

    @property
    def het_hom_ratio(self) -> float | None:
        if self.het_snvs is None or not self.hom_alt_snvs:
            return None
        return self.het_snvs / self.hom_alt_snvs


def read_bcftools_stats(path: str | Path) -> VariantStats:
    """bcftools stats: SN counts, TSTV and (with -s -) the per-sample PSC line."""
    sn: dict[str, int] = {}
    ts = tv = 0
    het = hom = None
    for line in Path(path).read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "SN" and len(fields) >= 4:
            sn[fields[2].rstrip(":")] = int(fields[3])
        elif fields[0] == "TSTV" and len(fields) >= 5:
            ts, tv = int(fields[2]), int(fields[3])
        elif fields[0] == "PSC" and len(fields) >= 8:
            hom, het = int(fields[4]), int(fields[5])
    if "number of SNPs" not in sn:
        raise ValueError(f"{path}: no 'number of SNPs' line (not a bcftools stats output)")
    return VariantStats(sn["number of SNPs"], sn.get("number of indels", 0), ts, tv, het, hom)


# ---- the coverage regions (what the gate's coverage is computed over) ----------------------
_AUTOSOME = re.compile(r"(?:chr)?([1-9]|1[0-9]|2[0-2])")
_X = re.compile(r"(?:chr)?X")
_Y = re.compile(r"(?:chr)?Y")


def autosomes(contigs: Iterable[str]) -> list[str]:
    """Human autosome names among `contigs` (1..22 or chr1..chr22), in the given order."""
    return [c for c in contigs if _AUTOSOME.fullmatch(c)]


def sex_contigs(contigs: Iterable[str]) -> tuple[str | None, str | None]:
    names = list(contigs)
    x = next((c for c in names if _X.fullmatch(c)), None)
    y = next((c for c in names if _Y.fullmatch(c)), None)
    return x, y


def acgt_runs(sequence: str) -> list[tuple[int, int]]:
    """0-based half-open runs of non-N bases in `sequence`."""
    return [m.span() for m in re.finditer(r"[^Nn]+", sequence)]


def write_coverage_regions(
    fasta: str | Path,
    bed_out: str | Path,
    acgt_out: str | Path,
    configured_bed: str | Path | None = None,
) -> str:
    """Write the regions the gate's coverage is computed over, and non-N length per contig.

    The regions are `configured_bed` (sorted and merged) when given; otherwise the non-N
    bases of the autosomes (chr1-22 / 1-22; so male X/Y dosage does not depress the figures),
    or of every contig when the reference has no human autosome names. Returns a description
    of the regions for the report.
    """
    import pysam

    with pysam.FastaFile(str(fasta)) as fa:
        names = list(fa.references)
        runs = {name: acgt_runs(fa.fetch(name)) for name in names}
        lengths = dict(zip(names, fa.lengths, strict=True))
    with Path(acgt_out).open("w") as handle:
        handle.write("contig\tlength\tacgt\n")
        for name in names:
            handle.write(f"{name}\t{lengths[name]}\t{sum(e - s for s, e in runs[name])}\n")
    if configured_bed is not None:
        intervals = merge_intervals(read_bed_intervals(configured_bed, lengths))
    else:
        chosen = autosomes(names) or names
        intervals = [(c, s, e) for c in chosen for s, e in runs[c]]
    scope = coverage_scope(configured_bed, acgt_out)
    if not intervals:
        raise ValueError(f"no coverage regions: {configured_bed or fasta} gives no interval")
    with Path(bed_out).open("w") as handle:
        handle.writelines(f"{c}\t{s}\t{e}\n" for c, s, e in intervals)
    return scope


def coverage_scope(configured_bed: str | Path | None, acgt: str | Path) -> str:
    """What the gate's coverage metrics are computed over, in words (for the reports)."""
    if configured_bed:
        return f"configured regions ({Path(configured_bed).name})"
    kind = "autosomes" if autosomes(read_acgt(acgt)) else "contigs"
    return f"non-N bases of the reference's {kind}"


def read_bed_intervals(
    path: str | Path, lengths: Mapping[str, int] | None = None
) -> list[tuple[str, int, int]]:
    """BED intervals (contig, start, end); ValueError with file:line on a bad line."""
    out = []
    with Path(path).open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
                raise ValueError(f"{path}:{number}: not 'contig<TAB>start<TAB>end'")
            contig, start, end = fields[0], int(fields[1]), int(fields[2])
            if start >= end:
                raise ValueError(f"{path}:{number}: start {start} is not below end {end}")
            if lengths is not None:
                if contig not in lengths:
                    raise ValueError(f"{path}:{number}: contig {contig!r} is not in the reference")
                if end > lengths[contig]:
                    raise ValueError(
                        f"{path}:{number}: end {end} is beyond the end of {contig} "
                        f"({lengths[contig]} bp)"
                    )
            out.append((contig, start, end))
    return out


def merge_intervals(intervals: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Sorted, merged (overlapping or touching) intervals; contigs in first-seen order."""
    order: dict[str, int] = {}
    for contig, _, _ in intervals:
        order.setdefault(contig, len(order))
    merged: list[tuple[str, int, int]] = []
    for contig, start, end in sorted(intervals, key=lambda i: (order[i[0]], i[1], i[2])):
        if merged and merged[-1][0] == contig and start <= merged[-1][2]:
            merged[-1] = (contig, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((contig, start, end))
    return merged


def read_acgt(path: str | Path) -> dict[str, tuple[int, int]]:
    """contig -> (length, non-N bases) as written by write_coverage_regions."""
    out = {}
    with Path(path).open() as handle:
        next(handle)
        for line in handle:
            contig, length, acgt = line.rstrip("\n").split("\t")
            out[contig] = (int(length), int(acgt))
    return out


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
    return SexCheck(declared, inferred, round(x_ratio, 4), _round(y_ratio, 4), basis)


def _round(value: float | None, digits: int) -> float | None:
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
        round(float(value), 4), n_hom, n_het, _round(ref_fraction, 5), _round(ab_median, 4),
        _round(outside, 4),
        f"maximum likelihood over {n_hom} hom-alt SNVs (REF-read fraction "
        f"{100 * ref_fraction:.2f}%)",
    )  # fmt: skip


# ---- metrics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str  # "x", "%", "" (ratio) or "category"
    description: str


METRICS: dict[str, MetricInfo] = {
    "mean_coverage": MetricInfo(
        "Mean coverage", "x", "mean depth over the coverage regions (mosdepth)"
    ),
    "pct_ge_20x": MetricInfo(
        "Bases at >= 20x", "%", "share of the coverage regions' bases covered >= 20x (mosdepth)"
    ),
    "duplicates_pct": MetricInfo(
        "Duplicate reads", "%", "duplicate primary reads / examined reads (samtools markdup)"
    ),
    "mapped_pct": MetricInfo(
        "Mapped reads", "%", "mapped primary reads / primary reads (samtools flagstat)"
    ),
    "properly_paired_pct": MetricInfo(
        "Properly paired reads", "%", "properly paired / paired reads (samtools flagstat)"
    ),
    "titv": MetricInfo("Ti/Tv (SNVs)", "", "transitions / transversions, PASS SNVs (bcftools)"),
    "het_hom_ratio": MetricInfo(
        "Het/hom-alt ratio (SNVs)", "", "heterozygous / hom-alt PASS SNV genotypes (bcftools)"
    ),
    "contamination_pct": MetricInfo(
        "Contamination estimate", "%", "allele counts at hom-alt SNVs (helgenom.qc)"
    ),
    "sex_check": MetricInfo(
        "Sex check", "category", "declared sex against X/Y coverage (mosdepth)"
    ),
}
STATUSES = ("pass", "warn", "fail", "not_assessable")
NUMERIC_LIMITS = ("fail_below", "fail_above", "warn_below", "warn_above")


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 4) if whole else None


def collect_metrics(
    *,
    sample_id: str,
    declared_sex: str,
    flagstat: str | Path,
    markdup: str | Path,
    samtools_stats: str | Path,
    bcftools_stats: str | Path,
    mosdepth_summary: str | Path,
    mosdepth_thresholds: str | Path,
    acgt: str | Path,
    vcf: str | Path,
    coverage_scope: str,
    min_depth: int = 20,
) -> dict[str, Any]:
    """Every gated metric of one sample and the figures behind it (metrics.json)."""
    flags = read_flagstat(flagstat)
    dups = read_markdup(markdup)
    sn = read_samtools_stats(samtools_stats)
    variants = read_bcftools_stats(bcftools_stats)
    summary = read_mosdepth_summary(mosdepth_summary)
    coverage = read_region_coverage(mosdepth_summary, mosdepth_thresholds)
    acgt_lengths = read_acgt(acgt)
    sex = infer_sex(summary, acgt_lengths, declared_sex)
    auto = autosomes(acgt_lengths)
    counts = read_allele_counts(vcf, contigs=set(auto) if auto else None)
    contamination = estimate_contamination(counts)
    duplicates = dups.get("duplicate_primary_total", dups["duplicate_total"])
    values: dict[str, Any] = {
        "mean_coverage": round(coverage.mean, 2),
        "pct_ge_20x": _pct(coverage.bases_at_least[min_depth], coverage.length),
        "duplicates_pct": _pct(duplicates, dups["examined"]),
        "mapped_pct": _pct(flags["primary_mapped"], flags["primary"]),
        "properly_paired_pct": _pct(flags["properly_paired"], flags["paired"]),
        "titv": _round(variants.titv, 4),
        "het_hom_ratio": _round(variants.het_hom_ratio, 4),
        "contamination_pct": (
            None if contamination.estimate is None else round(100 * contamination.estimate, 2)
        ),
        "sex_check": sex.inferred,
    }
    return {
        "sample_id": sample_id,
        "values": values,
        "coverage": {
            "scope": coverage_scope,
            "bases": coverage.length,
            "mean": coverage.mean,
            "bases_at_least": {str(k): v for k, v in sorted(coverage.bases_at_least.items())},
        },
        "sex": asdict(sex),
        "contamination": asdict(contamination),
        "reads": {
            "primary": flags["primary"],
            "primary_mapped": flags["primary_mapped"],
            "paired": flags["paired"],
            "properly_paired": flags["properly_paired"],
            "duplicates_examined": dups["examined"],
            "duplicates": duplicates,
            "insert_size_mean": sn.get("insert size average"),
            "error_rate": sn.get("error rate"),
        },
        "variants": {
            "snvs": variants.snvs,
            "indels": variants.indels,
            "transitions": variants.transitions,
            "transversions": variants.transversions,
            "het_snvs": variants.het_snvs,
            "hom_alt_snvs": variants.hom_alt_snvs,
        },
    }


# ---- thresholds and the gate ---------------------------------------------------------------
def threshold_text(spec: Mapping[str, Any], unit: str = "") -> str:
    """'fail < 30x or > ..., warn < 32x' for a metric's limits (the passing range is closed)."""
    if "mismatch" in spec:
        return f"{spec['mismatch']} if the inferred sex differs from the declared sex"
    suffix = {"x": "x", "%": "%"}.get(unit, "")
    parts = []
    for level in ("fail", "warn"):
        below, above = spec.get(f"{level}_below"), spec.get(f"{level}_above")
        bounds = [f"< {below:g}{suffix}" if below is not None else ""]
        bounds.append(f"> {above:g}{suffix}" if above is not None else "")
        bounds = [b for b in bounds if b]
        if bounds:
            parts.append(f"{level} " + " or ".join(bounds))
    return "; ".join(parts) or "not gated"


def evaluate(value: Any, spec: Mapping[str, Any]) -> str:
    """pass / warn / fail / not_assessable for one metric value against its limits."""
    if value is None:
        return "not_assessable"
    if "mismatch" in spec:  # the sex check
        declared = spec.get("_declared")
        if declared not in ("female", "male"):
            return "not_assessable"
        if value == "ambiguous":
            return "warn"
        return "pass" if value == declared else str(spec["mismatch"])
    value = float(value)
    if spec.get("fail_below") is not None and value < spec["fail_below"]:
        return "fail"
    if spec.get("fail_above") is not None and value > spec["fail_above"]:
        return "fail"
    if spec.get("warn_below") is not None and value < spec["warn_below"]:
        return "warn"
    if spec.get("warn_above") is not None and value > spec["warn_above"]:
        return "warn"
    return "pass"


def gate(
    metrics: Mapping[str, Any],
    analysis: str,
    threshold_set: Mapping[str, Any],
    overrides: Sequence[Override] = (),
    declared_sex: str = "unknown",
) -> dict[str, Any]:
    """The QC gate of one sample: each gated metric's status, overrides, and the verdict.

    `reportable` is False when a metric fails without an override naming it: the sample is
    then a "QC failure". An override of a metric that did not fail is kept (and shown) but has
    no effect.
    """
    sample = metrics["sample_id"]
    rows = []
    by_metric: dict[str, Override] = {}
    for override in overrides:
        for metric in override.metrics:
            by_metric[metric] = override
    for metric_id, spec in threshold_set["metrics"].items():
        info = METRICS[metric_id]
        value = metrics["values"].get(metric_id)
        spec_eval = dict(spec)
        if metric_id == "sex_check":
            spec_eval["_declared"] = declared_sex
        status = evaluate(value, spec_eval)
        note = ""
        if metric_id == "sex_check":
            sex = metrics.get("sex", {})
            note = f"declared {declared_sex}; {sex.get('reason', '')}".strip("; ")
        elif metric_id == "contamination_pct" and status == "not_assessable":
            note = metrics.get("contamination", {}).get("reason", "")
        elif value is None:
            note = "cannot be computed on this sample"
        override = by_metric.get(metric_id)
        rows.append(
            {
                "id": metric_id,
                "label": info.label,
                "unit": info.unit,
                "value": value,
                "status": status,
                "threshold": threshold_text(spec, info.unit),
                "limits": {k: spec[k] for k in (*NUMERIC_LIMITS, "mismatch") if k in spec},
                "source": spec.get("source", ""),
                "note": note,
                "override": None if override is None else override.as_dict(),
            }
        )
    failed = [r["id"] for r in rows if r["status"] == "fail"]
    unresolved = [m for m in failed if m not in by_metric]
    warned = [r["id"] for r in rows if r["status"] == "warn"]
    status = "fail" if failed else "warn" if warned else "pass"
    unused = sorted(m for m in by_metric if m not in failed)
    decision: dict[str, Any] = {"decision": status, "failed_checks": failed}
    if failed and not unresolved:  # every failing metric overridden (helgenom.export reads it)
        applied = [by_metric[m] for m in failed]
        decision["override"] = {
            "by": ", ".join(dict.fromkeys(o.who for o in applied)),
            "reason": "; ".join(dict.fromkeys(o.why for o in applied)),
            "at": max(o.when for o in applied),
        }
    return {
        "sample_id": sample,
        **decision,
        "analysis": analysis,
        "analysis_label": threshold_set.get("label", analysis),
        "threshold_set_description": threshold_set.get("description", ""),
        "status": status,
        "failed": failed,
        "warned": warned,
        "overridden": [m for m in failed if m in by_metric],
        "reportable": not unresolved,
        "metrics": rows,
        "overrides": [o.as_dict() for o in overrides],
        "unused_overrides": unused,
        "coverage_scope": metrics.get("coverage", {}).get("scope", ""),
    }


def verdict(gate_result: Mapping[str, Any]) -> str:
    """One line: 'pass', 'pass with warnings (...)', 'fail (...)' or 'fail, overridden (...)'."""
    if gate_result["status"] == "pass":
        return "pass"
    if gate_result["status"] == "warn":
        return f"pass with warnings ({', '.join(gate_result['warned'])})"
    if gate_result["reportable"]:
        return f"fail, overridden ({', '.join(gate_result['overridden'])})"
    return f"fail ({', '.join(gate_result['failed'])})"


def _fmt_value(value: Any) -> Any:
    return "n/a" if value is None else value


def write_gate_mqc(
    gates: Sequence[Mapping[str, Any]],
    threshold_set: Mapping[str, Any],
    analysis: str,
    out: str | Path,
) -> None:
    """A MultiQC custom-content table: per sample each metric's value (coloured by status),
    the gate's verdict, and the thresholds with their sources in the section description."""
    import yaml

    metrics = list(threshold_set["metrics"])
    rows = "".join(
        f"<tr><td>{METRICS[m].label}</td><td>{_html(threshold_text(s, METRICS[m].unit))}</td>"
        f"<td>{_html(s.get('source', ''))}</td></tr>"
        for m, s in threshold_set["metrics"].items()
    )
    description = (
        f"QC gate of each sample against the '{_html(analysis)}' thresholds "
        f"({_html(threshold_set.get('description', ''))}). A failing metric without a recorded "
        "override makes the sample a QC failure (not reported as a clinical result)."
        "<table class='table table-condensed'><tr><th>metric</th><th>threshold</th>"
        f"<th>source</th></tr>{rows}</table>"
    )
    colours = [{"pass": "#5cb85c"}, {"warn": "#f0ad4e"}, {"fail": "#d9534f"}]
    headers: dict[str, Any] = {
        "qc_gate": {
            "title": "QC gate",
            "description": "pass / warn / fail (a fail with a recorded override reads "
            "'fail (override)')",
            "scale": False,
            "cond_formatting_rules": {
                "pass": [{"s_eq": "pass"}],
                "warn": [{"s_eq": "warn"}],
                "fail": [{"s_contains": "fail"}],
            },
            "cond_formatting_colours": colours,
        }
    }
    for metric in metrics:
        spec, info = threshold_set["metrics"][metric], METRICS[metric]
        header: dict[str, Any] = {
            "title": info.label,
            "description": f"{info.description}. Threshold: {threshold_text(spec, info.unit)}",
            "scale": False,
            "cond_formatting_colours": colours,
        }
        if metric == "sex_check":
            header["cond_formatting_rules"] = {
                level: [{"s_contains": f"({level})"}] for level in ("pass", "warn", "fail")
            }
        else:
            header["format"] = "{:,.2f}"
            if info.unit in ("%", "x"):
                header["suffix"] = info.unit
            header["cond_formatting_rules"] = _mqc_rules(spec)
        headers[metric] = header
    data = {}
    for result in gates:
        row: dict[str, Any] = {}
        verdict_text = result["status"]
        if result["status"] == "fail" and result["reportable"]:
            verdict_text = "fail (override)"
        row["qc_gate"] = verdict_text
        for metric in result["metrics"]:
            value = metric["value"]
            if metric["id"] == "sex_check":
                value = f"{_fmt_value(value)} ({metric['status'].replace('_', ' ')})"
            if value is not None:  # no value: an empty cell
                row[metric["id"]] = value
        data[result["sample_id"]] = row
    content = {
        "id": "helgenom_qc_gate",
        "section_name": "QC gate (helgenom)",
        "description": description,
        "plot_type": "table",
        "pconfig": {
            "id": "helgenom_qc_gate_table",
            "title": "helgenom: QC gate",
            "sortRows": False,
        },
        "headers": headers,
        "data": data,
    }
    Path(out).write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True))


def _mqc_rules(spec: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """MultiQC conditional-formatting rules that colour a value as the gate judges it (the last
    matching colour wins: pass < warn < fail)."""
    rules: dict[str, list[dict[str, Any]]] = {"pass": [{"s_ne": ""}], "warn": [], "fail": []}
    for level in ("warn", "fail"):
        if spec.get(f"{level}_below") is not None:
            rules[level].append({"lt": spec[f"{level}_below"]})
        if spec.get(f"{level}_above") is not None:
            rules[level].append({"gt": spec[f"{level}_above"]})
    return {k: v for k, v in rules.items() if v}


def _html(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


# ---- overrides -----------------------------------------------------------------------------
OVERRIDE_COLUMNS = ("sample_id", "metrics", "who", "why", "when")
_WHO = re.compile(r"[A-Za-z][A-Za-z0-9._@-]{1,63}")
_METRIC_SPLIT = re.compile(r"\s*,\s*")


@dataclass(frozen=True)
class Override:
    """An operator's recorded decision to release a sample despite failing metric(s)."""

    sample_id: str
    metrics: tuple[str, ...]
    who: str  # staff user ID / initials (no personal identifier of the patient)
    why: str
    when: str  # ISO 8601 as written
    line: int = field(default=0, compare=False)
    file: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "who": self.who,
            "why": self.why,
            "when": self.when,
            "recorded_in": f"{Path(self.file).name}:{self.line}" if self.file else "",
        }


class OverrideError(ProblemsError):
    """The overrides file is invalid; `problems` lists every problem (file:line: column ...)."""

    subject = "the QC overrides file"


def read_overrides(
    path: str | Path,
    sample_ids: Collection[str],
    metric_ids: Collection[str],
    *,
    now: datetime | None = None,
) -> list[Override]:
    """Read and validate the overrides TSV (sample_id, metrics, who, why, when).

    Every problem is collected (OverrideError) with file, line, column and fix: unknown or
    extra columns, unknown samples or metrics, empty cells, a `who` that is not a staff user
    ID, a too short `why`, a `when` that is not ISO 8601 or lies in the future, the same
    sample and metric twice, and anything that looks like a CPR number (masked, never echoed).
    """
    from helgenom.samplesheet import Problem, looks_like_cpr

    path = Path(path)
    now = now or datetime.now(UTC)
    problems: list[Problem] = []
    cpr_fix = (
        "Overrides must not hold personal identifiers: remove the CPR number; name the sample "
        "by its pseudonymous sample_id and the operator by a staff user ID."
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise OverrideError(
            [Problem(path, None, None, f"cannot be read ({error})", "Give a readable TSV file.")]
        ) from error
    lines = text.splitlines()
    numbered = [
        (n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")
    ]
    if not numbered:
        raise OverrideError(
            [
                Problem(
                    path, None, None, "the file is empty",
                    f"Write a tab-separated header ({', '.join(OVERRIDE_COLUMNS)}) and one row "
                    "per overridden sample.",
                )
            ]
        )  # fmt: skip
    header_line, header_text = numbered[0]
    header = header_text.split("\t")
    if looks_like_cpr(header_text):
        raise OverrideError(
            [Problem(path, header_line, None, "the header holds a CPR-like value", cpr_fix)]
        )
    missing = [c for c in OVERRIDE_COLUMNS if c not in header]
    extra = [c for c in header if c not in OVERRIDE_COLUMNS]
    if missing or extra:
        if missing:
            problems.append(
                Problem(
                    path, header_line, None,
                    f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}",
                    f"Use exactly these tab-separated columns: {', '.join(OVERRIDE_COLUMNS)}.",
                )
            )  # fmt: skip
        if extra:
            problems.append(
                Problem(
                    path, header_line, None,
                    f"unexpected column(s) {', '.join(extra)}",
                    "Remove them: an override records only sample_id, metrics, who, why and "
                    "when (no other, possibly personal, data).",
                )
            )  # fmt: skip
        raise OverrideError(problems)
    seen: dict[tuple[str, str], int] = {}
    overrides = []
    for number, line in numbered[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            problems.append(
                Problem(
                    path, number, None,
                    f"the row has {len(cells)} tab-separated fields but the header has "
                    f"{len(header)}",
                    "Give every row one value per column, separated by single tabs.",
                )
            )  # fmt: skip
            continue
        row = dict(zip(header, cells, strict=True))
        bad = False
        for column in OVERRIDE_COLUMNS:
            if looks_like_cpr(row[column]):
                problems.append(
                    Problem(path, number, column, "the value looks like a CPR number", cpr_fix)
                )
                bad = True
            elif not row[column].strip():
                problems.append(
                    Problem(path, number, column, "the value is empty", _OVERRIDE_FIX[column])
                )
                bad = True
        if bad:
            continue
        sample = row["sample_id"].strip()
        if sample not in sample_ids:
            problems.append(
                Problem(
                    path, number, "sample_id",
                    f"sample {sample!r} is not in the sample sheet",
                    "Use the sample_id of a sample of this run (IDs are case-sensitive).",
                )
            )  # fmt: skip
        metrics = tuple(m for m in _METRIC_SPLIT.split(row["metrics"].strip()) if m)
        unknown = [m for m in metrics if m not in metric_ids]
        if unknown:
            problems.append(
                Problem(
                    path, number, "metrics",
                    f"unknown metric(s) {', '.join(map(repr, unknown))}",
                    f"Name gated metrics, comma-separated: {', '.join(metric_ids)}.",
                )
            )  # fmt: skip
        for metric in metrics:
            key = (sample, metric)
            if key in seen:
                problems.append(
                    Problem(
                        path, number, "metrics",
                        f"metric {metric!r} of sample {sample!r} is already overridden on line "
                        f"{seen[key]}",
                        "Keep one override per sample and metric (edit the first one).",
                    )
                )  # fmt: skip
            seen.setdefault(key, number)
        who = row["who"].strip()
        if not _WHO.fullmatch(who):
            problems.append(
                Problem(
                    path, number, "who", f"{who!r} is not a staff user ID", _OVERRIDE_FIX["who"]
                )
            )
        why = row["why"].strip()
        if len(why) < 10:
            problems.append(
                Problem(
                    path, number, "why", "the reason is too short (under 10 characters)",
                    _OVERRIDE_FIX["why"],
                )
            )  # fmt: skip
        when = row["when"].strip()
        try:
            stamp = datetime.fromisoformat(when)
        except ValueError:
            problems.append(
                Problem(path, number, "when", f"{when!r} is not an ISO 8601 date or date-time",
                        _OVERRIDE_FIX["when"])
            )  # fmt: skip
        else:
            aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            if aware > now + timedelta(days=1):
                problems.append(
                    Problem(path, number, "when", f"{when} lies in the future",
                            _OVERRIDE_FIX["when"])
                )  # fmt: skip
        overrides.append(Override(sample, metrics, who, why, when, number, str(path)))
    if problems:
        raise OverrideError(problems)
    return overrides


_OVERRIDE_FIX = {
    "sample_id": "Give the pseudonymous sample_id of the overridden sample.",
    "metrics": "Name the overridden metric(s), comma-separated (e.g. mean_coverage,pct_ge_20x).",
    "who": "Give the staff user ID (or initials) of the person taking responsibility: letters, "
    "digits, '.', '_', '-', '@', 2-64 characters, starting with a letter.",
    "why": "Write why the sample is released despite the failing metric (at least 10 "
    "characters, no personal identifiers).",
    "when": "Write when the decision was taken as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM].",
}


def overrides_for(overrides: Iterable[Override], sample_id: str) -> list[Override]:
    return [o for o in overrides if o.sample_id == sample_id]


# ---- startup checks (before any job) -------------------------------------------------------
def check_qc_config(
    config: Mapping[str, Any],
    sample_ids: Collection[str],
    config_files: Sequence[str | Path] = (),
) -> list[Override]:
    """The analysis names a threshold set, the coverage BED and the overrides file are valid.

    Raises helgenom.config.ConfigError (config keys, with file:line) or OverrideError; returns
    the overrides.
    """
    from helgenom.config import ConfigError, _dotted, _locate

    files = [Path(f) for f in config_files]
    qc = config.get("qc", {})
    problems = []
    analysis = qc.get("analysis")
    sets = qc.get("thresholds", {})
    if analysis not in sets:
        key = ("qc", "analysis")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}': no threshold set {analysis!r} under "
            f"qc.thresholds (there: {', '.join(sets) or 'none'}). Fix: name one of them or add "
            "the set."
        )
    for key_name in ("coverage_regions", "overrides"):
        value = qc.get(key_name)
        key = ("qc", key_name)
        if value is not None and not Path(value).is_file():
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': file {value} does not exist. Fix: give "
                "the path of the file (relative to the run directory or absolute), or remove "
                "the key."
            )
    if qc.get("coverage_regions") and Path(qc["coverage_regions"]).is_file():
        try:
            if not read_bed_intervals(qc["coverage_regions"]):
                raise ValueError(f"{qc['coverage_regions']}: holds no interval")
        except ValueError as error:
            key = ("qc", "coverage_regions")
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': {error}. Fix: give a BED file of "
                "the regions the coverage is computed over."
            )
    if problems:
        raise ConfigError(problems)
    if qc.get("overrides"):
        return read_overrides(qc["overrides"], sample_ids, list(sets[analysis]["metrics"]))
    return []


def write_json(data: Any, out: str | Path) -> None:
    Path(out).write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())
