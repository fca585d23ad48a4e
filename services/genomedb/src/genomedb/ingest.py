"""Deposits: register a sample, open a deposit from a manifest, receive and verify each
file into staging, and commit the whole deposit atomically.

The protocol (each step can be repeated safely):

1. open: the manifest is validated; identical content to the sample's latest version
   returns that version's receipt ("unchanged") and stores nothing, and so does a manifest
   whose idempotency key (`deposit_key`: same sample, input data, run and analysis) a
   committed version was deposited under ("already_deposited"); an open staging deposit
   of the same content is resumed; otherwise a new staging deposit is made. Files already
   stored for the same sample need no upload.
2. upload, per file: the crypt4gh stream is written to staging, decrypted with the database's
   key and checked against the manifest's size, SHA-256 and MD5. A failed check removes it.
3. commit: under the catalog's write lock, every verified file is linked into the object
   store (content-addressed) and the deposit becomes the sample's next version in one
   transaction. Before that, nothing of the deposit is visible; a deposit interrupted at any
   point can be opened again and completed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from genomedb.catalog import deposit_files, deposits, now, objects, samples, write_lock
from genomedb.context import Context
from genomedb.errors import (
    GenomeDBError,
    bad_request,
    conflict,
    gone,
    not_found,
    parse_json,
    too_large,
)
from genomedb.naming import (
    SERVICE_ID_RE,
    accession_for,
    check_file_key,
    check_identifier,
    new_id,
)
from genomedb.store import fsync_dir
from genomedb.tokens import Principal
from genomedb_contract.crypto import CryptError, encrypted_size, verify_and_digest
from genomedb_contract.manifest import SCHEMA_SOURCE, canonical_json, manifest_problems

__all__ = [
    "UploadTarget",
    "accept_upload",
    "commit",
    "content_sha256",
    "deposit_state",
    "open_deposit",
    "prepare_upload",
    "receipt",
    "register_sample",
]

# Upper bound of a crypt4gh header with one data-key packet (124 bytes), with room to spare.
MAX_HEADER_BYTES = 1024


def content_sha256(files: Mapping[str, Mapping[str, Any]]) -> str:
    """What makes two deposits of a sample the same: each file's key, size and SHA-256."""
    content = {key: [int(f["size"]), f["sha256"]] for key, f in files.items()}
    return hashlib.sha256(canonical_json(content)).hexdigest()


# ---- samples ---------------------------------------------------------------------------------
def _sample_row(conn: Connection, department: str | None, sample_id: str) -> Row[Any]:
    row = conn.execute(
        select(samples).where(samples.c.department == department, samples.c.sample_id == sample_id)
    ).first()
    if row is None:
        raise not_found(
            f"unknown sample: '{sample_id}' is not registered for department '{department}'; "
            "register it first (POST /api/v1/samples). Nothing was stored."
        )
    if row.deleted_at is not None:
        raise gone(
            f"sample '{sample_id}' ({row.accession}) was withdrawn on {row.deleted_at}: its "
            "content was deleted and it cannot be deposited again. Nothing was stored."
        )
    return row


def register_sample(ctx: Context, principal: Principal, sample_id: Any) -> tuple[int, dict]:
    """Register a sample of the principal's department (idempotent): 201 new, 200 known."""
    sample_id = check_identifier(sample_id, "sample_id")
    with ctx.engine.begin() as conn:
        write_lock(conn)
        row = conn.execute(
            select(samples).where(
                samples.c.department == principal.department, samples.c.sample_id == sample_id
            )
        ).first()
        if row is not None:
            _sample_row(conn, principal.department, sample_id)  # 410 if withdrawn
            return 200, _sample_summary(row)
        last = conn.execute(select(samples.c.number).order_by(samples.c.number.desc())).first()
        number = (last.number if last else 0) + 1
        values = {
            "number": number,
            "accession": accession_for(number),
            "department": principal.department,
            "sample_id": sample_id,
            "registered_at": now(),
            "registered_by": principal.id,
        }
        conn.execute(insert(samples).values(**values))
        return 201, _sample_summary(values)


def _sample_summary(row: Any) -> dict[str, Any]:
    m = row if isinstance(row, dict) else row._mapping
    return {
        "accession": m["accession"],
        "sample_id": m["sample_id"],
        "department": m["department"],
        "registered_at": m["registered_at"],
    }


# ---- deposits --------------------------------------------------------------------------------
def _latest(conn: Connection, accession: str) -> Row[Any] | None:
    return conn.execute(
        select(deposits)
        .where(deposits.c.accession == accession, deposits.c.status == "committed")
        .order_by(deposits.c.version.desc())
        .limit(1)
    ).first()


