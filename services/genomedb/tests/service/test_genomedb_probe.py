"""Regression tests for what an outside probe of the service found (issue 12), on SQLite and
PostgreSQL: personal data echoed or stored, credentials in the audit log, crashes (500) on
bad input, world-readable catalog files, a copied home writing into the original."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from genomedb.backup import backup
from genomedb.context import Context
from genomedb.testing import BACKENDS, Deployment, deployment, genomedb_cli, sample_files

CPR = "120385-1234"
CPR_DIGITS = ("120385", "1234")
# The forms the widened CPR check catches (separators, dashes, full-width digits).
CPR_FORMS = (
    "120385 1234",
    "120385.1234",
    "120385_1234",
    "120385\u20131234",  # en dash
    "120385/1234",
    "\uff11\uff12\uff10\uff13\uff18\uff15-\uff11\uff12\uff13\uff14",  # full-width digits
)


@pytest.fixture(scope="module", params=BACKENDS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp(f"probe-{request.param}")
    with deployment(tmp, request.param) as dep:
        yield dep


@pytest.fixture(scope="module")
def deposited(db: Deployment, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A committed deposit of sample S-PROBE (its receipt)."""
    db.register("S-PROBE")
    files = sample_files(tmp_path_factory.mktemp("probe-files"), "S-PROBE", size=20_000)
    return db.deposit("S-PROBE", files)


def _audit_text(db: Deployment) -> str:
    with db.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq"))
        return json.dumps([list(map(str, row)) for row in rows], ensure_ascii=False)


def _last_audit(db: Deployment) -> dict[str, Any]:
    with db.ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    return dict(row._mapping)


def _no_cpr(*texts: str) -> None:
    for value in texts:
        assert CPR not in value and "1203851234" not in value, value


# ---- 1. free text that is stored passes the CPR check --------------------------------------
def test_a_deletion_reason_with_a_cpr_number_is_refused(
    db: Deployment, deposited: dict[str, Any]
) -> None:
    accession = deposited["accession"]
    with db.http("admin") as http:
        answer = http.request(
            "DELETE",
            f"/api/v1/samples/{accession}",
            json={"reason": f"consent withdrawn by patient {CPR}"},
        )
    assert answer.status_code == 422, answer.text
    assert "looks like a CPR number" in answer.json()["detail"]
    _no_cpr(answer.text)
    with db.ctx.engine.connect() as conn:
        reason = conn.execute(
            text("SELECT deletion_reason FROM samples WHERE accession = :a"), {"a": accession}
        ).scalar()
    assert reason is None  # nothing was deleted or stored
    _no_cpr(_audit_text(db))


# ---- 2. no response, log line or audit entry echoes a CPR-like value -------------------------
ECHOING = (
    ("clinician", "GET", "/api/v1/samples/{cpr}"),
    ("clinician", "GET", "/api/v1/receipts/{cpr}/1"),
    ("clinician", "GET", "/ga4gh/drs/v1/objects/{cpr}"),
    ("clinician", "GET", "/ga4gh/drs/v1/objects/{cpr}/access/crypt4gh"),
    ("clinician", "GET", "/api/v1/objects/{cpr}/crypt4gh"),
    ("submitter", "GET", "/api/v1/deposits/{cpr}"),
    ("submitter", "POST", "/api/v1/deposits/{cpr}/commit"),
    ("admin", "DELETE", "/api/v1/samples/{cpr}"),
    ("admin", "POST", "/api/v1/projects/{cpr}/samples"),
    ("researcher", "GET", "/api/v1/projects/{cpr}/samples"),
    (None, "GET", "/no/such/{cpr}"),
)


@pytest.mark.parametrize(("who", "method", "path"), ECHOING)
def test_cpr_like_values_in_requests_are_never_echoed(
    db: Deployment, who: str | None, method: str, path: str
) -> None:
    body = {"reason": "test", "accession": CPR} if method in ("POST", "DELETE") else None
    with db.http(who) as http:
        answer = http.request(method, path.format(cpr=CPR), json=body)
    assert 400 <= answer.status_code < 500, answer.text
    _no_cpr(answer.text)
    entry = _last_audit(db)
    _no_cpr(json.dumps({k: str(v) for k, v in entry.items()}))
    log = db.service.log.read_text(errors="replace")
    _no_cpr(log)


