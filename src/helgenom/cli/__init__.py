"""The `helgenom` command: validate a run's inputs, run the demo, compare calls with a truth set."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from helgenom.config import read_config_files
from helgenom.inputs import check_run_inputs
from helgenom.problems import ProblemsError
from helgenom.runs import REPO, snakemake_command
from helgenom.sites import SITES
from helgenom.truth import DEFAULT_MAX_CLUSTER_VARIANTS, DEFAULT_WINDOW


def cmd_validate(args: argparse.Namespace) -> int:
    """Check config, reference and sample sheets as the workflow does before any job."""
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


# The demo's QC thresholds (synthetic data are not a human genome; see the file).
DEMO_CONFIG = REPO / "resources" / "demo" / "config.yaml"
DEMO_NEEDS_GENOMEDB = (
    "helgenom demo: the demo deposits its samples into an embedded national genome database, "
    "and the genome database service (distribution genomedb) is not installed. Install it: "
    "pip install -e ./contract -e ./services/genomedb (in a checkout; bash scripts/setup.sh "
    "does it), or pip install 'helgenom[demo]'. Or run the demo without the deposit: "
    "helgenom demo --no-export"
)


def _demo_database() -> Callable[..., Any] | None:
    """genomedb.service.embedded_database; None, and why on stderr, when the genome database
    service is not installed (the pipeline does not depend on it, only its demo does)."""
    try:
        from genomedb.service import embedded_database
    except ModuleNotFoundError as error:
        if error.name not in ("genomedb", "genomedb.service"):
            raise  # genomedb is there but broken: not a missing install
        print(DEMO_NEEDS_GENOMEDB, file=sys.stderr)
        return None
    return embedded_database


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the synthetic demo data (once) and run the whole pipeline on it."""
    from helgenom.demo import demo_paths, generate_demo
    from helgenom.truth import compare

    embedded_database = None if args.no_export else _demo_database()
    if embedded_database is None and not args.no_export:
        return 1
    workdir = Path(args.directory).resolve()
    marker = workdir / "demo" / ".complete"
    if marker.exists():
        data = demo_paths(workdir / "demo")  # generated before: keep the files (and mtimes)
    else:
        print(f"helgenom demo: generating synthetic data in {workdir / 'demo'}", flush=True)
        data = generate_demo(workdir / "demo")
        marker.write_text("ok\n")
    configs = [str(REPO / "config.yaml"), str(DEMO_CONFIG)]
    if embedded_database is None:
        status = _run_demo(workdir, configs, args.cores)
    else:
        home = workdir / "demo" / "genomedb"
        with embedded_database(home, department="demo-lab") as db:
            print(f"helgenom demo: genome database (embedded, SQLite) at {db.url}, home {home}")
            overlay = workdir / "demo" / "export.yaml"
            overlay.write_text(
                "# written by `helgenom demo`: deposit into the embedded demo database\n"
                + yaml.safe_dump(
                    {
                        "export": {
                            "enabled": True,
                            "token_file": str(db.token_file),
                            "db_public_key": str(db.public_key),
                            "register_sample": True,
                        }
                    }
                )
            )
            # The URL (a free port each time) comes from the environment, so the overlay
            # stays the same from run to run.
            env = {**os.environ, "HELGENOM_GENOMEDB_URL": db.url}
            status = _run_demo(workdir, [*configs, str(overlay)], args.cores, env)
    if status:
        return status
    print("\nhelgenom demo: calls compared with the planted truth (confident regions)")
    print(f"{'sample':10} {'type':6} {'TP':>5} {'FP':>5} {'FN':>5} {'recall':>7} {'precision':>9}")
    for sample, truth in data.truth.items():
        result = compare(
            workdir / "results" / "vcf" / f"{sample}.vcf.gz",
            truth,
            data.reference,
            data.confident_bed,
        )
        for kind, c in result.counts.items():
            print(
                f"{sample:10} {kind:6} {c.tp:5} {c.fp:5} {c.fn:5} {c.recall:7.3f} "
                f"{c.precision:9.3f}"
            )
    print("\nhelgenom demo: QC gate and clinical report (results/report/<sample>.pdf/.html/...)")
    for sample in data.truth:
        report = workdir / "results" / "report" / f"{sample}.json"
        if report.exists():
            content = json.loads(report.read_text())
            print(f"{sample:10} QC {content['qc']['verdict']}; {content['answer']['category']}")
    if not args.no_export:
        print("\nhelgenom demo: deposits in the national genome database (embedded demo copy)")
        for sample in data.truth:
            receipt = json.loads(
                (workdir / "results" / "export" / f"{sample}.receipt.json").read_text()
            )
            if receipt.get("deposited") is False:
                print(f"{sample:10} not deposited: {receipt['reason']}")
            else:
                print(
                    f"{sample:10} {receipt['accession']} version {receipt['version']}, "
                    f"{len(receipt['files'])} files"
                )
    outputs = "cram/, vcf/, qc/multiqc/multiqc_report.html, report/, export/"
    print(f"\nOutputs: {workdir / 'results'} ({outputs})")
    return 0


def _run_demo(
    workdir: Path, configs: list[str], cores: int, env: dict[str, str] | None = None
) -> int:
    cmd = snakemake_command(workdir, "--configfile", *configs, cores=cores)
    print("helgenom demo: " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=workdir, env=env)


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare a VCF with a truth VCF; JSON on stdout (and --tsv/--json files)."""
    from helgenom.truth import compare

    result = compare(
        args.query,
        args.truth,
        args.reference,
        args.regions,
        window=args.window,
        max_cluster_variants=args.max_cluster_variants,
    )
    if args.tsv:
        Path(args.tsv).write_text(result.to_tsv())
    if args.json:
        Path(args.json).write_text(result.to_json() + "\n")
    print(result.to_json())
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helgenom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check config.yaml, reference and sample sheets")
    p.add_argument("--configfile", nargs="+", default=["config.yaml"])
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("demo", help="run the pipeline end to end on synthetic demo data")
    p.add_argument("--directory", default=str(REPO), help="run directory (default: the repo)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument(
        "--no-export",
        action="store_true",
        help="do not deposit into the embedded demo genome database (demo/genomedb)",
    )
    p.set_defaults(func=cmd_demo)

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

    p = sub.add_parser(
        "compare", help="compare a VCF with a truth VCF (haplotype-aware, see helgenom.truth)"
    )
    p.add_argument("query")
    p.add_argument("truth")
    p.add_argument("--reference", required=True)
    p.add_argument("--regions", help="BED of confident regions")
    p.add_argument("--tsv", help="also write the counts table here")
    p.add_argument("--json", help="also write the JSON report here")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="clustering window (bp)")
    p.add_argument(
        "--max-cluster-variants",
        type=int,
        default=DEFAULT_MAX_CLUSTER_VARIANTS,
        help="larger clusters fall back to exact allele matching",
    )
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
