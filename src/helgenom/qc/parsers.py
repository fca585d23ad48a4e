"""Readers of the QC tools' text outputs: samtools flagstat, markdup (-f) and stats, mosdepth
(summary, global distribution, --by/--thresholds) and bcftools stats (-s -).

Each reader raises ValueError naming the file when it is not the output it expects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# ---- mosdepth ------------------------------------------------------------------------------


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
