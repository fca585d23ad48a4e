"""Helpers for tests that load or run the Snakemake workflow."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_run_dir(
    run_dir: Path,
    *,
    samples: list[dict[str, str]],
    units: list[dict[str, str]],
    reference: Path,
    build: str,
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """A run directory with samples.tsv, units.tsv and config.yaml; returns the config path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("samples.tsv", samples), ("units.tsv", units)):
        header = list(rows[0])
        lines = ["\t".join(header)] + ["\t".join(r[h] for h in header) for r in rows]
        (run_dir / name).write_text("\n".join(lines) + "\n")
    config: dict[str, Any] = {
        "samples": "samples.tsv",
        "units": "units.tsv",
        "reference": {"fasta": str(reference), "build": build, "prep_dir": "reference"},
    }
    for key, value in (extra_config or {}).items():
        if isinstance(value, dict):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    run_dir: Path, *args: str, cores: int = 2, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run the workflow in `run_dir` with the local profile."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--profile",
        str(REPO / "profiles" / "local"),
        "--directory",
        str(run_dir),
        "--cores",
        str(cores),
        *args,
    ]
    proc = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}) in {run_dir}:\n{proc.stdout[-5000:]}\n"
            f"{proc.stderr[-5000:]}"
        )
    return proc


@contextmanager
def chdir(path: Path):  # noqa: ANN201
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_workflow_rules(run_dir: Path) -> list[Any]:
    """The workflow's Rule objects, loaded through Snakemake's API in `run_dir`."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with chdir(run_dir), SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=2),
            config_settings=ConfigSettings(),
            snakefile=REPO / "Snakefile",
            workdir=run_dir,
        )
        return list(workflow_api._workflow.rules)
