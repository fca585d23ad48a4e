"""End to end on the synthetic demo data: the README quick start, checked against its truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helgenom.demo import DEFAULT_SAMPLES, demo_paths
from helgenom.truth import compare

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "helgenom.cli", "demo", "--directory", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return run_dir, proc.stdout


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_calls_match_planted_truth(demo_run: tuple[Path, str], sample: str) -> None:
    run_dir, _ = demo_run
    data = demo_paths(run_dir / "demo")
    result = compare(
        run_dir / "results" / "vcf" / f"{sample}.vcf.gz",
        data.truth[sample],
        data.reference,
        data.confident_bed,
    )
    for kind in ("snp", "indel"):
        counts = result.counts[kind]
        assert counts.tp > 15, (kind, counts)
        assert counts.recall >= 0.98, (kind, result.false_negatives)
        assert counts.precision >= 0.98, (kind, result.false_positives)
    total = result.total()
    assert total.genotype_match >= 0.98 * total.tp, result.genotype_mismatches


def test_demo_merges_two_lanes_and_reports(demo_run: tuple[Path, str]) -> None:
    run_dir, stdout = demo_run
    header = subprocess.run(
        ["samtools", "view", "-H", str(run_dir / "results" / "cram" / "DEMO001.cram")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert header.count("@RG\t") == 2  # both lanes merged before duplicate marking
    assert "calls compared with the planted truth" in stdout
    assert (run_dir / "results" / "qc" / "multiqc" / "multiqc_report.html").exists()
