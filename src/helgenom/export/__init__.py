"""The export step: deposit a sample's results in the national genome database.

Pipeline side of the deposit (the database side is the `genomedb` service; what both share,
the manifest's schema, crypt4gh and the HTTP client, is `genomedb_contract`):

1. `standard_files` finds a sample's outputs (CRAM+CRAI, VCF+TBI, gVCF+TBI when present,
   per-sample QC metrics, report renderings); `collect_provenance` records how they were made
   (helgenom version and commit, config and parameter hashes, tool versions, reference
   checksum, run dates).
2. `build_manifest` (genomedb_contract.manifest) adds every file's size, SHA-256 and MD5 and
   the QC gate's decision, and validates the manifest against the contract's schema
   (contract/src/genomedb_contract/manifest.schema.json). A failed QC gate is only exported
   with a recorded override.
3. `deposit` (genomedb_contract.client) encrypts each file with crypt4gh to the database's
   public key while streaming it up, and returns the database's receipt (accession, version,
   checksums). Rerunning it is safe: identical content returns the same receipt and uploads
   nothing; an interrupted deposit is resumed; changed content becomes the sample's next
   version, except under a `deposit_key` the database already holds (the same sample, input
   and analysis of the same run, e.g. continued on the passive site with its report made
   again): then the earlier deposit's receipt is the answer.

Command line (what the export rule calls):

    python -m helgenom.export --sample S --results results --config config.yaml \
        --qc-gate results/qc/gate/S.json --url URL --token-file TOKEN \
        --db-public-key genomedb.pub --out results/export/S.receipt.json

The token is read from --token-file or HELGENOM_GENOMEDB_TOKEN, never from the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from genomedb_contract.client import deposit, read_token, write_receipt
from genomedb_contract.crypto import file_digests
from genomedb_contract.manifest import DepositError, build_manifest, canonical_json, iso_time
from helgenom import __version__
from helgenom.rundir import record_files, run_identifier
from helgenom.runs import REPO

__all__ = [
    "ExportError",
    "QCGateFailed",
    "build_manifest",
    "analysis_parameters",
    "collect_provenance",
    "deposit",
    "deposit_key",
    "export_from_run",
    "export_sample",
    "main",
    "qc_gate_record",
    "standard_files",
    "write_receipt",
]

REQUIRED_KEYS = ("cram", "crai", "vcf", "vcf_tbi")
# Configuration that is not an analysis parameter: where the results are deposited and on
# which site the run runs (a run failed over to another site is the same analysis).
NOT_PARAMETERS = ("export", "site")


# The sample cannot be exported; str() says why and what to do. The contract's error, so that
# what build_manifest and deposit (genomedb_contract) raise is an ExportError too.
ExportError = DepositError


class QCGateFailed(ExportError):
    """The QC gate failed and no override is recorded: the sample is not deposited."""


# ---- what is deposited -----------------------------------------------------------------------
def standard_files(results: str | Path, sample_id: str) -> dict[str, Path]:
    """The outputs of one sample under a run's results/ folder, by manifest key.

    CRAM, VCF and their indexes must exist; the gVCF, per-sample QC metrics and report
    renderings are added when present. The run's MultiQC report is not: it covers every
    sample of the run, and a deposit holds one sample's data only.
    """
    results = Path(results)
    files = {
        "cram": results / "cram" / f"{sample_id}.cram",
        "crai": results / "cram" / f"{sample_id}.cram.crai",
        "vcf": results / "vcf" / f"{sample_id}.vcf.gz",
        "vcf_tbi": results / "vcf" / f"{sample_id}.vcf.gz.tbi",
    }
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise ExportError(f"missing outputs of {sample_id}: {', '.join(missing)}")
    optional = {
        "gvcf": results / "gvcf" / f"{sample_id}.g.vcf.gz",
        "gvcf_tbi": results / "gvcf" / f"{sample_id}.g.vcf.gz.tbi",
        "qc_samtools_stats": results / "qc" / "samtools" / f"{sample_id}.stats.txt",
        "qc_samtools_flagstat": results / "qc" / "samtools" / f"{sample_id}.flagstat.txt",
        "qc_samtools_markdup": results / "qc" / "samtools" / f"{sample_id}.markdup.txt",
        "qc_mosdepth_summary": results / "qc" / "mosdepth" / f"{sample_id}.mosdepth.summary.txt",
        "qc_mosdepth_dist": results / "qc" / "mosdepth" / f"{sample_id}.mosdepth.global.dist.txt",
        "qc_bcftools_stats": results / "qc" / "bcftools" / f"{sample_id}.stats.txt",
        "qc_gate_result": results / "qc" / "gate" / f"{sample_id}.json",
        "qc_gate_metrics": results / "qc" / "gate" / f"{sample_id}.metrics.json",
    }
    files.update({key: path for key, path in optional.items() if path.is_file()})
    if ("gvcf" in files) != ("gvcf_tbi" in files):
        raise ExportError(f"{sample_id}: the gVCF and its index must both exist, or neither")
    for path in sorted((results / "qc" / "fastp" / sample_id).glob("*.fastp.json")):
        unit = path.name.removeprefix(f"{sample_id}_").removesuffix(".fastp.json")
        files[f"qc_fastp_{_key_part(unit)}"] = path
    for path in sorted((results / "report").glob(f"{sample_id}.*")):
        files[f"report_{_key_part(path.name.removeprefix(sample_id + '.'))}"] = path
    return files


def _key_part(text: str) -> str:
    """A manifest key suffix from free text: lower case, [a-z0-9_.-]."""
    return re.sub(r"[^a-z0-9_.-]", "_", text.lower()).strip("._-")[:60] or "file"


def _sha256_of_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(bytes.fromhex(file_digests(path).sha256))
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def collect_provenance(
    *,
    config_files: Sequence[str | Path],
    parameters: Mapping[str, Any],
    versions: str | Path | Mapping[str, Any],
    reference: str | Path,
    build: str,
    started: datetime,
    finished: datetime,
    run_id: str | None = None,
    repo: Path = REPO,
) -> dict[str, Any]:
    """The provenance block of a manifest.

    `parameters` is the effective configuration (validated, with defaults); `versions` the
    run's results/versions.yaml (or its content); `reference` the FASTA the run used.
    """
    commit = _git(repo, "rev-parse", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    if isinstance(versions, Mapping):
        tools = dict(versions)
    else:
        tools = yaml.safe_load(Path(versions).read_text()) or {}
    reference = Path(reference)
    pipeline: dict[str, Any] = {"name": "helgenom", "version": __version__}
    pipeline["commit"] = commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown"
    if status is not None:
        pipeline["dirty"] = bool(status)
    run: dict[str, Any] = {"started": iso_time(started), "finished": iso_time(finished)}
    if run_id:
        run["run_id"] = run_id
    return {
        "pipeline": pipeline,
        "config_sha256": _sha256_of_files([Path(f) for f in config_files]),
        "parameters_sha256": hashlib.sha256(canonical_json(parameters)).hexdigest(),
        "tools": {str(k): str(v) for k, v in sorted(tools.items())},
        "reference": {
            "build": build,
            "sha256": file_digests(reference).sha256,
            "filename": reference.name,
        },
        "run": run,
    }


def analysis_parameters(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's configuration without what is not an analysis parameter (NOT_PARAMETERS)."""
    return {key: value for key, value in config.items() if key not in NOT_PARAMETERS}