def _committed_under_key(conn: Connection, accession: str, key: str | None) -> Row[Any] | None:
    """The newest committed version of the sample deposited under idempotency key `key`."""
    if key is None:
        return None
    committed = conn.execute(
        select(deposits.c.id, deposits.c.manifest)
        .where(deposits.c.accession == accession, deposits.c.status == "committed")
        .order_by(deposits.c.version.desc())
    ).all()
    return next(
        (row for row in committed if json.loads(row.manifest).get("deposit_key") == key), None
    )


def _held_answer(
    conn: Connection, accession: str, latest: Row[Any] | None, content: str, key: str | None
) -> dict[str, Any] | None:
    """The answer to a deposit the database already holds, or None: the latest version's
    receipt for identical content ("unchanged"), else the receipt of the version committed
    under the same idempotency key ("already_deposited")."""
    if latest is not None and latest.content_sha256 == content:
        return {"status": "unchanged", "receipt": receipt(conn, latest.id)}
    earlier = _committed_under_key(conn, accession, key)
    if earlier is not None:
        return {"status": "already_deposited", "receipt": receipt(conn, earlier.id)}
    return None


def receipt(conn: Connection, deposit_id: str) -> dict[str, Any]:
    """The receipt of a committed deposit: accession, version and every file's checksums."""
    row = conn.execute(
        select(deposits, samples.c.sample_id, samples.c.department)
        .join(samples, samples.c.accession == deposits.c.accession)
        .where(deposits.c.id == deposit_id)
    ).one()
    files = conn.execute(
        select(deposit_files)
        .where(deposit_files.c.deposit_id == deposit_id)
        .order_by(deposit_files.c.key)
    )
    return {
        "accession": row.accession,
        "version": row.version,
        "sample_id": row.sample_id,
        "department": row.department,
        "deposit_id": row.id,
        "committed_at": row.committed_at,
        "manifest_sha256": row.manifest_sha256,
        "content_sha256": row.content_sha256,
        "files": {
            f.key: {
                "filename": f.filename,
                "size": f.size,
                "sha256": f.sha256,
                "md5": f.md5,
                "drs_id": f.drs_id,
            }
            for f in files
        },
    }


def _state(conn: Connection, deposit: Row[Any], status: str) -> dict[str, Any]:
    files = conn.execute(
        select(deposit_files.c.key, deposit_files.c.received_at)
        .where(deposit_files.c.deposit_id == deposit.id)
        .order_by(deposit_files.c.key)
    ).all()
    return {
        "status": status,
        "deposit_id": deposit.id,
        "accession": deposit.accession,
        "upload": [f.key for f in files if f.received_at is None],
        "received": [f.key for f in files if f.received_at is not None],
    }


def open_deposit(ctx: Context, principal: Principal, body: bytes) -> tuple[int, dict[str, Any]]:
    """Step 1: validate the manifest and open (or resume, or answer) a deposit."""
    manifest = parse_json(
        body, "the request body", "send the manifest as application/json (nothing was stored)"
    )
    problems = manifest_problems(manifest)
    if problems:
        raise bad_request(
            f"the manifest does not follow {SCHEMA_SOURCE} "
            "(nothing was stored):\n  - " + "\n  - ".join(problems[:20])
        )
    files: dict[str, dict[str, Any]] = manifest["files"]
    limit = ctx.settings.max_file_bytes
    for key, entry in files.items():
        if entry["size"] > limit:
            raise too_large(
                f"file '{key}' is {entry['size']} bytes; this database accepts at most {limit} "
                "bytes per file. Nothing was stored."
            )
    text = canonical_json(manifest)
    digest = content_sha256(files)
    with ctx.engine.begin() as conn:
        write_lock(conn)
        sample = _sample_row(conn, principal.department, manifest["sample_id"])
        latest = _latest(conn, sample.accession)
        held = _held_answer(conn, sample.accession, latest, digest, manifest.get("deposit_key"))
        if held is not None:
            return 200, held
        staging = conn.execute(
            select(deposits)
            .where(
                deposits.c.accession == sample.accession,
                deposits.c.status == "staging",
                deposits.c.content_sha256 == digest,
            )
            .order_by(deposits.c.created_at)
            .limit(1)
        ).first()
        if staging is not None:
            _forget_lost_uploads(ctx, conn, staging.id)
            return 200, _state(conn, staging, "resumed")
        stored = _stored_for(conn, sample.accession, {f["sha256"] for f in files.values()})
        deposit_id = new_id("dep")
        conn.execute(
            insert(deposits).values(
                id=deposit_id,
                accession=sample.accession,
                status="staging",
                content_sha256=digest,
                manifest=text.decode(),
                manifest_sha256=hashlib.sha256(text).hexdigest(),
                created_at=now(),
                created_by=principal.id,
            )
        )
        for key, entry in files.items():
            reused = entry["sha256"] in stored
            conn.execute(
                insert(deposit_files).values(
                    deposit_id=deposit_id,
                    key=key,
                    filename=entry["filename"],
                    size=entry["size"],
                    sha256=entry["sha256"],
                    md5=entry["md5"],
                    drs_id=new_id("drs"),
                    received_at=now() if reused else None,
                    reused=reused,
                )
            )
        row = conn.execute(select(deposits).where(deposits.c.id == deposit_id)).one()
        return 201, _state(conn, row, "staging")


