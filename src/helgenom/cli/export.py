"""`helgenom export`: deposit one sample's results in the national genome database by hand
(or from another pipeline); the workflow's export rule calls helgenom.export.step instead.
The export's modules are imported when the command runs, not for every `helgenom` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _parse_files(items: Sequence[str]) -> dict[str, Path]:
    from helgenom.export import ExportError

    files = {}
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise ExportError(f"--files takes KEY=PATH, not {item!r}")
        files[key] = Path(path)
    return files


def _load_config(config_files: Sequence[Path]) -> dict[str, Any]:
    from helgenom.config import read_config_files, validate_config

    return validate_config(read_config_files(config_files), config_files)


def _provenance_from_args(args: argparse.Namespace, files: Mapping[str, Path]) -> dict[str, Any]:
    from helgenom.export import ExportError
    from helgenom.export.provenance import analysis_parameters, collect_provenance, moment

    if args.provenance:
        return json.loads(Path(args.provenance).read_text())
    if not args.config:
        raise ExportError("give --provenance FILE, or --config (and --versions) to collect it")
    config_files = [Path(p) for p in args.config]
    config = _load_config(config_files)
    mtimes = [path.stat().st_mtime for path in files.values()]
    return collect_provenance(
        config_files=config_files,
        parameters=analysis_parameters(config),
        versions=Path(args.versions),
        reference=Path(args.reference or config["reference"]["fasta"]),
        build=args.build or config["reference"]["build"],
        started=moment(args.run_started, min(mtimes)),
        finished=moment(args.run_finished, max(mtimes)),
        run_id=args.run_id,
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Deposit the sample; 1 with the reason on stderr when it cannot be exported."""
    from genomedb_contract.client import read_token
    from helgenom.export import ExportError
    from helgenom.export.provenance import standard_files
    from helgenom.export.sample import export_sample

    try:
        if not args.url or not args.db_public_key:
            raise ExportError(
                "give --url and --db-public-key (or HELGENOM_GENOMEDB_URL and "
                "HELGENOM_GENOMEDB_PUBLIC_KEY)"
            )
        token = read_token(args.token_file)
        if args.files:
            files = _parse_files(args.files)
        else:
            files = standard_files(args.results, args.sample)
        gate = json.loads(Path(args.qc_gate).read_text()) if args.qc_gate else {}
        if args.qc_decision:
            gate = {"decision": args.qc_decision}
        export_sample(
            args.sample,
            files=files,
            gate=gate,
            provenance=lambda: _provenance_from_args(args, files),
            url=args.url,
            token=token,
            db_public_key=args.db_public_key,
            out=args.out,
            on_qc_fail=args.on_qc_fail,
            override_by=args.qc_override_by,
            override_reason=args.qc_override_reason,
            manifest_out=args.manifest_out,
            register_sample=args.register_sample,
            retries=args.retries,
        )
    except (ExportError, ValueError, OSError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="deposit one sample's results in the national genome database",
        description="Deposit one sample's results in the national genome database.",
    )
    parser.add_argument("--sample", required=True, help="the pseudonymous sample ID")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--files", nargs="+", metavar="KEY=PATH", help="the files, by key")
    what.add_argument("--results", help="a run's results/ folder: take the standard outputs")
    parser.add_argument("--out", required=True, help="where to write the receipt (JSON)")
    parser.add_argument("--manifest-out", help="also write the manifest here")
    parser.add_argument("--url", default=os.environ.get("HELGENOM_GENOMEDB_URL"))
    parser.add_argument("--token-file", help="file holding the token (or HELGENOM_GENOMEDB_TOKEN)")
    parser.add_argument(
        "--db-public-key",
        default=os.environ.get("HELGENOM_GENOMEDB_PUBLIC_KEY"),
        help="the database's crypt4gh public key (or HELGENOM_GENOMEDB_PUBLIC_KEY)",
    )
    gate = parser.add_mutually_exclusive_group(required=True)
    gate.add_argument("--qc-gate", help='the QC gate result, JSON {"decision": pass|warn|fail}')
    gate.add_argument("--qc-decision", choices=["pass", "warn", "fail"])
    parser.add_argument("--qc-override-by", help="who overrides a failed QC gate")
    parser.add_argument("--qc-override-reason", help="why the failed QC gate is overridden")
    parser.add_argument(
        "--on-qc-fail",
        choices=["error", "skip"],
        default="error",
        help="a failed gate without override: exit 1 (error), or write a 'not deposited' "
        "record to --out and exit 0 (skip)",
    )
    parser.add_argument("--provenance", help="provenance JSON (instead of collecting it)")
    parser.add_argument("--config", nargs="+", help="the run's config file(s)")
    parser.add_argument("--versions", default="results/versions.yaml")
    parser.add_argument("--reference", help="reference FASTA (default: from the config)")
    parser.add_argument("--build", help="reference build (default: from the config)")
    parser.add_argument("--run-started", help="ISO 8601 (default: oldest file's mtime)")
    parser.add_argument("--run-finished", help="ISO 8601 (default: newest file's mtime)")
    parser.add_argument("--run-id")
    parser.add_argument("--register-sample", action="store_true", help="register it first")
    parser.add_argument("--retries", type=int, default=3)
    parser.set_defaults(func=cmd_export)
