"""Every role against every endpoint: the allowed calls succeed, all others are refused, and
every attempt is in the audit log (who, role, action, outcome). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from genomedb.access import ACTIONS
from genomedb.app import create_app
from genomedb.catalog import audit_log
from genomedb.testing import BACKENDS, PASS, PROVENANCE, Deployment, deployment, sample_files
from genomedb_contract.crypto import encrypt_file
from genomedb_contract.manifest import build_manifest, canonical_json

ROLES = ("submitter", "clinician", "researcher", "auditor", "admin")
CALLERS = (None, "invalid", *ROLES)  # None: no token at all

Request = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module", params=BACKENDS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp(f"roles-{request.param}"), request.param) as dep:
        yield dep


def _state(db: Deployment, tmp: Path) -> dict[str, Any]:
    """A deposited sample in an approved project, a staging deposit with one file left to
    upload, and a second sample to delete."""
    files = sample_files(tmp / "a", "S-MATRIX")
    accession = db.register("S-MATRIX")
    receipt = db.deposit("S-MATRIX", files)
    with db.client("admin") as admin:
        admin.request("POST", "/api/v1/projects/cohort-a/samples", json={"accession": accession})
    files["vcf"].write_bytes(b"version two" * 100)
    manifest = build_manifest("S-MATRIX", files, PROVENANCE, qc_gate=PASS)
    with db.client("submitter") as client:
        staging = client.request("POST", "/api/v1/deposits", content=canonical_json(manifest))
    assert staging["upload"] == ["vcf"]
    db.register("S-MATRIX-DEL")
    doomed = db.deposit("S-MATRIX-DEL", sample_files(tmp / "b", "S-MATRIX-DEL"))
    with db.client("researcher") as researcher:
        listing = researcher.request("GET", "/api/v1/projects/cohort-a/samples")
    return {
        "accession": accession,
        "manifest": canonical_json(manifest),
        "vcf": receipt["files"]["vcf"]["drs_id"],
        # researchers read through project-scoped IDs (genomedb.research)
        "vcf_research": listing["samples"][0]["objects"]["vcf"],
        "deposit": staging["deposit_id"],
        "upload": b"".join(encrypt_file(files["vcf"], db.ctx.keys.public)),
        "doomed": doomed["accession"],
    }


# action -> the request; all target things in the scope of the allowed principals.
REQUESTS: dict[str, Callable[[dict[str, Any]], Request]] = {
    "health": lambda s: ("GET", "/health", {}),
    "whoami": lambda s: ("GET", "/api/v1/whoami", {}),
    "drs.service_info": lambda s: ("GET", "/ga4gh/drs/v1/service-info", {}),
    "samples.register": lambda s: ("POST", "/api/v1/samples", {"json": {"sample_id": "S-MATRIX"}}),
    "samples.find": lambda s: ("GET", "/api/v1/samples", {"params": {"sample_id": "S-MATRIX"}}),
    "samples.get": lambda s: ("GET", f"/api/v1/samples/{s['accession']}", {}),
    "receipts.get": lambda s: ("GET", f"/api/v1/receipts/{s['accession']}/1", {}),
    "deposits.open": lambda s: ("POST", "/api/v1/deposits", {"content": s["manifest"]}),
    "deposits.get": lambda s: ("GET", f"/api/v1/deposits/{s['deposit']}", {}),
    "deposits.upload": lambda s: (
        "PUT",
        f"/api/v1/deposits/{s['deposit']}/files/vcf",
        {"content": s["upload"]},
    ),  # fmt: skip
    "deposits.commit": lambda s: ("POST", f"/api/v1/deposits/{s['deposit']}/commit", {}),
    "drs.object": lambda s: ("GET", f"/ga4gh/drs/v1/objects/{s['vcf']}", {}),
    "drs.access": lambda s: ("GET", f"/ga4gh/drs/v1/objects/{s['vcf']}/access/crypt4gh", {}),
    "objects.content": lambda s: ("GET", f"/api/v1/objects/{s['vcf']}/crypt4gh", {}),
    "projects.list": lambda s: ("GET", "/api/v1/projects/cohort-a/samples", {}),
    "projects.add_sample": lambda s: (
        "POST",
        "/api/v1/projects/cohort-a/samples",
        {"json": {"accession": s["accession"]}},
    ),  # fmt: skip
    "principals.list": lambda s: ("GET", "/api/v1/principals", {}),
    "audit.read": lambda s: ("GET", "/api/v1/audit", {"params": {"limit": 5}}),
    "audit.verify": lambda s: ("GET", "/api/v1/audit/verify", {}),
    "samples.delete": lambda s: (
        "DELETE",
        f"/api/v1/samples/{s['doomed']}",
        {"json": {"reason": "consent withdrawn"}},
    ),  # fmt: skip
}
ALLOWED = {**{action: set(roles) for action, roles in ACTIONS.items()}, "health": set(CALLERS)}


def test_the_matrix_covers_every_endpoint(db: Deployment) -> None:
    names = {route.name for route in create_app(db.ctx).routes if hasattr(route, "methods")}
    assert names == set(REQUESTS) == set(ALLOWED)


def _last_entry(db: Deployment) -> Any:
    with db.ctx.engine.connect() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).one()


def test_role_action_matrix(db: Deployment, tmp_path: Path) -> None:
    state = _state(db, tmp_path)
    results: dict[tuple[str, str], int] = {}
    for action, build in REQUESTS.items():
        # Allowed callers last: refused attempts must not change what the allowed one finds.
        for caller in sorted(CALLERS, key=lambda c: (c in ALLOWED[action], str(c))):
            scoped = {**state, "vcf": state["vcf_research"]} if caller == "researcher" else state
            method, path, kwargs = build(scoped)
            headers = {}
            if caller == "invalid":
                headers["Authorization"] = "Bearer hgdb.pr-nobody.not-a-real-token"
            elif caller is not None:
                headers["Authorization"] = f"Bearer {db.principals[caller].token}"
            answer = httpx.request(method, db.url + path, headers=headers, timeout=60, **kwargs)
            status = answer.status_code
            results[(action, str(caller))] = status
            if caller in ALLOWED[action]:
                assert 200 <= status < 300, (action, caller, answer.text)
            elif caller in (None, "invalid"):
                assert status == 401, (action, caller, answer.text)
                assert "token" in answer.json()["detail"]
            else:
                assert status == 403, (action, caller, answer.text)
                assert f"role '{caller}' may not perform '{action}'" in answer.json()["detail"]
            entry = _last_entry(db)
            assert (entry.action, entry.method, entry.outcome) == (action, method, status)
            if action == "health":  # open to all: no token is looked at
                assert entry.actor == "anonymous"
            elif caller in ROLES:
                assert (entry.actor, entry.role) == (db.principals[caller].id, caller)
            else:
                assert entry.actor == ("invalid-token" if caller == "invalid" else "anonymous")
    assert len(results) == len(REQUESTS) * len(CALLERS)
    with db.http("auditor") as http:
        assert http.get("/api/v1/audit/verify").json()["ok"] is True
