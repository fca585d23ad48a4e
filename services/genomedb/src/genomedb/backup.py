"""Backups: the catalog and the objects, copied to a second location and verified.

A backup folder holds `catalog/<table>.jsonl` (one consistent snapshot of every table, in
primary-key order), `objects/` (the encrypted object files, named as in the store) and
`BACKUP.json` (row counts and SHA-256 of each table file, the audit chain's head). A backup
into an existing folder is incremental: objects are immutable and content-addressed, so only
new ones are copied, and objects no longer in the catalog (deleted on request) are removed.
Verification re-reads everything: each table file against BACKUP.json, each object file
against the SHA-256 of its encrypted bytes recorded at ingest, every deposited file's
object, and the audit chain. Keys are not in a backup: keep keys/ apart (escrow).

`restore` loads a verified backup into an empty catalog, SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, func, insert, select

from genomedb import audit
from genomedb.catalog import TABLES, audit_log, now, objects, principals, samples
from genomedb.checkpoint import append_checkpoint, make_checkpoint
from genomedb.context import Context
from genomedb.store import ObjectStore, fsync_dir, hash_file

__all__ = ["BackupError", "backup", "restore", "verify_backup"]

CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup is incomplete or does not match what it should hold."""


def _private_file(path: Path) -> BinaryIO:
    """`path` opened for writing, created (or truncated) with mode 0600: catalog copies hold
    the whole catalog and are readable by the service's account only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _snapshot(conn: Connection, folder: Path) -> dict[str, dict[str, Any]]:
    folder.mkdir(mode=0o700, parents=True)
    tables = {}
    for table in TABLES:
        digest, rows = hashlib.sha256(), 0
        with _private_file(folder / f"{table.name}.jsonl") as handle:
            result = conn.execution_options(yield_per=2000).execute(
                select(table).order_by(*table.primary_key.columns)
            )
            for row in result:
                line = json.dumps(dict(row._mapping), sort_keys=True).encode() + b"\n"
                digest.update(line)
                handle.write(line)
                rows += 1
            handle.flush()
            os.fsync(handle.fileno())
        tables[table.name] = {"rows": rows, "sha256": digest.hexdigest()}
    return tables


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as handle:
        for line in handle:
            yield json.loads(line)


def _rows(dest: Path, table: str) -> Iterator[dict[str, Any]]:
    return _jsonl(dest / "catalog" / f"{table}.jsonl")


def _copy_verified(source: Path, target: Path, stored_sha256: str) -> None:
    """Copy an object file, checking the bytes read against the catalog's hash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    digest = hashlib.sha256()
    with source.open("rb") as src, temporary.open("wb") as dst:
        while data := src.read(CHUNK):
            digest.update(data)
            dst.write(data)
        dst.flush()
        os.fsync(dst.fileno())
    if digest.hexdigest() != stored_sha256:
        temporary.unlink()
        raise BackupError(f"object {source.name} in the store is corrupt (its hash changed)")
    os.replace(temporary, target)