def _forget_lost_uploads(ctx: Context, conn: Connection, deposit_id: str) -> None:
    """Mark received files whose staged copy is gone (cleaned up) as to be uploaded again."""
    received = conn.execute(
        select(deposit_files).where(
            deposit_files.c.deposit_id == deposit_id,
            deposit_files.c.received_at.is_not(None),
            deposit_files.c.reused.is_(False),
        )
    ).all()
    for f in received:
        if not _staged_path(ctx, deposit_id, f.key, f.staged_sha256).is_file():
            conn.execute(
                update(deposit_files)
                .where(deposit_files.c.deposit_id == deposit_id, deposit_files.c.key == f.key)
                .values(received_at=None, staged_sha256=None, staged_size=None)
            )


def _stored_for(conn: Connection, accession: str, sha256s: set[str]) -> set[str]:
    """Which of these contents the sample's committed versions already hold (no re-upload).

    Only the same sample's own files count: a submitter cannot claim content it never sent.
    """
    rows = conn.execute(
        select(deposit_files.c.sha256)
        .join(deposits, deposits.c.id == deposit_files.c.deposit_id)
        .where(
            deposits.c.accession == accession,
            deposits.c.status == "committed",
            deposit_files.c.sha256.in_(sorted(sha256s)),
        )
    )
    return {r.sha256 for r in rows}


def _own_deposit(conn: Connection, principal: Principal, deposit_id: str) -> Row[Any]:
    """The deposit, if it belongs to the principal's department (else 404, not 403)."""
    row = None
    if SERVICE_ID_RE.fullmatch(deposit_id):
        row = conn.execute(
            select(deposits, samples.c.department, samples.c.deleted_at)
            .join(samples, samples.c.accession == deposits.c.accession)
            .where(deposits.c.id == deposit_id)
        ).first()
    if row is None or row.department != principal.department:
        raise not_found("no such deposit for your department")
    return row


def _replayed(deposit: Row[Any]) -> GenomeDBError:
    if deposit.status == "committed":
        return conflict(
            f"replayed request: deposit {deposit.id} was already committed as "
            f"{deposit.accession} version {deposit.version}; nothing was stored. To deposit "
            "again, open a new deposit (identical content returns the same receipt)."
        )
    return conflict(
        f"deposit {deposit.id} is {deposit.status}: open a new deposit. Nothing was stored."
    )


