"""Coverage of a gene panel from mosdepth's quantized output.

The mosdepth rule writes `<sample>.quantized.bed.gz` (bgzipped, indexed): the whole genome cut
into runs of the depth bins 0, 1..min_depth-1 and >= min_depth (``--quantize 0:1:<min>:``).
Per gene, the bases at or above the minimum depth are the panel bases in the top bin, and the
under-covered intervals are the merged runs of the lower bins inside the gene's intervals.
These are mosdepth's own counts (the same reads, flags and counting as the QC's coverage).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helgenom.report.panels import PanelInterval

BIN_NAMES = ("NO_COVERAGE", "LOW_COVERAGE", "CALLABLE")


def quantize_spec(min_depth: int) -> str:
    """mosdepth --quantize for the bins 0, 1..min_depth-1, >= min_depth."""
    return f"0:1:{min_depth}:" if min_depth > 1 else "0:1:"


def quantize_env() -> str:
    """Shell environment naming the bins in the quantized output."""
    return " ".join(f"MOSDEPTH_Q{i}={name}" for i, name in enumerate(BIN_NAMES))


@dataclass
class Gap:
    contig: str
    start: int  # 0-based half-open
    end: int
    zero_bases: int  # bases without any read

    def as_dict(self) -> dict[str, Any]:
        return {
            "contig": self.contig,
            "start": self.start,
            "end": self.end,
            "length": self.end - self.start,
            "zero_coverage_bases": self.zero_bases,
        }


@dataclass
class GeneCoverage:
    gene: str
    intervals: list[tuple[str, int, int]] = field(default_factory=list)
    length: int = 0
    covered: int = 0  # bases >= min_depth
    gaps: list[Gap] = field(default_factory=list)

    @property
    def pct_covered(self) -> float:
        return round(100 * self.covered / self.length, 2) if self.length else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "gene": self.gene,
            "intervals": len(self.intervals),
            "length": self.length,
            "bases_at_min_depth": self.covered,
            "pct_at_min_depth": self.pct_covered,
            "under_covered": [g.as_dict() for g in self.gaps],
        }


def _merge(intervals: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    merged: list[tuple[str, int, int]] = []
    for contig, start, end in sorted(intervals):
        if merged and merged[-1][0] == contig and start <= merged[-1][2]:
            merged[-1] = (contig, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((contig, start, end))
    return merged


def panel_coverage(
    intervals: Sequence[PanelInterval], quantized_bed: str | Path
) -> list[GeneCoverage]:
    """Per gene (in panel order): bases at >= min depth and the merged under-covered runs."""
    import pysam

    genes: dict[str, GeneCoverage] = {}
    for interval in intervals:
        genes.setdefault(interval.gene, GeneCoverage(interval.gene)).intervals.append(
            (interval.contig, interval.start, interval.end)
        )
    csi = Path(f"{quantized_bed}.csi")  # mosdepth indexes with CSI
    index = str(csi) if csi.exists() else None
    with pysam.TabixFile(str(quantized_bed), index=index) as tabix:
        contigs = set(tabix.contigs)
        for gene in genes.values():
            gene.intervals = _merge(gene.intervals)
            for contig, start, end in gene.intervals:
                gene.length += end - start
                runs = []
                if contig in contigs:
                    for line in tabix.fetch(contig, start, end):
                        fields = line.split("\t")
                        s, e = max(int(fields[1]), start), min(int(fields[2]), end)
                        if s < e:
                            runs.append((s, e, fields[3]))
                covered_runs = sum(e - s for s, e, name in runs if name == BIN_NAMES[2])
                gene.covered += covered_runs
                # bases the quantized output does not cover count as zero coverage
                low = [(s, e, name) for s, e, name in runs if name != BIN_NAMES[2]]
                low += _uncovered_by(runs, start, end)
                for s, e, name in sorted(low):
                    zero = e - s if name == BIN_NAMES[0] else 0
                    last = gene.gaps[-1] if gene.gaps else None
                    if last and last.contig == contig and last.end == s:
                        last.end, last.zero_bases = e, last.zero_bases + zero
                    else:
                        gene.gaps.append(Gap(contig, s, e, zero))
    return list(genes.values())


def _uncovered_by(
    runs: Sequence[tuple[int, int, str]], start: int, end: int
) -> list[tuple[int, int, str]]:
    """Parts of [start, end) no quantized run covers (e.g. a contig without reads)."""
    out = []
    position = start
    for s, e, _ in sorted(runs):
        if s > position:
            out.append((position, s, BIN_NAMES[0]))
        position = max(position, e)
    if position < end:
        out.append((position, end, BIN_NAMES[0]))
    return out


def panel_totals(genes: Sequence[GeneCoverage]) -> dict[str, Any]:
    length = sum(g.length for g in genes)
    covered = sum(g.covered for g in genes)
    return {
        "genes": len(genes),
        "length": length,
        "bases_at_min_depth": covered,
        "pct_at_min_depth": round(100 * covered / length, 2) if length else 0.0,
        "genes_fully_covered": sum(1 for g in genes if g.covered == g.length),
    }
