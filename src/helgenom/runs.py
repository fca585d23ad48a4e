"""Setting up and starting workflow runs: run directories and the Snakemake command line.

Used by the `helgenom` command, the tests and the benchmarks, so all start Snakemake alike.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from helgenom.paths import workflow_dir
from helgenom.rundir import LEASE_ENV, LEASE_INSPECT_ENV
from helgenom.snakemake_api import LoadedWorkflow, open_workflow

REPO = workflow_dir()

GIAB_SAMPLE = "NA12878"
GIAB_UNIT = "C0D8DACXX.1"


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


# Calling chunks of the small runs write_run_dir makes (test data, the GIAB slice).
SMALL_DATA_CHUNKS = 4


def write_run_dir(
    run_dir: Path,
    *,
    samples: Sequence[Mapping[str, str]],
    units: Sequence[Mapping[str, str]],
    reference: Path,
    build: str,
    extra_config: Mapping[str, Any] | None = None,
) -> Path:
    """A run directory with samples.tsv, units.tsv and config.yaml; returns the config path.

    Made for small data (tests, benchmarks): calling is scattered over SMALL_DATA_CHUNKS
    chunks unless `extra_config` says otherwise (config.yaml's 32 suit a 30x genome)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("samples.tsv", samples), ("units.tsv", units)):
        header = list(rows[0])
        lines = ["\t".join(header)] + ["\t".join(r[h] for h in header) for r in rows]
        (run_dir / name).write_text("\n".join(lines) + "\n")
    config: dict[str, Any] = {
        "samples": "samples.tsv",
        "units": "units.tsv",
        "reference": {"fasta": str(reference), "build": build, "prep_dir": "reference"},
        "calling": {"chunks": SMALL_DATA_CHUNKS},
    }
    for key, value in (extra_config or {}).items():
        if isinstance(value, Mapping):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_giab_run_dir(
    run_dir: Path,
    giab: Path,
    *,
    priority: str = "acute",
    extra_config: Mapping[str, Any] | None = None,
) -> Path:
    """A run of the GIAB NA12878 reads on the 1.1 Mb chr20 slice (../shared/testdata)."""
    reads = giab / "reads"
    write_run_dir(
        run_dir,
        samples=[{
            "sample_id": GIAB_SAMPLE, "sex": "female", "priority": priority,
            "indication": "validation: GIAB reference material",
        }],
        units=[{
            "sample_id": GIAB_SAMPLE, "unit_id": GIAB_UNIT,
            "fq1": str(reads / "NA12878_chr20_10mb_R1.fastq.gz"),
            "fq2": str(reads / "NA12878_chr20_10mb_R2.fastq.gz"),
            "platform": "ILLUMINA", "library": "NA12878-PG",
        }],
        reference=giab / "slice" / "chr20_9995001_11095000.fa",
        build="giab-slice",
        extra_config=extra_config,
    )  # fmt: skip
    return run_dir


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
