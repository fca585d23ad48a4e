"""The catalog: what the database holds, in SQLite (embedded default) or PostgreSQL.

SQLAlchemy Core tables; timestamps are ISO 8601 UTC strings (identical on both databases,
and hashed as they are into the audit chain). Writes that must not interleave (the audit
chain's next entry, a sample's next version) take the catalog's write lock: SQLite runs every
transaction as BEGIN IMMEDIATE, PostgreSQL takes a transaction-scoped advisory lock.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)

__all__ = [
    "audit_log",
    "connect",
    "create_schema",
    "deposit_files",
    "deposits",
    "metadata",
    "now",
    "objects",
    "principals",
    "project_samples",
    "samples",
    "timestamp",
    "write_lock",
]

metadata = MetaData()

# The integer primary key of the audit log: BIGINT on PostgreSQL, SQLite's rowid alias there.
_SEQ = BigInteger().with_variant(Integer, "sqlite")
_TS = String(32)  # 2026-11-26T10:00:00.123456Z
_SHA256 = String(64)

principals = Table(
    "principals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("department", String(64)),
    Column("projects", Text, nullable=False, default="[]"),  # JSON list of project names
    Column("token_sha256", _SHA256, nullable=False, unique=True),
    Column("public_key", String(64)),  # base64 of the X25519 key reads are encrypted to
    Column("created_at", _TS, nullable=False),
    Column("expires_at", _TS),
    Column("revoked_at", _TS),
)

samples = Table(
    "samples",
    metadata,
    Column("number", _SEQ, primary_key=True, autoincrement=True),
    Column("accession", String(16), nullable=False, unique=True),
    Column("department", String(64), nullable=False),
    Column("sample_id", String(64), nullable=False),
    Column("registered_at", _TS, nullable=False),
    Column("registered_by", String(40), nullable=False),
    # The tombstone: set when the sample's content was deleted on request.
    Column("deleted_at", _TS),
    Column("deleted_by", String(40)),
    Column("deletion_reason", String(500)),
    UniqueConstraint("department", "sample_id", name="uq_samples_department_sample"),
)

deposits = Table(
    "deposits",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("accession", String(16), ForeignKey("samples.accession"), nullable=False),
    Column("status", String(16), nullable=False),  # staging, committed, aborted, duplicate
    Column("content_sha256", _SHA256, nullable=False),
    Column("manifest", Text),  # JSON; removed on deletion
    Column("manifest_sha256", _SHA256, nullable=False),
    Column("version", Integer),
    Column("created_at", _TS, nullable=False),
    Column("created_by", String(40), nullable=False),
    Column("committed_at", _TS),
    UniqueConstraint("accession", "version", name="uq_deposits_accession_version"),
    Index("ix_deposits_accession_status", "accession", "status"),
)

deposit_files = Table(
    "deposit_files",
    metadata,
    Column("deposit_id", String(40), ForeignKey("deposits.id"), primary_key=True),
    Column("key", String(72), primary_key=True),
    Column("filename", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", _SHA256, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("drs_id", String(40), nullable=False, unique=True),
    Column("received_at", _TS),  # set once the file is verified (or reused)
    Column("reused", Boolean, nullable=False, default=False),
    Column("staged_sha256", _SHA256),  # SHA-256 of the verified encrypted upload
    Column("staged_size", BigInteger),
    Index("ix_deposit_files_sha256", "sha256"),
)

objects = Table(
    "objects",
    metadata,
    Column("sha256", _SHA256, primary_key=True),  # of the plaintext: the object's address
    Column("md5", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("stored_sha256", _SHA256, nullable=False),  # of the encrypted bytes on disk
    Column("stored_size", BigInteger, nullable=False),
    Column("created_at", _TS, nullable=False),
)

project_samples = Table(
    "project_samples",
    metadata,
    Column("project", String(64), primary_key=True),
    Column("accession", String(16), ForeignKey("samples.accession"), primary_key=True),
    Column("pseudonym", String(24), nullable=False, unique=True),
    Column("added_at", _TS, nullable=False),
    Column("added_by", String(40), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("ts", _TS, nullable=False),
    Column("actor", String(48), nullable=False),  # principal ID, 'anonymous' or 'cli:<user>'
    Column("role", String(16), nullable=False),
    Column("department", String(64)),
    Column("action", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("target", Text, nullable=False),  # JSON object
    Column("outcome", Integer, nullable=False),  # the HTTP status (CLI: 0 ok, 1 refused)
    Column("detail", Text, nullable=False),
    Column("prev_hash", _SHA256, nullable=False),
    Column("hash", _SHA256, nullable=False),
)

TABLES = (principals, samples, deposits, deposit_files, objects, project_samples, audit_log)

_SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
# Any constant: the advisory lock that serialises the catalog's ordered writes.
_PG_LOCK_KEY = 7_170_707


def timestamp(moment: datetime) -> str:
    """`moment` as the catalog stores times (UTC, microseconds, 'Z')."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The current time as the catalog stores it."""
    return timestamp(datetime.now(UTC))


def private_sqlite(path: Path) -> None:
    """Make the SQLite catalog file (created now if missing) and its -wal/-shm/-journal files
    readable by the service's account only (0600): SQLite creates the -wal and -shm files with
    the database file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.chmod(0o600)


def connect(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for the catalog at `url` (sqlite:///... or postgresql+psycopg://...).

    SQLite: every transaction of the default engine begins IMMEDIATE (one writer at a time,
    no lock upgrades); a `read_only` engine runs each statement on its own (autocommit) and
    cannot write (query_only), so that reads never wait for the write lock (WAL: a read sees
    the last commit). PostgreSQL: a `read_only` engine runs in autocommit (MVCC: reads never
    wait for writers)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            private_sqlite(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event decide
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        if read_only:  # autocommit: each read sees the last commit, no lock is taken
            return engine

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 40)  # as many as requests run at once (AnyIO's threads)
    kwargs.setdefault("max_overflow", 10)
    if read_only:
        # Reads: autocommit (each statement its own snapshot), so no BEGIN, no ROLLBACK when
        # a connection goes back to the pool and no ping when it comes out: one round trip
        # per query. A connection a server restart broke is dropped when it fails, and the
        # read is retried once on a new one (genomedb.app: with_conn).
        return create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,
            pool_pre_ping=False,
            **kwargs,
        )
    return create_engine(url, pool_pre_ping=True, **kwargs)


def write_lock(conn: Connection) -> None:
    """Serialise this transaction with every other ordered write (until it ends)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    # SQLite: every transaction already began with BEGIN IMMEDIATE (one writer at a time).


def create_schema(engine: Engine) -> None:
    """Create missing tables and the audit log's append-only triggers (idempotent)."""
    metadata.create_all(engine)
    statements = (
        _POSTGRES_APPEND_ONLY if engine.dialect.name == "postgresql" else _SQLITE_APPEND_ONLY
    )
    with engine.begin() as conn:
        write_lock(conn)
        for statement in statements:
            conn.exec_driver_sql(statement)