# ---- 3. no credentials in the audit log -------------------------------------------------------
def test_a_token_in_the_query_string_is_not_stored(db: Deployment) -> None:
    token = db.principals["auditor"].token
    with db.http() as http:
        http.get("/api/v1/whoami", params={"access_token": token, "x": "1"})
        http.get("/api/v1/whoami", params={"api_key": token, "my_token": token})
    with db.http("auditor") as http:
        entries = http.get("/api/v1/audit", params={"after": 0, "limit": 1000}).text
    secret = token.split(".")[-1]
    assert secret not in entries and secret not in _audit_text(db)
    assert "access_token=[redacted]&x=1" in entries
    assert "api_key=[redacted]&my_token=[redacted]" in entries


# ---- 5. bad input gets a 4xx with a message and an audit entry, never a 500 ----------------
@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("submitter", "POST", "/api/v1/samples"),
        ("submitter", "POST", "/api/v1/deposits"),
        ("admin", "DELETE", "/api/v1/samples/HGS000001"),
    ],
)
def test_deeply_nested_json_is_refused(db: Deployment, who: str, method: str, path: str) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    with db.http(who) as http:
        answer = http.request(
            method, path, content=nested, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code in (413, 422), answer.text
    assert "nests" in answer.json()["detail"] or "larger than" in answer.json()["detail"]
    assert _last_audit(db)["outcome"] == answer.status_code
    shallow = b'{"sample_id": ' + b"[" * 40 + b"]" * 40 + b"}"
    with db.http(who) as http:
        answer = http.request(
            method, path, content=shallow, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422 and "nests 41 levels deep" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("who", "path", "params"),
    [
        ("submitter", "/api/v1/receipts/HGS000001/" + str(2**64), None),
        ("submitter", "/api/v1/receipts/HGS000001/" + "9" * 40, None),
        ("auditor", "/api/v1/audit", {"after": str(2**64)}),
        ("auditor", "/api/v1/audit", {"after": "-" + "9" * 30}),
        ("auditor", "/api/v1/audit", {"limit": str(2**70)}),
    ],
)
def test_integers_beyond_64_bit_are_refused(
    db: Deployment, who: str, path: str, params: dict[str, str] | None
) -> None:
    with db.http(who) as http:
        answer = http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert "invalid request parameters" in answer.json()["detail"]
    assert _last_audit(db)["outcome"] == 422


def test_a_long_http_method_is_answered_and_audited(db: Deployment) -> None:
    with db.http("clinician") as http:
        answer = http.request("PROPFINDEXTENDED", "/api/v1/samples")
    assert 400 <= answer.status_code < 500, answer.text
    entry = _last_audit(db)
    assert entry["outcome"] == answer.status_code and entry["method"] == "PROPFIN~"


@pytest.mark.parametrize("damage", ["missing", "header"])
def test_content_of_a_damaged_stored_object_is_not_a_crash(
    db: Deployment, deposited: dict[str, Any], damage: str
) -> None:
    drs_id = deposited["files"]["vcf"]["drs_id"]
    with db.http("clinician") as http:
        sha256 = http.get(f"/ga4gh/drs/v1/objects/{drs_id}").json()["checksums"]
    address = next(c["checksum"] for c in sha256 if c["type"] == "sha-256")
    path = db.ctx.store.path(address)
    saved = path.read_bytes()
    try:
        if damage == "missing":
            path.unlink()
        else:
            path.write_bytes(saved[:10] + bytes([saved[10] ^ 0xFF]) + saved[11:])
        with db.http("clinician") as http:
            answer = http.get(f"/api/v1/objects/{drs_id}/crypt4gh")
        assert answer.status_code == 503, answer.text
        assert "missing or damaged" in answer.json()["detail"]
        entry = _last_audit(db)
        assert entry["outcome"] == 503 and "missing or damaged" in entry["detail"]
    finally:
        path.write_bytes(saved)


# ---- 9. the widened CPR check ------------------------------------------------------------
@pytest.mark.parametrize("form", CPR_FORMS)
def test_cpr_variants_are_refused_as_sample_ids(db: Deployment, form: str) -> None:
    with db.http("submitter") as http:
        answer = http.post("/api/v1/samples", json={"sample_id": form})
    assert answer.status_code == 422 and "CPR" in answer.json()["detail"], answer.text
    assert "120385" not in answer.text and "1234" not in answer.text


# ---- 11. file modes; a copied home ----------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_catalog_and_backup_files_are_private(db: Deployment, tmp_path: Path) -> None:
    home = db.home
    assert _mode(home) == 0o700
    for folder in (home / "objects", home / "staging", home / "keys"):
        assert _mode(folder) == 0o700, folder
    if db.backend == "sqlite":
        catalog = list(home.glob("catalog.sqlite*"))
        assert {p.name for p in catalog} >= {"catalog.sqlite", "catalog.sqlite-wal"}
        for path in catalog:
            assert _mode(path) == 0o600, path
    dest = tmp_path / "backup"
    backup(db.ctx, dest)
    assert _mode(dest) == 0o700
    files = [p for p in dest.rglob("*") if p.is_file() and "objects" not in p.parts]
    assert files and all(_mode(p) == 0o600 for p in files), [(p, oct(_mode(p))) for p in files]


def test_a_copied_home_refuses_to_run_and_a_moved_one_runs(tmp_path: Path) -> None:
    from genomedb.context import init_home

    original = tmp_path / "original"
    init_home(original).engine.dispose()
    config = json.loads((original / "config.json").read_text())
    assert config["database_url"] == "sqlite:///{home}/catalog.sqlite"  # relative to the home
    moved = tmp_path / "moved"
    shutil.move(original, moved)
    ctx = Context.open(moved)  # a moved home finds its own catalog
    assert str(moved / "catalog.sqlite") in str(ctx.engine.url)
    ctx.engine.dispose()
    # A home from before (an absolute catalog path), copied: it would write into the original.
    config["database_url"] = f"sqlite:///{moved / 'catalog.sqlite'}"
    (moved / "config.json").write_text(json.dumps(config))
    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)
    with pytest.raises(ValueError, match="not in this home.*copied or moved"):
        Context.open(copy)
    Context.open(moved).engine.dispose()  # the original still opens


