"""The coverage regions (what the gate's coverage metrics are computed over), the reference's
non-N lengths, BED helpers, and the MultiQC table of the genome-wide coverage.

The regions are the configured BED (`qc.coverage_regions`, sorted and merged) or else the
non-N bases of the autosomes (of every contig but the mitochondrial one when the reference has
no human autosome names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from helgenom.fileio import write_mqc_table
from helgenom.qc.parsers import CoverageSummary

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
    exclude: Iterable[str] = (),
) -> str:
    """Write the regions the gate's coverage is computed over, and non-N length per contig.

    The regions are `configured_bed` (sorted and merged) when given; otherwise the non-N
    bases of the autosomes (chr1-22 / 1-22; so male X/Y dosage does not depress the figures),
    or of every contig but those in `exclude` (the mitochondrial contig, with its far higher
    depth) when the reference has no human autosome names. Returns a description of the
    regions for the report.
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
        excluded = set(exclude)
        chosen = autosomes(names) or [n for n in names if n not in excluded]
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


# ---- the MultiQC coverage table ------------------------------------------------------------
def write_coverage_mqc(summaries: dict[str, CoverageSummary], out: str | Path) -> None:
    """A MultiQC custom-content table (one row per sample) of the coverage summary."""
    thresholds = sorted({t for s in summaries.values() for t in s.fraction_at_least})
    write_mqc_table(
        out,
        table_id="helgenom_coverage",
        section_name="Coverage (helgenom)",
        description="Genome-wide coverage from mosdepth: mean, median and % of bases at or "
        "above each depth.",
        columns=["Sample", "mean_coverage", "median_coverage"]
        + [f"pct_ge_{t}x" for t in thresholds],
        rows=(
            [sample, f"{s.mean:.2f}", s.median]
            + [f"{100 * s.fraction_at_least[t]:.2f}" for t in thresholds]
            for sample, s in summaries.items()
        ),
    )
