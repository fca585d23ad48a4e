"""What every operation needs: settings, catalog engine, keys and the object store."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from genomedb import audit
from genomedb.audit import AuditWriter
from genomedb.catalog import connect, create_schema
from genomedb.checkpoint import generate_checkpoint_key
from genomedb.settings import Settings
from genomedb.store import ObjectStore
from genomedb_contract.crypto import KeyPair, generate_keypair, load_keypair

__all__ = ["Context", "init_home"]


@dataclass
class Context:
    """An opened database home. The secret key is loaded on first use."""

    settings: Settings
    engine: Engine

    @classmethod
    def open(cls, home: Path | None = None) -> Context:
        settings = Settings.load(home)
        return cls(settings, connect(settings.database_url))

    @cached_property
    def read_engine(self) -> Engine:
        """For reads that change nothing: a second engine in autocommit (SQLite: never takes
        the write lock, cannot write)."""
        # As many connections as requests run at once (AnyIO's 40 threads): none is made
        # and closed per request (each connection runs its PRAGMAs when it is made).
        return connect(self.settings.database_url, read_only=True, pool_size=40, max_overflow=10)

    @cached_property
    def audit_writer(self) -> AuditWriter:
        """Writes the HTTP requests' audit entries in batches (genomedb.audit.AuditWriter)."""
        lock = None
        if self.engine.dialect.name == "sqlite":
            lock = self.settings.home / "catalog.sqlite.audit-lock"
        return AuditWriter(self.engine, self.audit_key, lock_file=lock)

    @cached_property
    def keys(self) -> KeyPair:
        return load_keypair(self.settings.secret_key, self.settings.passphrase)

    @cached_property
    def research_key(self) -> bytes:
        return self.settings.read_research_key()

    @cached_property
    def audit_key(self) -> bytes:
        return self.settings.read_audit_key()

    @cached_property
    def store(self) -> ObjectStore:
        return ObjectStore(self.settings.objects_dir)

    def staging(self, deposit_id: str) -> Path:
        return self.settings.staging_dir / deposit_id

    def record(
        self,
        action: str,
        target: Mapping[str, Any],
        outcome: int = 0,
        detail: str = "",
    ) -> None:
        """An audit entry for an administrative command run on the server (not over HTTP)."""
        with self.engine.begin() as conn:
            audit.append(
                conn,
                self.audit_key,
                actor=f"cli:{getpass.getuser()}",
                role="operator",
                department=None,
                action=action,
                method="CLI",
                target=target,
                outcome=outcome,
                detail=detail,
            )


def init_home(
    home: Path,
    database_url: str | None = None,
    passphrase: str | None = None,
    **limits: Any,
) -> Context:
    """Create (or complete) a database home: folders, keys, config and catalog tables."""
    home = home.resolve()
    config = home / "config.json"
    if config.exists():
        settings = Settings.load(home)
    else:
        settings = Settings(home, database_url or Settings.sqlite_url(home), **limits)
    settings.create_dirs()
    if not config.exists():
        settings.save()
    if not settings.secret_key.exists():
        generate_keypair(settings.secret_key, settings.public_key, passphrase)
    if not settings.checkpoint_public_key.exists():
        generate_checkpoint_key(settings.checkpoint_secret_key, settings.checkpoint_public_key)
    context = Context(settings, connect(settings.database_url))
    create_schema(context.engine)
    return context
