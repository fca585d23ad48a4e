"""The genome database service end to end over HTTP, on SQLite and on PostgreSQL: deposits,
idempotency, versions, encryption at rest, reads, deletion, backups, audit chain."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from genomedb.backup import BackupError, backup, restore, verify_backup
from genomedb.context import init_home
from genomedb.testing import (
    BACKENDS,
    PASS,
    PROVENANCE,
    Deployment,
    deployment,
    genomedb_cli,
    sample_files,
)
from genomedb_contract.crypto import decrypt_to
from genomedb_contract.manifest import build_manifest


@pytest.fixture(scope="module", params=BACKENDS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp(f"genomedb-{request.param}"), request.param) as dep:
        yield dep


_genomedb = genomedb_cli


def test_deposit_and_authorised_reads_are_byte_identical(db: Deployment, tmp_path: Path) -> None:
    files = sample_files(tmp_path / "in", "S-READ")
    accession = db.register("S-READ")
    receipt = db.deposit("S-READ", files)
    assert (receipt["accession"], receipt["version"], receipt["sample_id"]) == (
        accession,
        1,
        "S-READ",
    )
    assert set(receipt["files"]) == set(files)
    for key in ("vcf", "vcf_tbi", "report_html"):
        got = db.fetch("clinician", receipt["files"][key]["drs_id"], tmp_path / f"c-{key}")
        assert got.read_bytes() == files[key].read_bytes()
    # The researcher sees the sample only once it is in an approved project, pseudonymised.
    cram_id = receipt["files"]["cram"]["drs_id"]
    with db.http("researcher") as http:
        assert http.get(f"/ga4gh/drs/v1/objects/{cram_id}").status_code == 404
    with db.http("admin") as http:
        link = http.post("/api/v1/projects/cohort-a/samples", json={"accession": accession})
        assert link.status_code == 200, link.text
    with db.http("researcher") as http:
        listing = http.get("/api/v1/projects/cohort-a/samples").json()
        meta = http.get(f"/ga4gh/drs/v1/objects/{cram_id}")
    (entry,) = [s for s in listing["samples"] if s["pseudonym"] == link.json()["pseudonym"]]
    assert set(entry["objects"]) == {"cram", "crai", "vcf", "vcf_tbi", "qc_samtools_stats"}
    # Researchers read through project-scoped IDs only: the DRS ID itself stays unknown.
    assert meta.status_code == 404
    research_cram = entry["objects"]["cram"]
    assert research_cram != cram_id
    with db.http("researcher") as http:
        meta = http.get(f"/ga4gh/drs/v1/objects/{research_cram}").json()
    text_seen = json.dumps([listing, meta])
    assert "S-READ" not in text_seen and accession not in text_seen and cram_id not in text_seen
    assert meta["name"] == f"{entry['pseudonym']}.cram" and meta["id"] == research_cram
    got = db.fetch("researcher", research_cram, tmp_path / "r-cram")
    assert got.read_bytes() == files["cram"].read_bytes()


def test_identical_deposit_returns_same_receipt_and_stores_nothing(
    db: Deployment, tmp_path: Path
) -> None:
    files = sample_files(tmp_path / "in", "S-SAME")
    db.register("S-SAME")
    first = db.deposit("S-SAME", files)
    before = db.counts()
    again = db.deposit("S-SAME", files)
    assert again == first
    assert db.counts() == before


def test_changed_content_becomes_a_new_version(db: Deployment, tmp_path: Path) -> None:
    files = sample_files(tmp_path / "in", "S-VERS")
    db.register("S-VERS")
    v1 = db.deposit("S-VERS", files)
    before = db.counts()
    files["vcf"].write_bytes(b"a recalled VCF" * 1000)
    v2 = db.deposit("S-VERS", files)
    assert (v2["accession"], v2["version"]) == (v1["accession"], 2)
    assert v2["files"]["vcf"]["sha256"] != v1["files"]["vcf"]["sha256"]
    assert v2["files"]["cram"]["sha256"] == v1["files"]["cram"]["sha256"]
    after = db.counts()
    assert after["objects"] == before["objects"] + 1  # only the new VCF is stored
    assert after["committed"] == before["committed"] + 1
    with db.client("submitter") as client:
        old = client.request("GET", f"/api/v1/receipts/{v1['accession']}/1")
        detail = client.request("GET", f"/api/v1/samples/{v1['accession']}")
    assert old == v1  # never overwritten
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    old_vcf = db.fetch("clinician", v1["files"]["vcf"]["drs_id"], tmp_path / "old.vcf")
    assert old_vcf.read_bytes() != files["vcf"].read_bytes()


def test_one_deposit_per_idempotency_key(db: Deployment, tmp_path: Path) -> None:
    """A run continued on another site deposits under the key the primary used: a report made
    again there (new time stamp) does not become a second version; a new key does."""
    files = sample_files(tmp_path / "in", "S-KEY")
    db.register("S-KEY")
    first = db.deposit("S-KEY", files, key="a" * 64)
    before = db.counts()
    files["report_html"].write_bytes(b"<p>made again on the passive site</p>")
    again = db.deposit("S-KEY", files, key="a" * 64)
    assert again.pop("already_deposited") is True
    assert again.pop("local_files_differ") == ["report_html"]
    assert again == first
    assert db.counts() == before
    # Without a key, or under another key (a changed analysis), it is the next version.
    assert db.deposit("S-KEY", files, key="b" * 64)["version"] == 2
    files["report_html"].write_bytes(b"<p>a third report</p>")
    assert db.deposit("S-KEY", files)["version"] == 3


def test_a_deposit_committed_meanwhile_under_the_same_key_wins(
    db: Deployment, tmp_path: Path
) -> None:
    """Two deposits under one key race (a cut-off deposit of the primary is completed after
    the passive site deposited): the second commit stores nothing and answers with the
    first's receipt."""
    files = sample_files(tmp_path / "in", "S-RACE")
    db.register("S-RACE")
    manifest = build_manifest("S-RACE", files, PROVENANCE, qc_gate=PASS, key="c" * 64)
    opened = db.open_deposit(manifest)
    assert opened["status"] == "staging"
    files["report_html"].write_bytes(b"<p>the other site's report</p>")
    winner = db.deposit("S-RACE", files, key="c" * 64)
    assert winner["version"] == 1
    first = sample_files(tmp_path / "again", "S-RACE")  # the first manifest's content
    for key in opened["upload"]:
        db.upload(opened["deposit_id"], key, first[key])
    before = db.counts()
    with db.client("submitter") as client:
        late = client.request("POST", f"/api/v1/deposits/{opened['deposit_id']}/commit")
    assert late["status"] == "already_deposited"
    assert late["receipt"] == winner
    after = db.counts()
    assert (after["committed"], after["objects"]) == (before["committed"], before["objects"])


