"""Operating a run on the HPC sites: `helgenom status`, `run`, `failover`, `replicate`
(helgenom.status, helgenom.siterun, helgenom.failover; README: Failover)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helgenom.sites import SITES


def cmd_status(args: argparse.Namespace) -> int:
    """Per sample: class, deadline, progress, remaining time, slack; flags samples at risk."""
    from helgenom.rundir import read_lease
    from helgenom.status import format_status, run_status

    rows = run_status(args.directory, args.configfile)
    lease = read_lease(Path(args.directory))
    if lease is not None:
        moved = f"; failed over from {lease.history[-1]['site']}" if lease.history else ""
        print(f"site: {lease.site} since {lease.since} (fencing epoch {lease.epoch}{moved})\n")
    print(format_status(rows))
    return 0


def _run_options(args: argparse.Namespace) -> dict:
    return {
        "clinical": not args.no_clinical_priority,
        "interval": args.watchdog_interval,
        "grace": args.watchdog_grace,
        "record_every": args.record_every,
    }


def cmd_run(args: argparse.Namespace) -> int:
    """Run the workflow on a site under the watchdog, recording output checksums."""
    from helgenom.failover import FencedError
    from helgenom.siterun import run_on_site

    try:
        return run_on_site(
            Path(args.directory), args.site, args.configfile, args.snakemake, **_run_options(args)
        )
    except FencedError as error:
        print(f"helgenom run: refused: {error}", file=sys.stderr)
        return 3


def cmd_failover(args: argparse.Namespace) -> int:
    """Continue a run on the passive site from a replica of its run directory."""
    from helgenom.failover import FailoverError, FencedError
    from helgenom.siterun import fail_over

    try:
        return fail_over(
            Path(args.directory),
            args.to,
            args.configfile,
            args.snakemake,
            primary_run_dir=Path(args.primary_directory) if args.primary_directory else None,
            resume=not args.no_resume,
            **_run_options(args),
        )
    except (FailoverError, FencedError) as error:
        print(f"helgenom failover: {error}", file=sys.stderr)
        return 3


def cmd_replicate(args: argparse.Namespace) -> int:
    """Copy a run directory to the passive site (with its output checksums)."""
    from helgenom.failover import FencedError, replicate

    try:
        cmd = replicate(
            Path(args.directory), args.to, include_snakemake=not args.without_snakemake_metadata
        )
    except FencedError as error:
        print(f"helgenom replicate: refused: {error}", file=sys.stderr)
        return 3
    print("helgenom replicate: " + " ".join(cmd))
    return 0


def _site_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--directory", default=".", help="the run directory (default: here)")
    p.add_argument("--configfile", nargs="*", default=[], help="config files of the run")
    p.add_argument(
        "--no-clinical-priority",
        action="store_true",
        help="without the clinical-priority workflow profile (deadline-aware scheduler)",
    )
    p.add_argument("--watchdog-interval", type=float, default=30, help="seconds between checks")
    p.add_argument(
        "--watchdog-grace",
        type=float,
        default=120,
        help="seconds the site may not answer before the run is ended",
    )
    p.add_argument(
        "--record-every", type=float, default=30, help="seconds between output checksum records"
    )
    p.add_argument("snakemake", nargs="*", help="after --: further Snakemake arguments")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="per-sample progress, deadline and slack of a run")
    p.add_argument("--directory", default=".", help="the run directory (default: here)")
    p.add_argument("--configfile", nargs="*", default=[], help="config files of the run")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("run", help="run on an HPC site: watchdog, output checksums, lease")
    p.add_argument("--site", required=True, choices=sorted(SITES))
    _site_run_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("failover", help="continue a run on the passive site (README: Failover)")
    p.add_argument("--to", required=True, choices=sorted(SITES))
    p.add_argument(
        "--primary-directory",
        help="the primary's run directory, if reachable: fenced, its Snakemake stopped",
    )
    p.add_argument(
        "--no-resume", action="store_true", help="fence, verify and unlock only; do not run"
    )
    _site_run_arguments(p)
    p.set_defaults(func=cmd_failover)

    p = sub.add_parser("replicate", help="copy a run directory to the passive site (rsync)")
    p.add_argument("--directory", default=".", help="the run directory (default: here)")
    p.add_argument("--to", required=True, help="destination: a path or host:path")
    p.add_argument(
        "--without-snakemake-metadata",
        action="store_true",
        help="leave .snakemake/ out (the output manifest still proves what is complete)",
    )
    p.set_defaults(func=cmd_replicate)
