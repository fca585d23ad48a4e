"""Clinical priority in a real local run: the clinical scheduler and the operator view."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helgenom.demo import generate_demo
from workflow_helpers import REPO, snakemake, write_run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two samples from the demo generator: a routine one received 27 days ago, an acute one."""
    run_dir = tmp_path_factory.mktemp("priority")
    data = generate_demo(run_dir / "demo", genome_length=60_000, coverage=8)
    fq = data.outdir / "fastq"
    received = (datetime.now(UTC) - timedelta(days=27, hours=12)).isoformat(timespec="seconds")
    write_run_dir(
        run_dir,
        samples=[
            {"sample_id": "ROUT1", "sex": "male", "priority": "routine", "indication": "x",
             "received": received},
            {"sample_id": "ACUTE1", "sex": "female", "priority": "acute", "indication": "x",
             "received": ""},
        ],
        units=[
            {"sample_id": "ROUT1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L1",
             "fq1": str(fq / "DEMO002_HDEMOXX1.1_R1.fastq.gz"),
             "fq2": str(fq / "DEMO002_HDEMOXX1.1_R2.fastq.gz")},
            {"sample_id": "ACUTE1", "sex": "female", "unit_id": "FC1.1", "platform": "ILLUMINA",
             "library": "L2", "fq1": str(fq / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
             "fq2": str(fq / "DEMO001_HDEMOXX1.1_R2.fastq.gz")},
        ],
        reference=data.reference,
        build="demo",
    )  # fmt: skip
    return run_dir


def _status(run_dir: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "helgenom", "status", "--directory",
                           str(run_dir)], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _job_samples_in_start_order(log: str) -> list[str]:
    """The sample of every started job, in the order Snakemake started them."""
    order, sample = [], None
    for line in log.splitlines():
        if re.match(r"^(local)?rule \w+:", line.strip()):
            if sample:
                order.append(sample)
            sample = "-"
        match = re.search(r"wildcards: .*sample=([\w.-]+)", line)
        if match and sample == "-":
            sample = match.group(1)
    if sample:
        order.append(sample)
    return [s for s in order if s != "-"]


def test_status_before_the_run_flags_the_late_routine_sample(run_dir: Path) -> None:
    out = _status(run_dir)
    rows = {
        line.split()[0]: line for line in out.splitlines() if line.startswith(("ROUT1", "ACUTE1"))
    }
    assert " 0/" in rows["ROUT1"] and "AT RISK" in rows["ROUT1"]
    assert "routine" in rows["ROUT1"] and "acute" in rows["ACUTE1"]
    assert "on track" in rows["ACUTE1"]
    assert "At risk of missing the deadline: ROUT1" in out
    # The routine sample's deadline is closer than the acute one's: it is listed first.
    assert out.index("ROUT1") < out.index("ACUTE1")


def test_clinical_scheduler_serves_least_slack_first_then_status_shows_done(
    run_dir: Path,
) -> None:
    proc = snakemake(run_dir, "--workflow-profile", str(REPO / "profiles" / "clinical-priority"),
                     cores=1)  # fmt: skip
    assert "clinical scheduler failed" not in proc.stdout + proc.stderr
    order = _job_samples_in_start_order(proc.stdout + proc.stderr)
    assert set(order) == {"ROUT1", "ACUTE1"}
    # The routine sample has 1.5 days left of its 28, the acute one ~5 days: routine first.
    last_routine = max(i for i, s in enumerate(order) if s == "ROUT1")
    first_acute = min(i for i, s in enumerate(order) if s == "ACUTE1")
    assert last_routine < first_acute, order
    out = _status(run_dir)
    assert out.count(" done") == 2 and "At risk" not in out
