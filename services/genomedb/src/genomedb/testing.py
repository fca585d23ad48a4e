"""A real genome database for integration tests, like fastapi.testclient but not in-process:
a real service in a real subprocess (uvicorn on 127.0.0.1, a free port) over a real catalog,
SQLite or PostgreSQL, with one principal per role. Used by the service's own tests and by
the pipeline's export tests (no tests here).

    from genomedb.testing import BACKENDS, PASS, PROVENANCE, deployment

    with deployment(tmp_path, "sqlite") as db:
        receipt = db.deposit("S1", files)              # as the submitter
        db.fetch("clinician", receipt["files"]["vcf"]["drs_id"], tmp_path / "back.vcf.gz")

PostgreSQL is the private cluster of scripts/genomedb/pg_start.sh: each deployment gets a
fresh database in it, dropped afterwards. Without a running cluster the PostgreSQL cases
skip, unless HELGENOM_PG_REQUIRED=1 (scripts/test.sh sets it after starting the cluster).
Skipping and failing go through pytest (the `test` extra), imported only then.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from genomedb import tokens
from genomedb.catalog import connect, deposits, objects
from genomedb.context import Context, init_home
from genomedb.service import Service
from genomedb_contract.client import GenomeDBClient, deposit
from genomedb_contract.crypto import (
    KeyPair,
    encrypt_file,
    generate_keypair,
    load_keypair,
    load_public_key,
)
from genomedb_contract.manifest import build_manifest, canonical_json

__all__ = [
    "BACKENDS",
    "PASS",
    "PROVENANCE",
    "Deployment",
    "Principal",
    "Service",
    "deployment",
    "pg_database",
    "pg_server_url",
    "require_pg",
    "sample_files",
]

BACKENDS = ["sqlite", "postgresql"]
PG_DIR = Path(os.environ.get("HELGENOM_PG_DIR", "/var/tmp/helgenom-pg"))

PROVENANCE: dict[str, Any] = {
    "pipeline": {"name": "helgenom", "version": "0.1.0", "commit": "unknown"},
    "config_sha256": "0" * 64,
    "parameters_sha256": "1" * 64,
    "tools": {"bwa": "0.7.17", "bcftools": "1.16"},
    "reference": {"build": "test", "sha256": "2" * 64},
    "run": {"started": "2026-11-26T08:00:00Z", "finished": "2026-11-26T09:00:00Z"},
}
PASS = {"decision": "pass"}


# ---- PostgreSQL ------------------------------------------------------------------------------
def pg_server_url() -> str | None:
    """The URL of the test cluster's database if it answers, else None."""
    url = os.environ.get("HELGENOM_PG_URL")
    if not url and (PG_DIR / "url").is_file():
        url = (PG_DIR / "url").read_text().strip()
    if not url:
        return None
    engine = connect(url)
    try:
        with engine.connect():
            return url
    except Exception:  # noqa: BLE001 - any failure means: not available
        return None
    finally:
        engine.dispose()