def input_identity(fastqs: Sequence[tuple[str, str | Path]]) -> list[dict[str, Any]]:
    """What identifies a sample's input data cheaply: each (unit, FASTQ)'s file name and size."""
    return [
        {"unit": unit, "filename": Path(path).name, "size": Path(path).stat().st_size}
        for unit, path in fastqs
    ]


def deposit_key(
    sample_id: str, provenance: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]
) -> str:
    """The deposit's idempotency key: one deposit per sample and analysis of a run.

    Made of the sample, its input data (`input_identity`) and the provenance without what
    may differ when the same analysis is continued elsewhere: the time it finished and the
    config files' checksum (a site's overlay names its own database URL or token file; the
    effective analysis parameters are in `parameters_sha256`). A run failed over to another
    site therefore deposits with the key the primary used, and the database answers a
    sample the primary already deposited with that deposit's receipt, also where outputs
    were made again since (a report carries the time it was made). A changed analysis,
    pipeline, tool, reference or input makes a new key, and a new version.
    """
    run = {k: v for k, v in provenance.get("run", {}).items() if k != "finished"}
    analysis = {k: v for k, v in provenance.items() if k != "config_sha256"}
    identity = {
        "sample_id": sample_id,
        "inputs": [dict(item) for item in inputs],
        "provenance": {**analysis, "run": run},
    }
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def qc_gate_record(
    gate: Mapping[str, Any], override_by: str | None = None, override_reason: str | None = None
) -> dict[str, Any]:
    """The manifest's qc_gate block from the QC gate's result (results/qc/gate/<sample>.json
    of helgenom.qc: {"decision": pass|warn|fail, "failed_checks": [...], "override": {by,
    reason, at}}). A failed gate needs an override (recorded in the gate result, or given
    here: who and why) or the sample is not exported.
    """
    decision = gate.get("decision")
    if decision not in ("pass", "warn", "fail"):
        raise ExportError(f"unknown QC gate decision {decision!r}: pass, warn or fail")
    override = dict(gate.get("override") or {})
    by = override_by or override.get("by")
    reason = override_reason or override.get("reason")
    if decision != "fail":
        if by or reason:
            raise ExportError(f"the QC gate's decision is {decision}: there is nothing to override")
        record: dict[str, Any] = {"decision": decision}
    elif by and reason:
        at = _moment(override.get("at"), time.time())
        record = {
            "decision": "override",
            "override": {"by": by, "reason": reason, "at": iso_time(at)},
        }
    else:
        raise QCGateFailed(
            "the QC gate failed for this sample: it is not deposited. To deposit it anyway, "
            "record an override: who (--qc-override-by) and why (--qc-override-reason)."
        )
    checks = [str(c) for c in gate.get("failed_checks", [])]
    if checks:
        record["failed_checks"] = checks
    return record


