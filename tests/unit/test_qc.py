from __future__ import annotations

from pathlib import Path

import pytest

from helgenom.qc.coverage import write_coverage_mqc
from helgenom.qc.parsers import read_mosdepth


def _mosdepth_files(tmp_path: Path) -> tuple[Path, Path]:
    summary = tmp_path / "s.mosdepth.summary.txt"
    summary.write_text(
        "chrom\tlength\tbases\tmean\tmin\tmax\n"
        "c1\t100\t3000\t30.00\t0\t40\n"
        "total\t100\t3000\t30.00\t0\t40\n"
    )
    dist = tmp_path / "s.mosdepth.global.dist.txt"
    rows = [(40, 0.0), (35, 0.1), (31, 0.45), (30, 0.6), (20, 0.96), (10, 0.99), (0, 1.0)]
    dist.write_text(
        "".join(f"c1\t{d}\t{f}\n" for d, f in rows) + "".join(f"total\t{d}\t{f}\n" for d, f in rows)
    )
    return summary, dist


def test_read_mosdepth(tmp_path: Path) -> None:
    summary, dist = _mosdepth_files(tmp_path)
    cov = read_mosdepth(summary, dist, [10, 20, 30, 50])
    assert cov.mean == 30.0
    assert cov.median == 30  # the deepest depth still reached by half of the bases
    assert cov.fraction_at_least == {10: 0.99, 20: 0.96, 30: 0.6, 50: 0.0}


def test_read_mosdepth_without_total(tmp_path: Path) -> None:
    summary, dist = _mosdepth_files(tmp_path)
    summary.write_text("chrom\tlength\tbases\tmean\tmin\tmax\n")
    with pytest.raises(ValueError, match="no 'total' row"):
        read_mosdepth(summary, dist, [10])


def test_coverage_mqc_table(tmp_path: Path) -> None:
    summary, dist = _mosdepth_files(tmp_path)
    out = tmp_path / "coverage_mqc.tsv"
    write_coverage_mqc({"S1": read_mosdepth(summary, dist, [10, 20, 30])}, out)
    lines = out.read_text().splitlines()
    assert lines[-2] == "Sample\tmean_coverage\tmedian_coverage\tpct_ge_10x\tpct_ge_20x\tpct_ge_30x"
    assert lines[-1] == "S1\t30.00\t30\t99.00\t96.00\t60.00"
    assert any(line.startswith("# plot_type: 'table'") for line in lines)
