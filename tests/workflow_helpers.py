"""Helpers for tests that load or run the Snakemake workflow."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from helgenom.runs import REPO, load_workflow, snakemake_command, write_run_dir

__all__ = ["REPO", "load_workflow_rules", "snakemake", "write_run_dir"]


def snakemake(
    run_dir: Path, *args: str, cores: int = 2, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run the workflow in `run_dir` with the local profile."""
    cmd = snakemake_command(run_dir, *args, cores=cores)
    proc = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}) in {run_dir}:\n{proc.stdout[-5000:]}\n"
            f"{proc.stderr[-5000:]}"
        )
    return proc


def load_workflow_rules(run_dir: Path, config: dict[str, Any] | None = None) -> list[Any]:
    """The workflow's Rule objects, loaded through Snakemake's API in `run_dir`."""
    with load_workflow(run_dir, config=config, cores=2) as workflow_api:
        return list(workflow_api._workflow.rules)
