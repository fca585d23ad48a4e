"""Run directories for tests and benchmarks (like numpy.testing: part of the package, used
by tests/ and scripts/benchmark_*.py, never by a clinical run).

write_run_dir makes a run directory of small data (samples.tsv, units.tsv, config.yaml);
write_giab_run_dir one of the GIAB NA12878 reads on the 1.1 Mb chr20 slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

GIAB_SAMPLE = "NA12878"
GIAB_UNIT = "C0D8DACXX.1"

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