def test_objects_are_encrypted_at_rest_and_content_addressed(
    db: Deployment, tmp_path: Path
) -> None:
    files = sample_files(tmp_path / "in", "S-REST")
    db.register("S-REST")
    receipt = db.deposit("S-REST", files)
    for entry in receipt["files"].values():
        path = db.ctx.store.path(entry["sha256"])
        data = path.read_bytes()
        assert data.startswith(b"crypt4gh")
        plain = files[next(k for k in files if files[k].name == entry["filename"])].read_bytes()
        assert plain[:64] not in data
        with path.open("rb") as source, (tmp_path / "plain").open("wb") as out:
            digests = decrypt_to(source, out, db.ctx.keys)
        assert digests.sha256 == entry["sha256"]


def test_clinician_reads_only_vcfs_and_reports_of_own_department(
    db: Deployment, tmp_path: Path
) -> None:
    files = sample_files(tmp_path / "in", "S-SCOPE")
    db.register("S-SCOPE")
    receipt = db.deposit("S-SCOPE", files)
    ids = {key: entry["drs_id"] for key, entry in receipt["files"].items()}
    with db.http("clinician") as http:
        assert http.get(f"/ga4gh/drs/v1/objects/{ids['vcf']}").status_code == 200
        refused = http.get(f"/ga4gh/drs/v1/objects/{ids['cram']}")
        assert refused.status_code == 403
        assert "may not read 'cram'" in refused.json()["detail"]
    with db.http("other-clinician") as http:
        assert http.get(f"/ga4gh/drs/v1/objects/{ids['vcf']}").status_code == 404
    with db.http("other-submitter") as http:
        assert http.get(f"/api/v1/receipts/{receipt['accession']}/1").status_code == 404
        assert http.get("/api/v1/samples", params={"sample_id": "S-SCOPE"}).json() == []


