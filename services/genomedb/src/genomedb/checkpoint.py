"""Audit checkpoints: the audit chain's head, signed and kept outside the catalog.

The hash chain (genomedb.audit) shows any change inside the chain, but not the loss of its
end (drop the append-only triggers, delete the last entries: the rest still verifies), nor a
whole chain recomputed by someone holding the audit key (the service must hold it to append).
A checkpoint is a signed statement "the chain had N entries and its entry N had hash H",
appended as one JSON line to a checkpoint file:

    {"seq": N, "head": H, "ts": ..., "key_id": ..., "signature": ...}

signed with an Ed25519 key that the service does not need (keys/checkpoint.sec, made by
`init`). `genomedb checkpoint --to FILE` writes one (run it from cron, e.g. every 5 minutes,
and with every backup: the backup writes one into its folder); `genomedb verify-audit
--checkpoints FILE` then also checks that the catalog still holds entry N with hash H for
every checkpoint. Truncation and rewrites are caught back to the latest checkpoint.

Deployment (README, "Audit checkpoints"): the checkpoint key and the checkpoint file belong to
a separate account (not the one the service and the catalog run as), e.g. `genomedb-audit`,
and the file is copied to another host (or written to append-only storage); the service's
account gets the public key only. In a single-account set-up the checkpoints still catch a
truncation, but not a forger holding every key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, select

from genomedb.catalog import audit_log, now

__all__ = [
    "CheckpointError",
    "append_checkpoint",
    "check_checkpoints",
    "generate_checkpoint_key",
    "make_checkpoint",
    "read_checkpoints",
]

SIGNED_FIELDS = ("seq", "head", "ts", "key_id")


class CheckpointError(ValueError):
    """A checkpoint file or key that cannot be used."""


def generate_checkpoint_key(secret: Path, public: Path) -> None:
    """A new Ed25519 key pair: the secret key 0400, the public key 0444."""
    key = Ed25519PrivateKey.generate()
    secret_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path, data, mode in ((secret, secret_pem, 0o400), (public, public_pem, 0o444)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _load_secret(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint signing key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _message(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {name: fields[name] for name in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":")
    ).encode()


def make_checkpoint(conn: Connection, secret_key: Path) -> dict[str, Any]:
    """A signed checkpoint of the catalog's audit chain as it is now."""
    key = _load_secret(secret_key)
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    fields: dict[str, Any] = {
        "seq": last.seq if last else 0,
        "head": last.hash if last else "",
        "ts": now(),
        "key_id": key_id(key.public_key()),
    }
    fields["signature"] = base64.b64encode(key.sign(_message(fields))).decode()
    return fields


def append_checkpoint(path: Path, checkpoint: Mapping[str, Any]) -> None:
    """Append one checkpoint line to `path` (created 0600), synced to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(json.dumps(dict(checkpoint), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_checkpoints(path: Path) -> list[dict[str, Any]]:
    """The checkpoints of a file; CheckpointError naming the line that is not one."""
    out = []
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            if not isinstance(value, dict) or not {*SIGNED_FIELDS, "signature"} <= set(value):
                raise ValueError("fields missing")
            int(value["seq"])
        except (ValueError, TypeError) as error:
            raise CheckpointError(f"{path}:{number}: not a checkpoint ({error})") from None
        out.append(value | {"line": number})
    return out


@dataclass(frozen=True)
class CheckpointResult:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_checkpoints(
    conn: Connection, checkpoints: Iterable[Mapping[str, Any]], public: Ed25519PublicKey
) -> CheckpointResult:
    """Every checkpoint's signature, and that the catalog still holds its entry with its
    hash (entries after the last checkpoint are covered by the chain only)."""
    problems: list[str] = []
    checked = 0
    last_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    wanted = key_id(public)
    for cp in checkpoints:
        checked += 1
        where = f"checkpoint of {cp['ts']} (line {cp.get('line', '?')})"
        try:
            if cp["key_id"] != wanted:
                raise InvalidSignature
            public.verify(base64.b64decode(cp["signature"]), _message(cp))
        except (InvalidSignature, ValueError, TypeError):
            problems.append(f"{where}: its signature does not verify (forged or altered)")
            continue
        seq = int(cp["seq"])
        if seq == 0:
            continue
        if seq > last_seq:
            problems.append(
                f"{where} saw entry {seq}, but the audit log ends at entry {last_seq}: "
                f"{seq - last_seq} or more entries were removed (truncated)"
            )
            continue
        row = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == seq)).first()
        if row is None:
            problems.append(f"{where}: entry {seq} is missing from the audit log")
        elif row.hash != cp["head"]:
            problems.append(
                f"{where}: entry {seq} has another hash than when the checkpoint was signed: "
                "the chain was rewritten"
            )
    return CheckpointResult(checked, problems)
