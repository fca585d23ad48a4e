"""QC metric parsing: coverage summaries from mosdepth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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
