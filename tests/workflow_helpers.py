"""Helpers for tests that load or run the Snakemake workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from helgenom.runs import REPO, load_workflow, snakemake_command
from helgenom.testing import GIAB_SAMPLE, write_run_dir

__all__ = [
    "GIAB_CHUNKS",
    "REPO",
    "copy_run",
    "export_results",
    "giab_validation",
    "load_workflow_rules",
    "shared_run",
    "snakemake",
    "write_demo_run",
    "write_run_dir",
]


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
    with load_workflow(run_dir, config=config, cores=2) as workflow:
        return workflow.rules


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


# ---- run directories shared by a test session (fixtures in tests/conftest.py) --------------

# 24 chunks of ~46 kb: chunk boundaries fall inside the 100 kb covered by reads.
GIAB_CHUNKS = 24


def _session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every xdist worker of this test session (the session's own base
    temp folder when not parallel)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """The run directory `name`, built once per test session by `build(run_dir)` (the first
    worker that asks builds it, the others wait for it). A build that failed is not retried:
    every test that needs it fails with the first failure's message."""
    root = _session_dir(tmp_path_factory) / "shared-runs"
    root.mkdir(exist_ok=True)
    run_dir, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with FileLock(root / f"{name}.lock"):
        if failed.exists():
            pytest.fail(f"shared run {name} failed earlier in this session:\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir()
            try:
                build(run_dir)
            except BaseException as error:
                failed.write_text(f"{type(error).__name__}: {error}"[-20000:])
                raise
            done.touch()
    return run_dir


def copy_run(run_dir: Path, dest: Path) -> Path:
    """A copy of a finished run directory (outputs, config, Snakemake's records, time stamps
    kept) for a test that changes or reruns it; the shared original stays as it was."""
    shutil.copytree(run_dir, dest, symlinks=True)
    return dest


def giab_validation(giab: Path) -> dict[str, Any]:
    """The config that validates the GIAB run against the slice's truth set."""
    return {
        "validation": {
            GIAB_SAMPLE: {
                "truth_vcf": str(giab / "slice" / "truth_shifted.vcf.gz"),
                "confident_bed": str(giab / "slice" / "confident_shifted.bed"),
            }
        }
    }


def export_results(tmp: Path, sample: str = "S1", gvcf: bool = True) -> Path:
    """A results/ folder in `tmp` with the files the export step picks up for `sample` (and
    some it must leave out: the run's MultiQC report, another sample's CRAM)."""
    results = tmp / "results"
    paths = [
        f"cram/{sample}.cram", f"cram/{sample}.cram.crai",
        f"vcf/{sample}.vcf.gz", f"vcf/{sample}.vcf.gz.tbi",
        f"qc/samtools/{sample}.stats.txt", f"qc/mosdepth/{sample}.mosdepth.summary.txt",
        f"qc/fastp/{sample}/{sample}_HVKJ2DSX3.1.fastp.json",
        f"report/{sample}.html", f"report/{sample}.fhir.json",
        "qc/multiqc/multiqc_report.html", "cram/OTHER.cram",
    ]  # fmt: skip
    if gvcf:
        paths += [f"gvcf/{sample}.g.vcf.gz", f"gvcf/{sample}.g.vcf.gz.tbi"]
    for path in paths:
        (results / path).parent.mkdir(parents=True, exist_ok=True)
        (results / path).write_text(f"content of {path}\n")
    return results
