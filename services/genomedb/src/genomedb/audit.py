"""The audit log: one entry per request (and per administrative command), append-only and
hash-chained.

Each entry's hash is HMAC-SHA256(audit key, previous entry's hash + the entry's canonical
JSON), so changing, removing or inserting an entry breaks the chain from there on, and the
chain cannot be recomputed without the audit key (kept in the home's keys/, not in the
catalog). The database refuses UPDATE and DELETE on the table (triggers). Every string is
masked if it looks like a CPR number: the log never holds a personal identifier.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from genomedb.catalog import audit_log, now, write_lock
from genomedb.naming import mask

__all__ = [
    "GENESIS", "AuditWriter", "Entry", "VerifyResult", "append", "append_entries", "entries",
    "entry_hash", "verify", "verify_rows",
]  # fmt: skip

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "ts", "actor", "role", "department", "action", "method", "target", "outcome", "detail",
)  # fmt: skip


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {name: fields[name] for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()


def entry_hash(key: bytes, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The chain hash of an entry whose predecessor's hash is `prev_hash`."""
    return hmac.new(key, prev_hash.encode() + b"\n" + _canonical(fields), "sha256").hexdigest()


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)[:2000]
    if isinstance(value, Mapping):
        return {mask(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


METHOD_WIDTH = 8  # the catalog's method column (String(8)): PostgreSQL refuses longer values


def _method(method: str) -> str:
    """An HTTP method as the catalog stores it: one longer than the column (a client may send
    any token as its method) is cut and marked with '~', so its entry is still written."""
    method = _clean(method)
    return method if len(method) <= METHOD_WIDTH else method[: METHOD_WIDTH - 1] + "~"


@dataclass(frozen=True)
class Entry:
    """What one audit entry says (its sequence number, time and hashes come when written)."""

    actor: str
    role: str
    department: str | None
    action: str
    method: str
    target: Mapping[str, Any]
    outcome: int
    detail: str = ""


def append_entries(conn: Connection, key: bytes, entries: Sequence[Entry]) -> list[int]:
    """Append entries in order (inside the caller's transaction); their sequence numbers."""
    write_lock(conn)
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    rows = []
    for entry in entries:
        seq += 1
        fields = {
            "seq": seq,
            "ts": now(),
            "actor": _clean(entry.actor),
            "role": _clean(entry.role),
            "department": _clean(entry.department),
            "action": _clean(entry.action),
            "method": _method(entry.method),
            "target": json.dumps(_clean(dict(entry.target)), sort_keys=True, separators=(",", ":")),
            "outcome": int(entry.outcome),
            "detail": _clean(entry.detail),
        }
        digest = entry_hash(key, prev_hash, fields)
        rows.append({**fields, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    if rows:
        conn.execute(insert(audit_log), rows)
    return [row["seq"] for row in rows]


def append(conn: Connection, key: bytes, **entry: Any) -> int:
    """Append one entry (inside the caller's transaction); its sequence number."""
    return append_entries(conn, key, [Entry(**entry)])[0]


class AuditWriter:
    """Group commit of audit entries: requests hand their entry to `submit` and wait for the
    returned future; one thread writes everything queued meanwhile in one transaction (one
    sync to disk) and only then resolves the futures. A request is answered only after its
    entry is committed, so nothing acknowledged can be lost, and the chain stays one chain
    across processes (each batch takes the write lock and links to the last entry)."""

    def __init__(
        self, engine: Engine, key: bytes, max_batch: int = 1000, lock_file: Path | None = None
    ):
        self._engine = engine
        self._key = key
        # SQLite with several worker processes: their writers queue on this file lock (the
        # kernel wakes the next at once) instead of SQLite's busy handler, which sleeps.
        self._lock_file = lock_file
        self._max_batch = max_batch
        self._queue: list[tuple[Entry, Future[int]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, entry: Entry) -> Future[int]:
        future: Future[int] = Future()
        with self._ready:
            self._queue.append((entry, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        if self._lock_file is None:
            yield
            return
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            try:
                with self._process_lock(), self._engine.begin() as conn:
                    seqs = append_entries(conn, self._key, [entry for entry, _ in batch])
            except BaseException as error:  # every waiting request fails with it
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), seq in zip(batch, seqs, strict=True):
                future.set_result(seq)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain: `broken_seq` is the first entry that fails."""

    entries: int
    head: str
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def __str__(self) -> str:
        if self.ok:
            return f"OK: audit chain of {self.entries} entries verified; head {self.head}"
        return (
            f"BROKEN: audit entry {self.broken_seq} fails verification ({self.reason}); "
            f"{self.entries} entries before it verified"
        )


def verify_rows(rows: Iterable[Mapping[str, Any]], key: bytes) -> VerifyResult:
    """Check a chain given as rows in sequence order (from the catalog or a backup)."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return VerifyResult(count, prev_hash, expected_seq, f"entry {expected_seq} is missing")
        if row["prev_hash"] != prev_hash:
            return VerifyResult(
                count, prev_hash, seq, "its link to the previous entry does not match"
            )
        if not hmac.compare_digest(entry_hash(key, prev_hash, row), row["hash"]):
            return VerifyResult(count, prev_hash, seq, "its content does not match its hash")
        prev_hash, expected_seq, count = row["hash"], seq + 1, count + 1
    return VerifyResult(count, prev_hash)


def entries(conn: Connection, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` entries after sequence number `after`, oldest first."""
    rows = conn.execute(
        select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    )
    return [{**row._mapping, "target": json.loads(row.target)} for row in rows]


def verify(conn: Connection, key: bytes) -> VerifyResult:
    """Check the whole chain in the catalog, streaming it in sequence order."""
    result = conn.execution_options(yield_per=2000).execute(
        select(audit_log).order_by(audit_log.c.seq)
    )
    return verify_rows((row._mapping for row in result), key)
