#!/usr/bin/env python3
"""Benchmark of the calling modes: accuracy on GIAB NA12878 and CPU, through the workflow.

Runs the GIAB slice (../shared/testdata/giab-na12878-chr20, or $HELGENOM_TESTDATA) through
the whole workflow once per calling mode, as a validation run (config `validation:` names the
truth set), and prints one table from each run's own report (results/validation/NA12878.json):
SNP and indel recall/precision/F1 inside the confident BED, SNP and indel recall and the
genotype concordance over the whole 100 kb truth span, and CPU seconds: `call CPU s` runs
the workflow's own call_chunk command (helgenom.calling.format_call_chunk, same parameters)
on every chunk of the run's CRAM again and measures it exactly (Snakemake's benchmark files
sample too coarsely for jobs of a second); `run CPU s` is the whole workflow run.

Targets: in the confident BED all 49 truth variants with correct genotypes and no false
positive; over the truth span SNP recall >= 0.995 and indel recall >= 0.85. The default mode
is chosen by `choose_default` (the rule is printed with the table).

    .venv/bin/python scripts/benchmark_calling.py [--repeats 1] [--chunks 4] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helgenom.calling import format_call_chunk
from helgenom.config import validate_config
from helgenom.runs import snakemake_command
from helgenom.testing import GIAB_SAMPLE, write_giab_run_dir

REPO = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("HELGENOM_TESTDATA", REPO.parent / "shared" / "testdata"))
GIAB = TESTDATA / "giab-na12878-chr20"
CONFIDENT_VARIANTS = 49
SPAN_SNP_RECALL, SPAN_INDEL_RECALL = 0.995, 0.85

#: (label, calling config) per row; the labels name the mode and any non-default setting.
MODES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bcftools", {"mode": "bcftools"}),
    (
        "bcftools, no BAQ (mpileup -B)",
        {"mode": "bcftools", "mpileup_extra": "-B --min-MQ 0 --min-BQ 13 --max-depth 500"},
    ),
    ("freebayes, freebayes defaults", {"mode": "freebayes", "freebayes_extra": ""}),
    ("freebayes", {"mode": "freebayes"}),
    ("bcftools+freebayes", {"mode": "bcftools+freebayes"}),
)


@dataclass
class Row:
    label: str
    report: dict[str, Any]
    calling_cpu: float
    run_cpu: float

    def metric(self, scope: str, kind: str, name: str) -> float:
        return float(self.report[scope]["counts"][kind][name])

    @property
    def confident_target(self) -> bool:
        c = self.report["confident"]["counts"]["all"]
        return (c["tp"], c["fn"], c["fp"], c["genotype_match"]) == (
            CONFIDENT_VARIANTS, 0, 0, CONFIDENT_VARIANTS,
        )  # fmt: skip

    @property
    def span_target(self) -> bool:
        return (
            self.metric("truth_span", "snp", "recall") >= SPAN_SNP_RECALL
            and self.metric("truth_span", "indel", "recall") >= SPAN_INDEL_RECALL
        )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def calling_cpu(run_dir: Path) -> float:
    """CPU seconds of the run's call_chunk commands, run again on every chunk."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    calling = validate_config(config)["calling"]
    results = run_dir / "results"
    total = 0.0
    for bed in sorted((results / "calls" / "chunks").glob("*.bed")):
        with tempfile.TemporaryDirectory(prefix="helgenom-call-") as tmp:
            command = format_call_chunk(
                calling,
                fa=run_dir / "reference" / "giab-slice.fa",
                bed=bed,
                cram=results / "cram" / f"{GIAB_SAMPLE}.cram",
                vcf=f"{tmp}/chunk.bcf",
                gvcf=f"{tmp}/chunk.g.bcf",
                tmpdir=tmp,
                log=f"{tmp}/log",
            )
            before = children_cpu()
            subprocess.run(["bash", "-c", f"set -euo pipefail; {command}"], check=True)
            total += children_cpu() - before
    return total