def deposit_state(ctx: Context, principal: Principal, deposit_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        deposit = _own_deposit(conn, principal, deposit_id)
        if deposit.status == "committed":
            return {"status": "committed", "receipt": receipt(conn, deposit.id)}
        return _state(conn, deposit, deposit.status)


@dataclass(frozen=True)
class UploadTarget:
    """Where one file's upload is written, and what it must turn out to be."""

    deposit_id: str
    key: str
    part: Path
    size: int
    sha256: str
    md5: str

    @property
    def max_bytes(self) -> int:
        """The most encrypted bytes a file of the declared size can take."""
        return encrypted_size(self.size, MAX_HEADER_BYTES)


def prepare_upload(ctx: Context, principal: Principal, deposit_id: str, key: str) -> UploadTarget:
    """Step 2a: check that this file of this deposit may be uploaded now."""
    check_file_key(key)
    with ctx.engine.connect() as conn:
        deposit = _own_deposit(conn, principal, deposit_id)
        if deposit.status != "staging":
            raise _replayed(deposit)
        entry = conn.execute(
            select(deposit_files).where(
                deposit_files.c.deposit_id == deposit_id, deposit_files.c.key == key
            )
        ).first()
    if entry is None:
        raise not_found(f"file '{key}' is not in this deposit's manifest; nothing was stored")
    if entry.received_at is not None:
        raise conflict(
            f"file '{key}' was already received and verified for this deposit; nothing was "
            "stored twice"
        )
    folder = ctx.staging(deposit_id)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{key}.{new_id('up', 10)}.part"
    return UploadTarget(deposit_id, key, part, entry.size, entry.sha256, entry.md5)


def _staged_path(ctx: Context, deposit_id: str, key: str, staged_sha256: str) -> Path:
    return ctx.staging(deposit_id) / f"{key}.{staged_sha256}.c4gh"


def accept_upload(
    ctx: Context, principal: Principal, target: UploadTarget, staged_sha256: str, staged_size: int
) -> dict[str, Any]:
    """Step 2b: decrypt and check a fully written upload; keep it in staging if it matches."""
    try:
        try:
            digests, _ = verify_and_digest(target.part, ctx.keys, max_plain=target.size)
        except CryptError as error:
            raise bad_request(f"file '{target.key}': {error}. Nothing was stored.") from error
        wrong = [
            f"{what} is {got}, the manifest says {want}"
            for what, got, want in (
                ("size", digests.size, target.size),
                ("SHA-256", digests.sha256, target.sha256),
                ("MD5", digests.md5, target.md5),
            )
            if got != want
        ]
        if wrong:
            raise bad_request(
                f"file '{target.key}' does not match the manifest: {'; '.join(wrong)}. "
                "Nothing was stored."
            )
        staged = _staged_path(ctx, target.deposit_id, target.key, staged_sha256)
        os.replace(target.part, staged)
        fsync_dir(staged.parent)
    finally:
        target.part.unlink(missing_ok=True)
    this_file = (
        deposit_files.c.deposit_id == target.deposit_id,
        deposit_files.c.key == target.key,
    )
    recorded = None
    with ctx.engine.begin() as conn:
        deposit = _own_deposit(conn, principal, target.deposit_id)
        done = 0
        if deposit.status == "staging":
            done = conn.execute(
                update(deposit_files)
                .where(*this_file, deposit_files.c.received_at.is_(None))
                .values(received_at=now(), staged_sha256=staged_sha256, staged_size=staged_size)
            ).rowcount
        if done != 1:
            recorded = conn.execute(
                select(deposit_files.c.staged_sha256).where(*this_file)
            ).scalar()
    if done != 1:
        if recorded == staged_sha256:
            # The same bytes, received by a concurrent request: the staged file is the one the
            # catalog now names (both requests renamed identical bytes onto it); keep it.
            return {"key": target.key, "received": True, **asdict(digests)}
        staged.unlink(missing_ok=True)  # only this request's own staged file
        raise conflict(f"file '{target.key}' was received by another request meanwhile")
    return {"key": target.key, "received": True, **asdict(digests)}


def commit(ctx: Context, principal: Principal, deposit_id: str) -> tuple[int, dict[str, Any]]:
    """Step 3: make a fully received deposit the sample's next version, atomically."""
    with ctx.engine.begin() as conn:
        write_lock(conn)
        deposit = _own_deposit(conn, principal, deposit_id)
        if deposit.status != "staging":
            raise _replayed(deposit)
        if deposit.deleted_at is not None:
            raise gone(f"sample {deposit.accession} was withdrawn; nothing was stored")
        files = conn.execute(
            select(deposit_files).where(deposit_files.c.deposit_id == deposit_id)
        ).all()
        missing = sorted(f.key for f in files if f.received_at is None)
        if missing:
            raise conflict(
                f"not all files are received yet (missing: {', '.join(missing)}); upload them, "
                "then commit. Nothing was committed."
            )
        latest = _latest(conn, deposit.accession)
        key = json.loads(deposit.manifest).get("deposit_key")
        held = _held_answer(conn, deposit.accession, latest, deposit.content_sha256, key)
        if held is not None:
            # An identical deposit, or one under the same key, was committed meanwhile.
            conn.execute(
                update(deposits).where(deposits.c.id == deposit_id).values(status="duplicate")
            )
            status, result = 200, held
        else:
            _store_objects(ctx, conn, deposit_id, files)
            conn.execute(
                update(deposits)
                .where(deposits.c.id == deposit_id)
                .values(
                    status="committed",
                    version=(latest.version if latest else 0) + 1,
                    committed_at=now(),
                )
            )
            status, result = 201, {"status": "created", "receipt": receipt(conn, deposit_id)}
    shutil.rmtree(ctx.staging(deposit_id), ignore_errors=True)
    return status, result


def _store_objects(ctx: Context, conn: Connection, deposit_id: str, files: list[Row[Any]]) -> None:
    """Link each new content into the object store and the catalog (inside the commit)."""
    for f in files:
        if f.reused:
            continue
        known = conn.execute(select(objects.c.sha256).where(objects.c.sha256 == f.sha256)).first()
        if known is not None:
            continue  # stored before (or twice in this deposit): nothing is stored twice
        staged = _staged_path(ctx, deposit_id, f.key, f.staged_sha256)
        if not staged.is_file():
            raise GenomeDBError(
                409, f"the staged upload of '{f.key}' is missing: upload it again (reopen)"
            )
        ctx.store.put(staged, f.sha256)
        conn.execute(
            insert(objects).values(
                sha256=f.sha256,
                md5=f.md5,
                size=f.size,
                stored_sha256=f.staged_sha256,
                stored_size=f.staged_size,
                created_at=now(),
            )
        )
