"""The Slurm site under a run: `helgenom watchdog` (run a Snakemake command, end it when the
site stops answering: helgenom.watchdog) and `helgenom site-health` (does the site answer:
helgenom.sitehealth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from helgenom.watchdog import SITE_UNREACHABLE


def cmd_watchdog(args: argparse.Namespace) -> int:
    """Run the command after -- under the watchdog; its exit code, or 75/76 (helgenom.watchdog)."""
    from helgenom.watchdog import run_with_watchdog

    command = args.command_line
    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        args.parser.error("no command given (put it after --)")
    return run_with_watchdog(
        command,
        Path.cwd(),
        args.site,
        interval=args.interval,
        grace=args.grace,
        slurm_conf=args.slurm_conf,
        passive=args.passive,
        kill_timeout=args.kill_timeout,
    )


def cmd_site_health(args: argparse.Namespace) -> int:
    """One line for the site and one per part (controller, accounting); 0 healthy, 1 not."""
    from helgenom.sitehealth import check

    health = check(args.slurm_conf, args.timeout, site=args.site)
    stamp = health.checked_at.isoformat(timespec="seconds")
    print(f"site {health.site}: {'healthy' if health.healthy else 'NOT healthy'} "
          f"at {stamp} (SLURM_CONF={health.slurm_conf})")  # fmt: skip
    for name, part in (("controller", health.controller), ("accounting", health.accounting)):
        print(f"  {name:<10} {'OK  ' if part.ok else 'DOWN'} {part.address}: {part.detail}")
    return 0 if health.healthy else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "watchdog",
        help="run a Snakemake command; end it when its Slurm site stops answering",
        description="Run a Snakemake command; end it when the Slurm site stops answering "
        f"(exit {SITE_UNREACHABLE}). `helgenom run` runs the workflow under it.",
        usage="%(prog)s --site NAME [options] -- snakemake ...",
    )
    p.add_argument("--site", required=True, help="the site the run submits to")
    p.add_argument("--interval", type=float, default=30, help="seconds between checks")
    p.add_argument(
        "--grace", type=float, default=120, help="seconds a part may not answer before the end"
    )
    p.add_argument(
        "--slurm-conf",
        type=Path,
        help="the site's slurm.conf (default: $HELGENOM_<SITE>_SLURM_CONF)",
    )
    p.add_argument("--passive", help="the site to fail over to (named in the message)")
    p.add_argument("--kill-timeout", type=float, default=60, help="seconds from SIGINT to SIGKILL")
    p.add_argument(
        "command_line", metavar="command", nargs=argparse.REMAINDER, help="-- then the command"
    )
    p.set_defaults(func=cmd_watchdog, parser=p)

    p = sub.add_parser(
        "site-health",
        help="does a Slurm site answer: its controller and accounting (exit 0 yes, 1 no)",
        description="Check that a Slurm site's controller and accounting answer "
        "(exit 0 healthy, 1 not).",
    )
    p.add_argument("--site", help="site name; its config from $HELGENOM_<SITE>_SLURM_CONF")
    p.add_argument("--slurm-conf", type=Path, help="the site's slurm.conf")
    p.add_argument("--timeout", type=float, default=10, help="seconds per command")
    p.set_defaults(func=cmd_site_health)
