#!/usr/bin/env python3
"""Benchmark: Snakemake job selection at scale, greedy vs ILP vs the clinical scheduler.

Runs a synthetic DAG shaped like helgenom's (33 trivial jobs per sample: 4 units x trim +
align, merge, markdup, 20 calling chunks, gather, 2 QC steps, report) for N samples (every
fifth one acute, the rest routine) with each scheduler on the same cores, and prints wall
seconds and jobs per second. Target: the clinical scheduler within 1.2x of greedy's wall
time at 360 samples.

    .venv/bin/python scripts/benchmark_scheduler.py [--samples 36 360] [--cores 2]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNAKEFILE = r"""
SAMPLES = [f"S{i:04d}" for i in range(config["n_samples"])]
UNITS = ["U1", "U2", "U3", "U4"]
CHUNKS = [f"{i:02d}" for i in range(20)]
DAY = 1440
START = config["start_min"]


def tags(wildcards):
    index = SAMPLES.index(wildcards.sample) + 1 if hasattr(wildcards, "sample") else 0
    acute = index % 5 == 1
    return {
        "helgenom_sample": index,
        "helgenom_deadline": START + (5 if acute else 28) * DAY,
        "helgenom_rank": 0 if acute else 2,
    }


def res(name):
    return lambda wildcards: tags(wildcards)[name]


TAGS = {n: res(n) for n in ("helgenom_sample", "helgenom_deadline", "helgenom_rank")}

rule all:
    input: expand("out/{sample}/report", sample=SAMPLES)

rule trim:
    output: "out/{sample}/{unit}.trim"
    resources: **TAGS
    shell: "touch {output}"

rule align:
    input: "out/{sample}/{unit}.trim"
    output: "out/{sample}/{unit}.bam"
    resources: **TAGS
    shell: "touch {output}"

rule merge:
    input: expand("out/{{sample}}/{unit}.bam", unit=UNITS)
    output: "out/{sample}/merged"
    resources: **TAGS
    shell: "touch {output}"

rule markdup:
    input: "out/{sample}/merged"
    output: "out/{sample}/cram"
    resources: **TAGS
    shell: "touch {output}"

rule call:
    input: "out/{sample}/cram"
    output: "out/{sample}/chunk{chunk}"
    resources: **TAGS
    shell: "touch {output}"

rule gather:
    input: expand("out/{{sample}}/chunk{chunk}", chunk=CHUNKS)
    output: "out/{sample}/vcf"
    resources: **TAGS
    shell: "touch {output}"

rule stats:
    input: "out/{sample}/cram"
    output: "out/{sample}/stats"
    resources: **TAGS
    shell: "touch {output}"

rule depth:
    input: "out/{sample}/cram"
    output: "out/{sample}/depth"
    resources: **TAGS
    shell: "touch {output}"

rule report:
    input: "out/{sample}/vcf", "out/{sample}/stats", "out/{sample}/depth"
    output: "out/{sample}/report"
    resources: **TAGS
    shell: "touch {output}"
"""


def run(scheduler: str, samples: int, cores: int) -> float:
    with tempfile.TemporaryDirectory(prefix="helgenom-sched-") as tmp:
        snakefile = Path(tmp) / "Snakefile"
        snakefile.write_text(SNAKEFILE)
        cmd = [
            sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
            "--directory", tmp, "--cores", str(cores), "--scheduler", scheduler,
            "--config", f"n_samples={samples}", f"start_min={int(time.time() // 60)}",
            "--force-use-threads",
        ]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{scheduler} run failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[36, 360])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--schedulers", nargs="+", default=["greedy", "ilp", "clinical"])
    args = parser.parse_args()
    jobs_per_sample = 33
    rows = []
    for n in args.samples:
        for scheduler in args.schedulers:
            wall = run(scheduler, n, args.cores)
            jobs = n * jobs_per_sample + 1
            rows.append((n, scheduler, wall, jobs / wall))
            print(f"{n:>4} samples  {scheduler:9} {wall:8.1f} s  {jobs / wall:7.1f} jobs/s",
                  flush=True)  # fmt: skip
    print(f"\n{'samples':>7} {'scheduler':9} {'wall s':>8} {'jobs/s':>7} {'vs greedy':>9}")
    for n, scheduler, wall, rate in rows:
        greedy = next((w for m, s, w, _ in rows if m == n and s == "greedy"), None)
        ratio = f"{wall / greedy:9.2f}" if greedy else f"{'-':>9}"
        print(f"{n:>7} {scheduler:9} {wall:8.1f} {rate:7.1f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
