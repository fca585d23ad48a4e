"""The operator view (helgenom.status) in-process, on a run that has not started."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from helgenom.status import format_status, run_status
from workflow_helpers import write_demo_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_run(tmp_path_factory.mktemp("status"), priority="acute")


def test_status_of_a_run_not_started(run_dir: Path) -> None:
    cwd = Path.cwd()
    now = datetime.now(UTC)
    (row,) = run_status(run_dir, now=now)
    assert Path.cwd() == cwd  # the workflow is loaded in the run directory, then left
    assert (row.sample_id, row.priority, row.jobs_done) == ("S1", "acute", 0)
    assert row.jobs_total > 0 and row.remaining.total_seconds() > 0
    assert row.deadline is not None and row.slack == row.deadline - now - row.remaining
    assert "S1" in format_status([row])


def test_status_reads_extra_configfiles_relative_to_the_caller(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "more-chunks.yaml").write_text(yaml.safe_dump({"calling": {"chunks": 6}}))
    monkeypatch.chdir(tmp_path)
    (default,) = run_status(run_dir)
    (more,) = run_status(run_dir, ["more-chunks.yaml"])
    assert more.jobs_total == default.jobs_total + 2  # 6 call_chunk jobs instead of 4