def backup(ctx: Context, dest: Path) -> dict[str, Any]:
    """Copy catalog and objects to `dest` (incremental), then verify the copy."""
    dest = dest.resolve()
    if dest == ctx.settings.home or ctx.settings.home in dest.parents:
        raise BackupError("a backup must go to a separate location, not into the home")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)
    staging = dest / f".catalog.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    options = {"isolation_level": "REPEATABLE READ"} if ctx.engine.dialect.name != "sqlite" else {}
    with ctx.engine.connect().execution_options(**options) as conn, conn.begin():
        tables = _snapshot(conn, staging)  # one transaction: a consistent snapshot
    mirror = ObjectStore(dest / "objects")
    wanted = set()
    copied = 0
    damaged = []
    for row in _jsonl(staging / "objects.jsonl"):
        sha256 = row["sha256"]
        wanted.add(sha256)
        target = mirror.path(sha256)
        if (
            target.is_file()
            and target.stat().st_size == row["stored_size"]
            and hash_file(target) == row["stored_sha256"]
        ):
            # Incremental, by checksum: an intact copy is kept, and the store's own file is
            # checked too (a damaged original must not go unnoticed behind a good copy).
            problem = ctx.store.damage(sha256, row["stored_sha256"], row["stored_size"])
            if problem:
                damaged.append(f"object {sha256} in the store: {problem}")
            continue
        try:  # reads the store's file once, checking its checksum as it copies
            _copy_verified(ctx.store.path(sha256), target, row["stored_sha256"])
        except (BackupError, OSError) as error:
            damaged.append(f"object {sha256} in the store, no good copy here: {error}")
            continue
        copied += 1
    if damaged:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(
            "the store has damaged objects (run 'genomedb scrub'; restore them from this "
            "backup's objects/ where it has good copies):\n  - " + "\n  - ".join(damaged)
        )
    removed = 0
    for sha in list(mirror.addresses()):
        if sha not in wanted:
            mirror.delete(sha)
            removed += 1
    previous = dest / "catalog"
    if previous.exists():
        shutil.rmtree(previous)
    os.replace(staging, previous)
    with ctx.engine.connect() as conn:
        head = audit.verify(conn, ctx.audit_key)
    checkpoint = None
    secret = ctx.settings.checkpoint_secret_key
    if os.access(secret, os.R_OK):  # this account may sign: anchor the head with the backup
        with ctx.engine.connect() as conn:
            checkpoint = make_checkpoint(conn, secret)
        append_checkpoint(dest / "audit-checkpoints.jsonl", checkpoint)
    info = {
        "created": now(),
        "audit_checkpoint": checkpoint,
        "source": ctx.engine.dialect.name,
        "tables": tables,
        "objects": len(wanted),
        "audit_head": tables["audit_log"]["rows"],
    }
    with _private_file(dest / "BACKUP.json") as handle:
        handle.write((json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    fsync_dir(dest)
    report = verify_backup(dest, ctx.audit_key)
    report.update(copied=copied, removed=removed, live_audit=str(head))
    return report


def verify_backup(dest: Path, audit_key: bytes | None = None) -> dict[str, Any]:
    """Check a backup completely; a summary, or BackupError listing every problem."""
    info_path = dest / "BACKUP.json"
    if not info_path.is_file():
        raise BackupError(f"{dest} holds no backup (no BACKUP.json)")
    info = json.loads(info_path.read_text())
    problems = []
    for name, expected in info["tables"].items():
        path = dest / "catalog" / f"{name}.jsonl"
        if not path.is_file():
            problems.append(f"table {name} is missing")
            continue
        lines = path.read_bytes().count(b"\n")
        if hash_file(path) != expected["sha256"] or lines != expected["rows"]:
            problems.append(f"table {name} does not match BACKUP.json")
    if problems:
        raise BackupError("backup verification failed:\n  - " + "\n  - ".join(problems))
    mirror = ObjectStore(dest / "objects")
    stored = set()
    size = 0
    for row in _rows(dest, "objects"):
        path = mirror.path(row["sha256"])
        stored.add(row["sha256"])
        if not path.is_file():
            problems.append(f"object {row['sha256']} is missing")
        elif hash_file(path) != row["stored_sha256"]:
            problems.append(f"object {row['sha256']} is corrupt")
        else:
            size += row["stored_size"]
    # Files of committed deposits are objects; a deposit still staging, or answered by an
    # earlier one ("duplicate"), may hold received files that were never stored.
    uncommitted = {d["id"] for d in _rows(dest, "deposits") if d["status"] != "committed"}
    for row in _rows(dest, "deposit_files"):
        if row["deposit_id"] in uncommitted:
            continue
        if row["sha256"] not in stored and row["received_at"]:
            problems.append(f"deposited file {row['drs_id']} has no object")
    chain = "not checked (no audit key)"
    if audit_key is not None:
        result = audit.verify_rows(_rows(dest, "audit_log"), audit_key)
        chain = str(result)
        if not result.ok:
            problems.append(f"audit log: {result}")
    if problems:
        raise BackupError("backup verification failed:\n  - " + "\n  - ".join(problems[:50]))
    return {
        "backup": str(dest),
        "created": info["created"],
        "tables": {name: t["rows"] for name, t in info["tables"].items()},
        "objects": len(stored),
        "object_bytes": size,
        "audit": chain,
    }


def restore(ctx: Context, source: Path) -> dict[str, Any]:
    """Load a verified backup into this home's catalog and store, which must be empty."""
    report = verify_backup(source, ctx.audit_key)
    with ctx.engine.connect() as conn:
        for table in (principals, samples, audit_log, objects):
            if conn.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(
                    f"the catalog is not empty ({table.name}): restore into a new one"
                )
    # Objects first: without catalog rows they are invisible, so a failed restore is harmless.
    mirror = ObjectStore(source / "objects")
    for row in _rows(source, "objects"):
        target = ctx.store.path(row["sha256"])
        if not target.is_file():
            _copy_verified(mirror.path(row["sha256"]), target, row["stored_sha256"])
    with ctx.engine.begin() as conn:
        for table in TABLES:
            batch: list[dict[str, Any]] = []
            for row in _rows(source, table.name):
                batch.append(row)
                if len(batch) == 1000:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
    return report