def test_http_client_sees_no_500_for_an_unknown_content_type(db: Deployment) -> None:
    with db.http("submitter") as http:
        answer = http.post(
            "/api/v1/samples", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422 and "not JSON" in answer.json()["detail"]
    assert isinstance(answer, httpx.Response)


# ---- 6. two identical concurrent uploads ------------------------------------------------------
def test_two_identical_concurrent_uploads_keep_the_accepted_file(
    db: Deployment, tmp_path: Path
) -> None:
    """Both requests pass the upload check before either is accepted (as two concurrent PUTs
    of the same bytes do), then are accepted one after the other: the second must not delete
    the staged file the first made the catalog name, and the deposit commits."""
    from genomedb import ingest, tokens
    from genomedb.testing import PASS, PROVENANCE
    from genomedb_contract.crypto import encrypt_file, load_public_key
    from genomedb_contract.manifest import build_manifest

    db.register("S-TWICE")
    files = sample_files(tmp_path / "in", "S-TWICE", size=5_000)
    opened = db.open_deposit(build_manifest("S-TWICE", files, PROVENANCE, qc_gate=PASS))
    deposit_id = opened["deposit_id"]
    with db.ctx.engine.connect() as conn:
        principal = tokens.authenticate(conn, db.principals["submitter"].token)
    assert principal is not None
    recipient = load_public_key(db.public_key)
    for key, path in files.items():
        data = b"".join(encrypt_file(path, recipient))
        first = ingest.prepare_upload(db.ctx, principal, deposit_id, key)
        second = ingest.prepare_upload(db.ctx, principal, deposit_id, key)
        digest = hashlib.sha256(data).hexdigest()
        for target in (first, second):
            target.part.write_bytes(data)
        answers = [
            ingest.accept_upload(db.ctx, principal, target, digest, len(data))
            for target in (first, second)
        ]
        assert all(a["received"] for a in answers)
    status, result = ingest.commit(db.ctx, principal, deposit_id)
    assert (status, result["status"]) == (201, "created"), result
    assert set(result["receipt"]["files"]) == set(files)


# ---- 7. silent corruption: served, backed up, scrubbed ---------------------------------------
def _object_file(db: Deployment, deposited: dict[str, Any], key: str) -> tuple[str, Path]:
    drs_id = deposited["files"][key]["drs_id"]
    with db.http("clinician") as http:
        checksums = http.get(f"/ga4gh/drs/v1/objects/{drs_id}").json()["checksums"]
    address = next(c["checksum"] for c in checksums if c["type"] == "sha-256")
    return drs_id, db.ctx.store.path(address)


def _flip_last_byte(path: Path) -> bytes:
    saved = path.read_bytes()
    path.write_bytes(saved[:-1] + bytes([saved[-1] ^ 0x01]))
    return saved


def test_one_flipped_byte_is_refused_scrubbed_and_stops_the_backup(
    db: Deployment, deposited: dict[str, Any], tmp_path: Path
) -> None:
    from genomedb.backup import BackupError, verify_backup
    from genomedb.scrub import scrub

    drs_id, path = _object_file(db, deposited, "vcf")
    dest = tmp_path / "backup"
    backup(db.ctx, dest)
    assert scrub(db.ctx)["damaged"] == []
    with db.http("clinician") as http:
        assert http.get(f"/api/v1/objects/{drs_id}/crypt4gh").status_code == 200
    saved = _flip_last_byte(path)  # in the encrypted body: the header still decrypts
    try:
        with db.http("clinician") as http:
            answer = http.get(f"/api/v1/objects/{drs_id}/crypt4gh")
        assert answer.status_code == 503 and "missing or damaged" in answer.json()["detail"]
        report = scrub(db.ctx)
        assert [d["object"] for d in report["damaged"]] == [path.stem]
        assert "checksum" in report["damaged"][0]["problem"]
        with pytest.raises(BackupError, match=f"object {path.stem} in the store"):
            backup(db.ctx, dest)  # incremental, by checksum: the good copy is kept
        verify_backup(dest, db.ctx.audit_key)
    finally:
        path.write_bytes(saved)
    # A damaged copy in the backup (same size) is replaced by the next backup.
    mirror = dest / "objects" / path.relative_to(db.ctx.settings.objects_dir)
    _flip_last_byte(mirror)
    backup(db.ctx, dest)
    assert mirror.read_bytes() == path.read_bytes()


# ---- 4. the chain's head anchored outside the catalog ----------------------------------------
_genomedb = genomedb_cli


def _drop_append_only_triggers(conn: Any, backend: str) -> None:
    if backend == "sqlite":
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncating_or_rewriting_the_audit_log_is_caught_by_a_checkpoint(
    backend: str, tmp_path: Path
) -> None:
    from genomedb import audit

    with deployment(tmp_path, backend) as dep:
        with dep.http("auditor") as http:
            for _ in range(30):
                assert http.get("/api/v1/whoami").status_code == 200
        checkpoints = tmp_path / "elsewhere" / "checkpoints.jsonl"
        checkpoints.parent.mkdir()
        made = _genomedb(dep.home, "checkpoint", "--to", str(checkpoints))
        assert made.returncode == 0, made.stderr
        assert stat.S_IMODE(checkpoints.stat().st_mode) == 0o600
        ok = _genomedb(dep.home, "verify-audit", "--checkpoints", str(checkpoints))
        assert ok.returncode == 0 and "1 checkpoint(s)" in ok.stdout, ok.stdout + ok.stderr

        # Truncation: the triggers dropped, the last 20 entries deleted.
        with dep.ctx.engine.begin() as conn:
            _drop_append_only_triggers(conn, backend)
            last = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar()
            conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": last - 20})
        chain_only = _genomedb(dep.home, "verify-audit")
        assert chain_only.returncode == 0, "the chain alone cannot see a lost end"
        caught = _genomedb(dep.home, "verify-audit", "--checkpoints", str(checkpoints))
        assert caught.returncode == 1, caught.stdout
        assert "entries were removed (truncated)" in caught.stdout

        # A rewrite with the audit key: every hash recomputed after one entry was changed.
        made = _genomedb(dep.home, "checkpoint", "--to", str(checkpoints))
        assert made.returncode == 0, made.stderr
        with dep.ctx.engine.begin() as conn:
            rows = [
                dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY seq"))
            ]
            rows[2]["detail"] = "rewritten"
            prev = audit.GENESIS
            for row in rows:
                row["prev_hash"], row["hash"] = prev, audit.entry_hash(dep.ctx.audit_key, prev, row)
                prev = row["hash"]
                conn.execute(
                    text("UPDATE audit_log SET detail=:d, prev_hash=:p, hash=:h WHERE seq=:s"),
                    {"d": row["detail"], "p": row["prev_hash"], "h": row["hash"], "s": row["seq"]},
                )
        assert _genomedb(dep.home, "verify-audit").returncode == 0  # the chain is consistent
        caught = _genomedb(dep.home, "verify-audit", "--checkpoints", str(checkpoints))
        assert caught.returncode == 1 and "the chain was rewritten" in caught.stdout

        # A forged checkpoint (its entry number changed) does not verify.
        lines = checkpoints.read_text().splitlines()
        forged = json.loads(lines[-1]) | {"seq": 1}
        checkpoints.write_text("\n".join([*lines, json.dumps(forged)]) + "\n")
        caught = _genomedb(dep.home, "verify-audit", "--checkpoints", str(checkpoints))
        assert "signature does not verify" in caught.stdout


# ---- 10. research exposure cannot be linked -------------------------------------------------
def test_projects_cannot_link_a_sample_and_never_see_its_department_id(
    db: Deployment, tmp_path: Path
) -> None:
    if "researcher-b" not in db.principals:
        db.issue("researcher-b", "researcher", projects=("cohort-b",), reader=True)
    files = sample_files(tmp_path / "in", "S-LINK", size=5_000)
    renamed = {}
    for key, path in files.items():  # file names carrying the sample ID in another case
        target = path.with_name(f"s-link_{key}{''.join(path.suffixes)}")
        path.rename(target)
        renamed[key] = target
    accession = db.register("S-LINK")
    db.deposit("S-LINK", renamed)
    seen: dict[str, dict[str, Any]] = {}
    for project, researcher in (("cohort-a", "researcher"), ("cohort-b", "researcher-b")):
        with db.http("admin") as http:
            link = http.post(f"/api/v1/projects/{project}/samples", json={"accession": accession})
        pseudonym = link.json()["pseudonym"]
        with db.http(researcher) as http:
            listing = http.get(f"/api/v1/projects/{project}/samples").json()
            (entry,) = [s for s in listing["samples"] if s["pseudonym"] == pseudonym]
            metas = {
                key: http.get(f"/ga4gh/drs/v1/objects/{object_id}").json()
                for key, object_id in entry["objects"].items()
            }
        text_seen = json.dumps([listing, metas]).lower()
        assert "s-link" not in text_seen and accession.lower() not in text_seen
        for meta in metas.values():
            assert meta["name"].startswith(pseudonym), meta["name"]
        seen[project] = {"pseudonym": pseudonym, "ids": set(entry["objects"].values())}
    a, b = seen["cohort-a"], seen["cohort-b"]
    assert a["pseudonym"] != b["pseudonym"] and not a["ids"] & b["ids"]
    # An ID opens only in its own project.
    with db.http("researcher-b") as http:
        for object_id in a["ids"]:
            assert http.get(f"/ga4gh/drs/v1/objects/{object_id}").status_code == 404


# ---- load: audit entries in batches, from several worker processes --------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_requests_on_two_workers_are_all_audited_in_one_chain(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answered request has its entry (written before the answer), the batches of two
    worker processes form one verifiable chain, and reads take no write lock."""
    from concurrent.futures import ThreadPoolExecutor

    from genomedb import audit

    monkeypatch.setenv("HELGENOM_GENOMEDB_WORKERS", "2")
    with deployment(tmp_path, backend) as dep:
        with dep.ctx.engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
        token = dep.principals["clinician"].token

        def burst(_: int) -> list[int]:
            with httpx.Client(base_url=dep.url, headers={"Authorization": f"Bearer {token}"}) as h:
                return [h.get("/api/v1/whoami").status_code for _ in range(25)]

        with ThreadPoolExecutor(16) as pool:
            statuses = [s for batch in pool.map(burst, range(16)) for s in batch]
        assert statuses == [200] * 400
        with dep.ctx.engine.connect() as conn:
            after = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
            chain = audit.verify(conn, dep.ctx.audit_key)
            actors = {
                row[0]
                for row in conn.execute(
                    text("SELECT actor FROM audit_log WHERE seq > :s"), {"s": before}
                )
            }
        assert after - before == 400 and chain.ok, chain
        assert actors == {dep.principals["clinician"].id}
