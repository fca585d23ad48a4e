"""Starting workflow runs: the Snakemake command line of a run directory, and the workflow
of a run directory loaded to be looked at (helgenom.snakemake_api).

Used by the `helgenom` command, the tests and the benchmarks, so all start Snakemake alike.
Run directories of test data are made by helgenom.testing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from helgenom.paths import workflow_dir
from helgenom.rundir import LEASE_ENV, LEASE_INSPECT_ENV
from helgenom.snakemake_api import LoadedWorkflow, open_workflow

REPO = workflow_dir()


def snakemake_command(
    run_dir: str | Path,
    *extra: str,
    cores: int | None = 2,
    profile: str | Path = "profiles/local",
) -> list[str]:
    """The Snakemake command line for a run in `run_dir` with a profile of this repository.

    `cores` limits local runs; pass None for a cluster profile (there --cores would also cap
    every job's threads).
    """
    return [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--profile", str(REPO / profile),
        "--directory", str(run_dir),
        *(["--cores", str(cores)] if cores is not None else []),
        *extra,
    ]  # fmt: skip


@contextlib.contextmanager
def load_workflow(
    run_dir: str | Path,
    configfiles: Sequence[str | Path] = (),
    *,
    config: Mapping[str, Any] | None = None,
    cores: int = 1,
) -> Iterator[LoadedWorkflow]:
    """The workflow of a run in `run_dir`, loaded (not run) to be looked at: its rules, its
    DAG, the globals of its Snakefile (helgenom.snakemake_api).

    `configfiles` (relative to the current directory) and `config` are added to the run's
    config.yaml as --configfile/--config would. While the context is open the working
    directory is `run_dir`, so the workflow's relative paths (results, benchmark files)
    resolve there; it is restored on exit. No site lease is taken or checked.
    """
    run_dir = Path(run_dir).resolve()
    saved = {name: os.environ.get(name) for name in (LEASE_ENV, LEASE_INSPECT_ENV)}
    os.environ[LEASE_INSPECT_ENV] = "1"  # looking, not running: no site lease is taken
    try:
        with open_workflow(
            REPO / "Snakefile",
            run_dir,
            configfiles=[Path(c).resolve() for c in configfiles],
            config=config,
            cores=cores,
        ) as workflow:
            yield workflow
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
