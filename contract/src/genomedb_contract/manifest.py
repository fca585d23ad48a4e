"""The deposit manifest: its JSON schema (manifest.schema.json, package data of this
package), the checks a schema cannot express, canonical JSON, and building a manifest from a
sample's files.

Used by both sides: the pipeline builds and validates a manifest (helgenom.export), the
database validates it again on deposit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files as package_files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from genomedb_contract.cpr import looks_like_cpr, mask
from genomedb_contract.crypto import file_digests

__all__ = [
    "MANIFEST_SCHEMA",
    "SCHEMA_SOURCE",
    "DepositError",
    "build_manifest",
    "canonical_json",
    "digest_fields",
    "iso_time",
    "manifest_problems",
]

MANIFEST_SCHEMA = package_files("genomedb_contract") / "manifest.schema.json"
# Where the schema is kept (named in messages about a manifest that does not follow it).
SCHEMA_SOURCE = "contract/src/genomedb_contract/manifest.schema.json"
# A schema pattern of hex digests ("^[0-9a-f]{64}$", "^([0-9a-f]{40}|unknown)$", ...).
_HEX_PATTERN = re.compile(r"\^\(?\[0-9a-f\]\{[0-9]+\}")


class DepositError(RuntimeError):
    """A deposit cannot be made (its manifest, its files, or the database's answer); str()
    says why and what to do."""


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(MANIFEST_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


@cache
def digest_fields() -> frozenset[str]:
    """Names of the fields the schema declares as hex digests (a pattern of hex digits, also
    through a $defs reference). They may hold ten digits in a row without being CPR numbers
    (a random SHA-256 does in ~7 % of cases), so the CPR check spares them."""
    schema = _schema()

    def is_digest(sub: Mapping[str, Any]) -> bool:
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/"):
            sub = schema["$defs"][ref.removeprefix("#/$defs/")]
        return bool(_HEX_PATTERN.match(sub.get("pattern", "")))

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            properties = node.get("properties")
            if isinstance(properties, Mapping):
                found.update(name for name, sub in properties.items() if is_digest(sub))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return frozenset(found)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, ASCII: the same bytes for the same value on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _cpr_paths(value: Any, path: str = "") -> list[str]:
    """Paths of the strings (and keys) in `value` that look like CPR numbers."""
    found = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{mask(str(key))}" if path else mask(str(key))
            if looks_like_cpr(str(key)):
                found.append(where)
            if not (key in digest_fields() and isinstance(item, str)):
                found += _cpr_paths(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _cpr_paths(item, f"{path}[{index}]")
    elif isinstance(value, str) and looks_like_cpr(value):
        found.append(path or "(top level)")
    return found


def manifest_problems(manifest: Any) -> list[str]:
    """Everything wrong with a manifest (empty if valid); no message echoes a CPR number."""
    cpr = _cpr_paths(manifest)
    if cpr:
        return [
            f"{where}: looks like a CPR number: identifiers must be pseudonymised (the value is "
            "not shown)"
            for where in cpr
        ]
    problems = []
    for error in sorted(_validator().iter_errors(manifest), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {mask(error.message)[:300]}")
    return problems


def iso_time(moment: datetime) -> str:
    """A moment as the manifest writes it: UTC, to the second, e.g. 2026-11-26T08:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_manifest(
    sample_id: str,
    files: Mapping[str, str | Path],
    provenance: Mapping[str, Any],
    *,
    qc_gate: Mapping[str, Any],
    key: str | None = None,
) -> dict[str, Any]:
    """The submission manifest of a sample, validated against the schema.

    `files` maps manifest keys (cram, crai, vcf, vcf_tbi, gvcf, gvcf_tbi, qc_*, report_*, roh_*,
    sv_*, cnv_*) to paths; `qc_gate` is the manifest's qc_gate block
    (helgenom.export.sample.qc_gate_record); `key` the deposit's idempotency key
    (helgenom.export.provenance.deposit_key), if any.
    Raises DepositError listing every problem.
    """
    if looks_like_cpr(sample_id):
        raise DepositError(
            "the sample ID looks like a CPR number: identifiers must be pseudonymised "
            "(the value is not shown)"
        )
    missing = [str(Path(p)) for p in files.values() if not Path(p).is_file()]
    if missing:
        raise DepositError(f"files to deposit do not exist: {', '.join(missing)}")
    entries = {}
    for name, path in sorted(files.items()):
        digests = file_digests(path)
        entries[name] = {
            "filename": Path(path).name,
            "size": digests.size,
            "sha256": digests.sha256,
            "md5": digests.md5,
        }
    manifest = {
        "schema_version": 1,
        "sample_id": sample_id,
        "created": iso_time(datetime.now(UTC)),
        "qc_gate": dict(qc_gate),
        "provenance": dict(provenance),
        "files": entries,
    }
    if key is not None:
        manifest["deposit_key"] = key
    problems = manifest_problems(manifest)
    if problems:
        raise DepositError(
            f"the manifest does not follow {SCHEMA_SOURCE}:\n  - " + "\n  - ".join(problems)
        )
    return manifest
