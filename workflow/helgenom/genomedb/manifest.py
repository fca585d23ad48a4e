"""The submission manifest: its JSON schema (workflow/schemas/manifest.schema.json), the
checks a schema cannot express, and the digests that identify a deposit's content.

Used by both sides: the pipeline builds and validates a manifest (helgenom.export), the
database validates it again on deposit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from helgenom.genomedb.naming import looks_like_cpr, mask

__all__ = [
    "MANIFEST_SCHEMA",
    "canonical_json",
    "content_sha256",
    "manifest_problems",
]

MANIFEST_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json"
# Fields holding hex digests: they may contain ten digits in a row without being CPR numbers
# (a random SHA-256 does in ~7 % of cases). tests/test_export.py checks that this names every
# field the schema declares as a digest.
_DIGEST_FIELDS = {"sha256", "md5", "commit", "config_sha256", "parameters_sha256", "deposit_key"}


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(MANIFEST_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


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
            if not (key in _DIGEST_FIELDS and isinstance(item, str)):
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