def test_deletion_on_request_removes_content_keeps_tombstone(
    db: Deployment, tmp_path: Path
) -> None:
    files = sample_files(tmp_path / "in", "S-GONE")
    accession = db.register("S-GONE")
    receipt = db.deposit("S-GONE", files)
    shas = {entry["sha256"] for entry in receipt["files"].values()}
    with db.http("admin") as http:
        answer = http.request(
            "DELETE", f"/api/v1/samples/{accession}", json={"reason": "consent withdrawn"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["objects_removed"] == len(shas)
    assert not shas & set(db.ctx.store.addresses())
    with db.http("clinician") as http:
        assert (
            http.get(f"/ga4gh/drs/v1/objects/{receipt['files']['vcf']['drs_id']}").status_code
            == 404
        )
    with db.http("submitter") as http:
        gone = http.get(f"/api/v1/receipts/{accession}/1")
        assert gone.status_code == 410 and "withdrawn" in gone.json()["detail"]
        assert http.get("/api/v1/samples", params={"sample_id": "S-GONE"}).json()[0]["withdrawn"]
    with db.ctx.engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM samples WHERE accession = :a"), {"a": accession}
        ).one()
        assert row.deleted_at and row.deletion_reason == "consent withdrawn"
        files_left = conn.execute(
            text(
                "SELECT count(*) FROM deposit_files f JOIN deposits d ON d.id = f.deposit_id "
                "WHERE d.accession = :a"
            ),
            {"a": accession},
        ).scalar()
        assert files_left == 0
        logged = (
            conn.execute(text("SELECT outcome FROM audit_log WHERE action = 'samples.delete'"))
            .scalars()
            .all()
        )
        assert 200 in logged
    # A pipeline rerun cannot bring the withdrawn sample back.
    with pytest.raises(Exception, match="withdrawn"):
        db.deposit("S-GONE", files)


def test_backup_copies_verifies_and_restores(db: Deployment, tmp_path: Path) -> None:
    files = sample_files(tmp_path / "in", "S-BACKUP")
    db.register("S-BACKUP")
    receipt = db.deposit("S-BACKUP", files)
    target = tmp_path / "second-site"
    done = _genomedb(db.home, "backup", "--to", str(target))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["objects"] >= len(files) and report["audit"].startswith("OK")
    # Incremental: a second backup copies nothing new.
    assert backup(db.ctx, target)["copied"] == 0
    # Restore into a new home (SQLite) that holds the same keys (escrowed apart).
    new_home = tmp_path / "restored"
    shutil.copytree(db.ctx.settings.keys_dir, new_home / "keys")
    restored = init_home(new_home)
    restore(restored, target)
    vcf = receipt["files"]["vcf"]["sha256"]
    with restored.store.path(vcf).open("rb") as source, (tmp_path / "v").open("wb") as out:
        assert decrypt_to(source, out, restored.keys).sha256 == vcf
    assert _genomedb(new_home, "verify-audit").returncode == 0
    # A damaged copy is found.
    victim = next((target / "objects").rglob("*.c4gh"))
    victim.write_bytes(victim.read_bytes()[:-1] + b"\0")
    with pytest.raises(BackupError, match="corrupt"):
        verify_backup(target, db.ctx.audit_key)
    bad = _genomedb(db.home, "verify-backup", str(target))
    assert bad.returncode == 1 and "corrupt" in bad.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_audit_log_is_append_only_and_tampering_is_detected(backend: str, tmp_path: Path) -> None:
    with deployment(tmp_path, backend) as db:
        _tamper_and_verify(db)


def _tamper_and_verify(db: Deployment) -> None:
    with db.http("submitter") as http:
        for _ in range(3):
            http.get("/api/v1/whoami")
    ok = _genomedb(db.home, "verify-audit")
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    with pytest.raises(Exception, match="append-only"), db.ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 200 WHERE seq = 3"))
    with pytest.raises(Exception, match="append-only"), db.ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    # Someone with the database's owner rights switches the guard off and edits entry 3.
    with db.ctx.engine.begin() as conn:
        if db.backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'pr-someoneelse' WHERE seq = 3"))
    broken = _genomedb(db.home, "verify-audit")
    assert broken.returncode == 1
    assert broken.stdout.startswith("BROKEN: audit entry 3 fails verification"), broken.stdout
    with db.http("auditor") as http:
        answer = http.get("/api/v1/audit/verify").json()
    assert (answer["ok"], answer["broken_seq"]) == (False, 3)


def test_command_line_administration(tmp_path: Path) -> None:
    """init, keys, token issue/list/revoke through the command line; tokens never listed."""
    home = tmp_path / "home"
    assert _genomedb(home, "init").returncode == 0
    assert _genomedb(home, "init").returncode == 0  # idempotent: keys and catalog kept
    public = _genomedb(home, "keys", "public").stdout
    assert public.startswith("-----BEGIN CRYPT4GH PUBLIC KEY-----")
    reader = _genomedb(
        home,
        "keys",
        "generate",
        "--secret",
        str(tmp_path / "r.sec"),
        "--public",
        str(tmp_path / "r.pub"),
    )
    assert reader.returncode == 0
    issued = _genomedb(
        home, "token", "issue", "--role", "clinician", "--name", "dr-x", "--department", "kg-x",
        "--public-key", str(tmp_path / "r.pub"), "--out", str(tmp_path / "dr.token"),
        "--expires-days", "30",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = (tmp_path / "dr.token").read_text().strip()
    assert (tmp_path / "dr.token").stat().st_mode & 0o777 == 0o600 and token not in issued.stdout
    listed = _genomedb(home, "token", "list")
    (principal,) = json.loads(listed.stdout)
    assert principal["role"] == "clinician" and principal["has_public_key"]
    assert token not in listed.stdout
    secret = token.split(".")[-1].encode()
    assert not any(secret in path.read_bytes() for path in home.glob("catalog.sqlite*"))
    refused = _genomedb(home, "token", "issue", "--role", "clinician", "--name", "x", "--no-expiry")
    assert refused.returncode == 1 and "needs a department" in refused.stderr
    # Expiry is explicit: none given, 0 or negative days are refused; nothing is issued.
    no_expiry = _genomedb(home, "token", "issue", "--role", "auditor", "--name", "a")
    assert no_expiry.returncode == 2 and "--expires-days" in no_expiry.stderr
    for days in ("0", "-1", "nan"):
        zero = _genomedb(
            home, "token", "issue", "--role", "auditor", "--name", "a", "--expires-days", days
        )
        assert zero.returncode == 1 and "must be above 0" in zero.stderr, (days, zero.stderr)
    assert _genomedb(home, "token", "revoke", principal["id"]).returncode == 0
    assert _genomedb(home, "token", "revoke", principal["id"]).returncode == 1
    audit = _genomedb(home, "verify-audit")
    assert audit.returncode == 0 and "OK: audit chain of 2 entries" in audit.stdout