def run_mode(calling: Mapping[str, Any], chunks: int, cores: int, tmp: Path) -> Row:
    """One validation run of the GIAB slice with the given calling config."""
    slice_dir = GIAB / "slice"
    config = {
        "calling": {"chunks": chunks, **calling},
        "validation": {
            GIAB_SAMPLE: {
                "truth_vcf": str(slice_dir / "truth_shifted.vcf.gz"),
                "confident_bed": str(slice_dir / "confident_shifted.bed"),
            }
        },
    }
    run_dir = write_giab_run_dir(tmp, GIAB, extra_config=config)
    before = children_cpu()
    proc = subprocess.run(
        snakemake_command(run_dir, "--quiet", "all", cores=cores),
        cwd=run_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode:
        raise RuntimeError(f"the workflow failed in {run_dir}:\n{proc.stderr[-3000:]}")
    run_cpu = children_cpu() - before
    report = json.loads((run_dir / "results" / "validation" / f"{GIAB_SAMPLE}.json").read_text())
    return Row("", report, calling_cpu(run_dir), run_cpu)


def choose_default(rows: Sequence[Row]) -> Row | None:
    """The mode with the best confident F1 among those meeting the confident target.

    Ties (equal F1) go to the row meeting the span target, then the higher genotype
    concordance over the truth span, then the lower calling CPU.
    """
    eligible = [r for r in rows if r.confident_target]
    if not eligible:
        return None
    return max(
        eligible,
        key=lambda r: (
            round(r.metric("confident", "all", "f1"), 6),
            r.span_target,
            round(r.metric("truth_span", "all", "genotype_concordance"), 6),
            -r.calling_cpu,
        ),
    )


def print_table(rows: Sequence[Row]) -> None:
    head = (
        f"{'mode':32} {'conf SNP R/P/F1':>18} {'conf indel R/P/F1':>18} {'conf TP/FP/FN/GT':>17}"
        f" {'span SNP R':>10} {'span indel R':>12} {'span GT conc':>12} {'call CPU s':>10}"
        f" {'run CPU s':>9}  targets"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        conf = r.report["confident"]["counts"]

        def rpf(kind: str, conf: dict[str, Any] = conf) -> str:
            c = conf[kind]
            return f"{c['recall']:.3f}/{c['precision']:.3f}/{c['f1']:.3f}"

        a = conf["all"]
        counts = f"{a['tp']}/{a['fp']}/{a['fn']}/{a['genotype_match']}"
        targets = ("1" if r.confident_target else "-") + ("2" if r.span_target else "-")
        print(
            f"{r.label:32} {rpf('snp'):>18} {rpf('indel'):>18} {counts:>17}"
            f" {r.metric('truth_span', 'snp', 'recall'):>10.4f}"
            f" {r.metric('truth_span', 'indel', 'recall'):>12.4f}"
            f" {r.metric('truth_span', 'all', 'genotype_concordance'):>12.4f}"
            f" {r.calling_cpu:>10.1f} {r.run_cpu:>9.1f}  {targets}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per mode (median CPU)")
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if not GIAB.exists():
        print(f"GIAB test data not found at {GIAB} (set HELGENOM_TESTDATA)", file=sys.stderr)
        return 2
    rows = []
    for label, calling in MODES:
        runs = []
        for i in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="helgenom-calling-") as tmp:
                runs.append(run_mode(calling, args.chunks, args.cores, Path(tmp) / "run"))
            print(f"{label}: run {i + 1} done", file=sys.stderr, flush=True)
        row = runs[0]
        row.label = label
        row.calling_cpu = statistics.median(r.calling_cpu for r in runs)
        row.run_cpu = statistics.median(r.run_cpu for r in runs)
        rows.append(row)
    print()
    print_table(rows)
    print(
        "\ntargets: 1 = confident BED: 49/49 with correct genotypes, no FP; "
        f"2 = truth span: SNP recall >= {SPAN_SNP_RECALL}, indel recall >= {SPAN_INDEL_RECALL}"
    )
    best = choose_default(rows)
    rule = (
        "best confident F1 among the modes meeting target 1; ties: target 2, then genotype "
        "concordance over the span, then less calling CPU"
    )
    print(f"default by the rule ({rule}): {best.label if best else 'none meets target 1'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