def require_pg() -> str:
    """The test cluster's URL; else skip the test (fail it with HELGENOM_PG_REQUIRED=1)."""
    import pytest

    url = pg_server_url()
    if url is None:
        message = "PostgreSQL test cluster is not running (bash scripts/genomedb/pg_start.sh)"
        if os.environ.get("HELGENOM_PG_REQUIRED") == "1":
            pytest.fail(message + ", but HELGENOM_PG_REQUIRED=1")
        pytest.skip(message)
    return url


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh database in the test cluster; its URL. Dropped afterwards."""
    server = require_pg()
    name = f"genomedb_test_{secrets.token_hex(6)}"
    admin = connect(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


# ---- the service: genomedb.service.Service ----------------------------------------


@dataclass
class Principal:
    """A principal of the deployment: its token and (readers) its key pair."""

    id: str
    role: str
    token: str
    keys: KeyPair | None = None


@dataclass
class Deployment:
    """A database home with a running service and one principal per role."""

    backend: str
    home: Path
    ctx: Context
    service: Service
    principals: dict[str, Principal] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def public_key(self) -> Path:
        return self.ctx.settings.public_key

    def issue(
        self,
        label: str,
        role: str,
        *,
        department: str | None = None,
        projects: tuple[str, ...] = (),
        reader: bool = False,
    ) -> Principal:
        keys = None
        public = None
        if reader:
            folder = self.home.parent / "readers"
            generate_keypair(folder / f"{label}.sec", folder / f"{label}.pub")
            keys = load_keypair(folder / f"{label}.sec")
            public = keys.public
        with self.ctx.engine.begin() as conn:
            principal, token = tokens.issue(
                conn,
                name=label,
                role=role,
                department=department,
                projects=projects,
                public_key=public,
            )
        self.principals[label] = Principal(principal.id, role, token, keys)
        return self.principals[label]

    def client(self, label: str) -> GenomeDBClient:
        return GenomeDBClient(self.url, self.principals[label].token)

    def http(self, label: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.principals[label].token}"} if label else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def register(self, sample_id: str, label: str = "submitter") -> str:
        with self.client(label) as client:
            return client.request("POST", "/api/v1/samples", json={"sample_id": sample_id})[
                "accession"
            ]

    def deposit(
        self,
        sample_id: str,
        files: Mapping[str, Path],
        label: str = "submitter",
        key: str | None = None,
    ) -> dict[str, Any]:
        manifest = build_manifest(sample_id, files, PROVENANCE, qc_gate=PASS, key=key)
        return deposit(
            self.url,
            self.principals[label].token,
            manifest,
            files,
            self.public_key,
            retries=0,
            log=lambda _message: None,
        )

    def open_deposit(self, manifest: Mapping[str, Any], label: str = "submitter") -> dict[str, Any]:
        """Step 1 of a deposit by hand (the tests that stop a deposit half-way)."""
        with self.client(label) as client:
            return client.request(
                "POST",
                "/api/v1/deposits",
                content=canonical_json(manifest),
                headers={"Content-Type": "application/json"},
            )

    def upload(
        self, deposit_id: str, key: str, path: Path, label: str = "submitter"
    ) -> dict[str, Any]:
        """Step 2 by hand: one file, crypt4gh-encrypted to the database's key."""
        with self.client(label) as client:
            return client.request(
                "PUT",
                f"/api/v1/deposits/{deposit_id}/files/{key}",
                content=b"".join(encrypt_file(path, load_public_key(self.public_key))),
                headers={"Content-Type": "application/vnd.ga4gh.crypt4gh"},
            )

    def fetch(self, label: str, drs_id: str, out: Path) -> Path:
        reader = self.principals[label]
        assert reader.keys is not None
        with self.client(label) as client:
            return client.fetch(drs_id, out, reader.keys, self.ctx.keys.public)

    def counts(self) -> dict[str, Any]:
        """What is stored: object files, catalog objects, committed deposits, staged files."""
        with self.ctx.engine.connect() as conn:
            n_objects = conn.execute(select(func.count()).select_from(objects)).scalar()
            committed = conn.execute(
                select(func.count()).select_from(deposits).where(deposits.c.status == "committed")
            ).scalar()
            opened = conn.execute(select(func.count()).select_from(deposits)).scalar()
        return {
            "object_files": sorted(self.ctx.store.addresses()),
            "objects": n_objects,
            "committed": committed,
            "deposits": opened,
            "staged_files": sorted(
                p.name for p in self.ctx.settings.staging_dir.rglob("*") if p.is_file()
            ),
        }


@contextmanager
def deployment(
    tmp: Path, backend: str, *, standard_principals: bool = True, **limits: Any
) -> Iterator[Deployment]:
    """A fresh home on `backend` with a running service (and, by default, one principal per
    role: submitter and clinician of department kg-aarhus, a second department's submitter
    and clinician, a researcher approved for project cohort-a, an auditor and an admin)."""
    with _database(backend) as url:
        home = tmp / "home"
        ctx = init_home(home, url, **limits)
        service = Service(home).start()
        dep = Deployment(backend, home, ctx, service)
        try:
            if standard_principals:
                dep.issue("submitter", "submitter", department="kg-aarhus")
                dep.issue("clinician", "clinician", department="kg-aarhus", reader=True)
                dep.issue("other-submitter", "submitter", department="kg-odense")
                dep.issue("other-clinician", "clinician", department="kg-odense", reader=True)
                dep.issue("researcher", "researcher", projects=("cohort-a",), reader=True)
                dep.issue("auditor", "auditor")
                dep.issue("admin", "admin")
            yield dep
        finally:
            dep.service.stop()  # the one running now (a test may have restarted it)
            ctx.engine.dispose()


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    if backend == "postgresql":
        with pg_database() as url:
            yield url
    else:
        yield None


def sample_files(
    folder: Path, sample_id: str, seed: object = 0, size: int = 200_000
) -> dict[str, Path]:
    """Small stand-ins for a sample's outputs (random bytes; the database does not parse)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{sample_id}-{seed}")
    names = {
        "cram": f"{sample_id}.cram",
        "crai": f"{sample_id}.cram.crai",
        "vcf": f"{sample_id}.vcf.gz",
        "vcf_tbi": f"{sample_id}.vcf.gz.tbi",
        "qc_samtools_stats": f"{sample_id}.stats.txt",
        "report_html": f"{sample_id}.report.html",
    }
    files = {}
    for index, (key, name) in enumerate(sorted(names.items())):
        path = folder / name
        path.write_bytes(rng.randbytes(size if key in ("cram", "vcf") else 1000 + index))
        files[key] = path
    return files


def genomedb_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m genomedb --home HOME ARGS...`, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "genomedb", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
