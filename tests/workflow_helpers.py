"""Helpers for tests that load or run the Snakemake workflow."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from helgenom.runs import REPO, load_workflow, snakemake_command, write_run_dir

__all__ = ["REPO", "load_workflow_rules", "snakemake", "write_demo_run", "write_run_dir"]


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


def write_demo_run(
    run_dir: Path,
    *,
    priority: str = "routine",
    genome_length: int = 40_000,
    coverage: float = 2,
    extra_config: dict[str, Any] | None = None,
    indication: str = "x",
) -> Path:
    """A run directory with one sample S1 (one lane of DEMO001) on a small synthetic genome
    (helgenom.demo in run_dir/demo); returns run_dir. With the indication "demo: synthetic
    genome" (and the default demo genome length, 250 kb) the sample gets a clinical report."""
    from helgenom.demo import generate_demo

    data = generate_demo(run_dir / "demo", genome_length=genome_length, coverage=coverage)
    fq = data.outdir / "fastq"
    write_run_dir(
        run_dir,
        samples=[{"sample_id": "S1", "sex": "female", "priority": priority,
                  "indication": indication}],
        units=[{"sample_id": "S1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L1",
                "fq1": str(fq / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
                "fq2": str(fq / "DEMO001_HDEMOXX1.1_R2.fastq.gz")}],
        reference=data.reference,
        build="demo",
        extra_config=extra_config,
    )  # fmt: skip
    return run_dir
