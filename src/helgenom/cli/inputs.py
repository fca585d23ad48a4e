"""`helgenom validate`: a run's inputs checked as the workflow checks them before any job
(helgenom.inputs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helgenom.problems import ProblemsError


def cmd_validate(args: argparse.Namespace) -> int:
    """Check config, reference and sample sheets as the workflow does before any job."""
    from helgenom.config import read_config_files
    from helgenom.inputs import check_run_inputs

    files = [Path(f) for f in args.configfile]
    for path in files:
        if not path.exists():
            print(f"{path}: config file does not exist", file=sys.stderr)
            return 2
    try:
        run = check_run_inputs(read_config_files(files), files)
    except ProblemsError as error:
        print(error, file=sys.stderr)
        return 1
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    reference = run.config["reference"]["fasta"]
    print(f"OK: {len(run.samples)} sample(s), {run.unit_count} unit(s), reference {reference}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check config.yaml, reference and sample sheets")
    p.add_argument("--configfile", nargs="+", default=["config.yaml"])
    p.set_defaults(func=cmd_validate)