# ---- command line ----------------------------------------------------------------------------
def _parse_files(items: Sequence[str]) -> dict[str, Path]:
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


def _moment(text: str | None, fallback: float) -> datetime:
    """An ISO 8601 date or time (without a zone: local time), else the `fallback` epoch."""
    if not text:
        return datetime.fromtimestamp(fallback, UTC)
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as error:
        raise ExportError(f"not an ISO 8601 date or time: {text!r}") from error
    return moment if moment.tzinfo else moment.astimezone()


def _provenance_from_args(args: argparse.Namespace, files: Mapping[str, Path]) -> dict[str, Any]:
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
        started=_moment(args.run_started, min(mtimes)),
        finished=_moment(args.run_finished, max(mtimes)),
        run_id=args.run_id,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helgenom.export",
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
    return parser


def export_sample(
    sample_id: str,
    *,
    files: Mapping[str, str | Path],
    gate: Mapping[str, Any],
    provenance: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    url: str,
    token: str,
    db_public_key: str | Path | bytes,
    out: str | Path,
    on_qc_fail: str = "error",
    override_by: str | None = None,
    override_reason: str | None = None,
    manifest_out: str | Path | None = None,
    register_sample: bool = False,
    inputs: Sequence[Mapping[str, Any]] | None = None,
    retries: int = 3,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    """Judge the QC gate, build the manifest, deposit, and write the receipt to `out`.

    A failed gate without an override raises QCGateFailed (`on_qc_fail="error"`) or writes a
    record {"sample_id", "deposited": false, "reason"} to `out` (`"skip"`). `provenance` may
    be a function, called only when the sample is deposited. With `inputs` (the sample's
    `input_identity`), the manifest carries a `deposit_key`: the run deposits the sample
    once per analysis, also when it is continued on another site. Returns what was written.
    """
    try:
        qc_gate = qc_gate_record(gate, override_by, override_reason)
    except QCGateFailed as error:
        if on_qc_fail == "error":
            raise
        record = {"sample_id": sample_id, "deposited": False, "reason": str(error)}
        write_receipt(record, out)
        log(f"export: {sample_id}: not deposited ({error})")
        return record
    if callable(provenance):
        provenance = provenance()
    key = None if inputs is None else deposit_key(sample_id, provenance, inputs)
    manifest = build_manifest(sample_id, files, provenance, qc_gate=qc_gate, key=key)
    if manifest_out:
        write_receipt(manifest, manifest_out)
    receipt = deposit(
        url,
        token,
        manifest,
        files,
        db_public_key,
        retries=retries,
        register_sample=register_sample,
        log=log,
    )
    write_receipt(receipt, out)
    log(
        f"export: {sample_id}: {receipt['accession']} version {receipt['version']} "
        f"({len(receipt['files'])} files) -> {out}"
    )
    return receipt


@contextmanager
def _errors_logged(sample_id: str, log: Callable[[str], None]) -> Iterator[None]:
    """Why the export failed goes into its log too (the rule's log file)."""
    try:
        yield
    except (ExportError, ValueError, OSError) as error:
        log(f"export: {sample_id}: {error}")
        raise


def export_from_run(
    sample_id: str,
    *,
    config: Mapping[str, Any],
    config_files: Sequence[str | Path],
    results: str | Path,
    versions: str | Path,
    qc_gate: str | Path,
    started: datetime,
    out: str | Path,
    fastqs: Sequence[tuple[str, str | Path]],
    run_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    """The workflow's export step (workflow/rules/export.smk) for one sample of a run.

    Settings come from the run's validated `config` (`export`: url, token_file,
    db_public_key, on_qc_fail, register_sample), each falling back to its environment
    variable (helgenom.config.EXPORT_ENV); the files are the sample's standard outputs;
    `fastqs` its (unit ID, FASTQ path) pairs, which with the run's ID (by default from its
    recorded start, helgenom.rundir.run_identifier) make the deposit's key.
    """
    with _errors_logged(sample_id, log):
        from helgenom.config import EXPORT_ENV

        env = os.environ if environ is None else environ
        settings = config.get("export", {})
        url = settings.get("url") or env.get(EXPORT_ENV["url"])
        key = settings.get("db_public_key") or env.get(EXPORT_ENV["db_public_key"])
        if not url or not key:
            raise ExportError(
                "the export needs the database's URL and public key: set export.url and "
                f"export.db_public_key (or {EXPORT_ENV['url']}, {EXPORT_ENV['db_public_key']})"
            )
        token = read_token(settings.get("token_file"))
        files = standard_files(results, sample_id)
        run_dir = Path(results).resolve().parent
        parameters = analysis_parameters(config)
        if run_id is None:
            run_id = run_identifier(started)
        reference = Path(config["reference"]["fasta"])
        build = config["reference"]["build"]
        result = export_sample(
            sample_id,
            files=files,
            gate=json.loads(Path(qc_gate).read_text()),
            provenance=lambda: collect_provenance(
                config_files=config_files,
                parameters=parameters,
                versions=versions,
                reference=reference,
                build=build,
                started=started,
                finished=datetime.now(UTC),
                run_id=run_id,
            ),
            url=url,
            token=token,
            db_public_key=key,
            out=out,
            on_qc_fail=settings.get("on_qc_fail", "skip"),
            register_sample=bool(settings.get("register_sample")),
            inputs=input_identity(fastqs),
            log=log,
        )
        # What is in the database is complete: record it in the run's output manifest at once
        # (helgenom.rundir), so that a failover never makes or deposits it again. Files made
        # again after an earlier deposit by this run are not the deposited ones: left out.

        differ = set(result.get("local_files_differ", ()))
        digests = {
            files[key]: (entry["size"], entry["sha256"])
            for key, entry in result.get("files", {}).items()
            if key in files and key not in differ
        }
        receipt = Path(out)
        digests[receipt] = (receipt.stat().st_size, file_digests(receipt).sha256)
        record_files(run_dir, digests)
        return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
