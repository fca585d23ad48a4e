#!/usr/bin/env python3
"""Fit helgenom's cost model on fresh measured runs and write it as the package's model
(src/helgenom/capacity/fitted_model.json), which `helgenom capacity`, helgenom.resources
and `calling.chunks: auto` use.

Runs the whole workflow (profiles/local, calling mode and settings of config.yaml, 4 chunks)
on samples that span an order of magnitude of bases sequenced, so that each rule's fixed cost
per job and its cost per base can be told apart:

  giab   the GIAB NA12878 slice: real reads (25,839 pairs, 2 x 101 bp, 5.2 Mb) on the 1.1 Mb
         chr20 slice (../shared/testdata or $HELGENOM_TESTDATA; skipped without it);
  demo   the synthetic demo data (helgenom.demo) on a 1 Mb genome at 15x and at 60x: four
         samples of 15 to 120 Mb, one or two units each;
  demo4  the same on a 4 Mb genome at 15x (two samples of 60 and 120 Mb), so that the rules
         whose cost grows with the reference's length are measured at two lengths.

Then prints `helgenom capacity` on these runs. Takes ~10 minutes on 2 cores.

    .venv/bin/python scripts/calibrate_capacity.py [--workdir DIR] [--write-model PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from helgenom.cli import main as helgenom
from helgenom.demo import DEFAULT_SAMPLES, generate_demo
from helgenom.runs import snakemake_command
from helgenom.testing import write_giab_run_dir, write_run_dir

REPO = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("HELGENOM_TESTDATA", REPO.parent / "shared" / "testdata"))
GIAB = TESTDATA / "giab-na12878-chr20"
MODEL = REPO / "src" / "helgenom" / "capacity" / "fitted_model.json"


def demo_run(run_dir: Path, genome_length: int, depths: tuple[int, ...]) -> Path:
    """One run of the demo's samples at each depth of `depths` (same seed: one genome)."""
    samples, units = [], []
    reference = None
    for depth in depths:
        data = generate_demo(run_dir / f"data{depth}x", genome_length=genome_length, coverage=depth)
        reference = data.reference
        for s in DEFAULT_SAMPLES:
            sample_id = f"{s.sample_id}X{depth}"
            samples.append(
                {"sample_id": sample_id, "sex": s.sex, "priority": "routine", "indication": "x"}
            )
            for u in range(1, s.units + 1):
                fq = data.outdir / "fastq" / f"{s.sample_id}_HDEMOXX1.{u}"
                units.append(
                    {
                        "sample_id": sample_id,
                        "unit_id": f"HDEMOXX1.{u}",
                        "platform": "ILLUMINA",
                        "library": f"{sample_id}-L",
                        "fq1": f"{fq}_R1.fastq.gz",
                        "fq2": f"{fq}_R2.fastq.gz",
                    }
                )
    assert reference is not None
    build = f"demo{genome_length // 1000}kb"
    write_run_dir(run_dir, samples=samples, units=units, reference=reference, build=build)
    return run_dir


def run(run_dir: Path, cores: int) -> None:
    print(f"calibrate: running the workflow in {run_dir}", file=sys.stderr)
    subprocess.run(snakemake_command(run_dir, "--quiet", "rules", cores=cores), check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep the runs here (default: a temp dir)")
    parser.add_argument("--write-model", type=Path, default=MODEL, help="default: %(default)s")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="helgenom-calibrate-") as tmp:
        work = args.workdir or Path(tmp)
        runs = [
            demo_run(work / "demo", 1_000_000, (15, 60)),
            demo_run(work / "demo4", 4_000_000, (15,)),
        ]
        if GIAB.is_dir():
            runs.append(write_giab_run_dir(work / "giab", GIAB, priority="routine"))
        else:
            print(f"calibrate: {GIAB} not found: GIAB left out", file=sys.stderr)
        for run_dir in runs:
            if not (run_dir / "results" / "qc" / "multiqc").is_dir():  # --workdir: done before
                run(run_dir, args.cores)
        return helgenom(["capacity", *map(str, runs), "--write-model", str(args.write_model)])


if __name__ == "__main__":
    sys.exit(main())
