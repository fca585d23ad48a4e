"""The submission manifest: its JSON schema (src/helgenom/schemas/manifest.schema.json), the
checks a schema cannot express, and the digests that identify a deposit's content.

Used by both sides: the pipeline builds and validates a manifest (helgenom.export), the
database validates it again on deposit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from helgenom.genomedb.naming import looks_like_cpr, mask
from helgenom.paths import package_path

__all__ = [
    "MANIFEST_SCHEMA",
    "canonical_json",
    "content_sha256",
    "digest_fields",
    "manifest_problems",
]

MANIFEST_SCHEMA = package_path("schemas", "manifest.schema.json")
# A schema pattern of hex digests ("^[0-9a-f]{64}$", "^([0-9a-f]{40}|unknown)$", ...).
_HEX_PATTERN = re.compile(r"\^\(?\[0-9a-f\]\{[0-9]+\}")


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


def content_sha256(files: Mapping[str, Mapping[str, Any]]) -> str:
    """What makes two deposits of a sample the same: each file's key, size and SHA-256."""
    content = {key: [int(f["size"]), f["sha256"]] for key, f in files.items()}
    return hashlib.sha256(canonical_json(content)).hexdigest()
