"""The `helgenom` command: one command for the operator, its subcommands in groups.

    validate                          a run's inputs, as the workflow checks them  cli/inputs.py
    demo, demo-data                   the pipeline on synthetic data; the data     cli/demo.py
    status, run, failover, replicate  a run on the HPC sites                       cli/siterun.py
    watchdog, site-health             the Slurm site under a run                   cli/slurm.py
    capacity                          cores and storage from measured costs        cli/capacity.py
    export                            deposit a sample in the genome database      cli/export.py
    compare                           calls against a truth set                    cli/truth.py

Each group's module has `register(subcommands)` and turns arguments into a call of the module
that owns the logic (which has no command line of its own), imported when the command runs,
so that a quick command does not load numpy, pysam or the HTTP client. GROUPS lists the groups
in the order `helgenom --help` shows them. `python -m helgenom` is the same command.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from helgenom.cli import capacity, demo, export, inputs, siterun, slurm, truth

# A new group of subcommands is a module here with its register(), added to GROUPS.
GROUPS = (inputs, demo, siterun, slurm, capacity, export, truth)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helgenom",
        description="Clinical whole-genome sequencing: validate a run's inputs, run it on an "
        "HPC site (and fail it over), deposit its results, run the demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
