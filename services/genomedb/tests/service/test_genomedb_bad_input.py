"""Bad input is refused with a clear message and nothing is stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from genomedb.testing import BACKENDS, PASS, PROVENANCE, Deployment, deployment, sample_files
from genomedb_contract.client import DepositError, deposit
from genomedb_contract.crypto import encrypt_file
from genomedb_contract.manifest import build_manifest, canonical_json

MAX_FILE_BYTES = 2_000_000


@pytest.fixture(scope="module", params=BACKENDS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp(f"bad-{request.param}")
    with deployment(tmp, request.param, max_file_bytes=MAX_FILE_BYTES) as dep:
        dep.register("S-BAD")
        yield dep


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return sample_files(tmp_path / "in", "S-BAD", seed=tmp_path.name)


def _manifest(files: dict[str, Path], sample_id: str = "S-BAD") -> dict[str, Any]:
    return build_manifest(sample_id, files, PROVENANCE, qc_gate=PASS)


def _open(db: Deployment, body: bytes | dict[str, Any]) -> httpx.Response:
    content = body if isinstance(body, bytes) else canonical_json(body)
    with db.http("submitter") as http:
        return http.post(
            "/api/v1/deposits", content=content, headers={"Content-Type": "application/json"}
        )


def _put(db: Deployment, deposit_id: str, key: str, data: bytes) -> httpx.Response:
    with db.http("submitter") as http:
        return http.put(f"/api/v1/deposits/{deposit_id}/files/{key}", content=data)


def _encrypted(path: Path, recipient: bytes) -> bytes:
    return b"".join(encrypt_file(path, recipient))


def _refused(answer: httpx.Response, status: int, *phrases: str) -> str:
    assert answer.status_code == status, answer.text
    message = answer.json()["detail"]
    for phrase in phrases:
        assert phrase in message, message
    return message


def _unchanged(db: Deployment, before: dict[str, Any], staging_ok: bool = True) -> None:
    after = db.counts()
    assert after["object_files"] == before["object_files"]
    assert after["objects"] == before["objects"]
    assert after["committed"] == before["committed"]
    assert not [name for name in after["staged_files"] if name.endswith(".part")]
    if staging_ok:
        assert after["staged_files"] == before["staged_files"]


def _fresh_deposit(db: Deployment, files: dict[str, Path]) -> tuple[str, dict[str, Any]]:
    manifest = _manifest(files)
    answer = _open(db, manifest)
    assert answer.status_code == 201, answer.text
    return answer.json()["deposit_id"], manifest


def test_wrong_checksum(db: Deployment, files: dict[str, Path]) -> None:
    manifest = _manifest(files)
    manifest["files"]["vcf"]["sha256"] = "ab" * 32
    before = db.counts()
    deposit_id = _open(db, manifest).json()["deposit_id"]
    answer = _put(db, deposit_id, "vcf", _encrypted(files["vcf"], db.ctx.keys.public))
    _refused(answer, 422, "file 'vcf' does not match the manifest", "SHA-256 is", "Nothing")
    _unchanged(db, before)
    with db.http("submitter") as http:
        commit = http.post(f"/api/v1/deposits/{deposit_id}/commit")
    _refused(commit, 409, "not all files are received", "vcf")
    _unchanged(db, before)
    # Through the client the export uses: the deposit fails with the service's message.
    with pytest.raises(DepositError, match="does not match the manifest"):
        deposit(db.url, db.principals["submitter"].token, manifest, files, db.public_key,
                retries=0, log=lambda _m: None)  # fmt: skip
    _unchanged(db, before, staging_ok=False)


@pytest.mark.parametrize(
    ("damage", "phrase"),
    [
        (lambda data: data[:-100], "fails authentication"),
        (lambda data: data[:40], "not a crypt4gh file"),
        (lambda data: data[: len(data) - 200_000 - 4 * 28 + 10], "truncated"),
        # Cut at a segment boundary: every segment left decrypts, but the size is wrong.
        (lambda data: data[: len(data) - 200_000 - 4 * 28 + 3 * 65_564], "size is 196608"),
    ],
    ids=["in-last-segment", "in-header", "in-first-segment", "at-segment-boundary"],
)
def test_truncated_crypt4gh(
    db: Deployment, files: dict[str, Path], damage: Any, phrase: str
) -> None:
    deposit_id, _ = _fresh_deposit(db, files)
    before = db.counts()
    data = damage(_encrypted(files["cram"], db.ctx.keys.public))
    _refused(_put(db, deposit_id, "cram", data), 422, "file 'cram'", phrase, "Nothing was stored")
    _unchanged(db, before)


def test_not_crypt4gh_or_wrong_key(db: Deployment, files: dict[str, Path]) -> None:
    deposit_id, _ = _fresh_deposit(db, files)
    before = db.counts()
    plain = files["vcf"].read_bytes()
    _refused(_put(db, deposit_id, "vcf", plain), 422, "not a crypt4gh file")
    other = db.principals["clinician"].keys
    assert other is not None
    wrong_key = _encrypted(files["vcf"], other.public)
    _refused(_put(db, deposit_id, "vcf", wrong_key), 422, "not encrypted to this key")
    _unchanged(db, before)


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda m: m["files"].pop("cram"), "'cram' is a required property"),
        (lambda m: m["files"]["vcf"].update(sha256="not-hex"), "files.vcf.sha256"),
        (lambda m: m.update(extra="x"), "Additional properties are not allowed"),
        (lambda m: m["qc_gate"].update(decision="fail"), "qc_gate.decision"),
        (
            lambda m: (
                m["files"].pop("gvcf_tbi")
                if "gvcf_tbi" in m["files"]
                else m["files"].update(gvcf=dict(m["files"]["vcf"], filename="S-BAD.g.vcf.gz"))
            ),
            "'gvcf_tbi' is a dependency of 'gvcf'",
        ),  # fmt: skip
        (lambda m: m["provenance"].pop("tools"), "'tools' is a required property"),
    ],
    ids=["no-cram", "bad-sha", "extra-field", "qc-failed", "gvcf-without-index", "no-tools"],
)
def test_manifest_failing_its_schema(
    db: Deployment, files: dict[str, Path], change: Any, phrase: str
) -> None:
    manifest = copy.deepcopy(_manifest(files))
    change(manifest)
    before = db.counts()
    _refused(
        _open(db, manifest),
        422,
        "does not follow contract/src/genomedb_contract/manifest.schema.json",
        phrase,
    )
    assert db.counts() == before


def test_not_json_and_too_large_manifest(db: Deployment) -> None:
    before = db.counts()
    _refused(_open(db, b"{not json"), 422, "not JSON")
    _refused(_open(db, b"[" + b" " * 1_100_000 + b"]"), 413, "larger than")
    assert db.counts() == before


def test_unknown_sample(db: Deployment, files: dict[str, Path]) -> None:
    before = db.counts()
    message = _refused(_open(db, _manifest(files, "S-NEVER-REGISTERED")), 404, "unknown sample")
    assert "register it first" in message
    # A sample of another department is unknown to this one.
    with db.http("other-submitter") as http:
        answer = http.post("/api/v1/deposits", content=canonical_json(_manifest(files)))
    _refused(answer, 404, "unknown sample", "kg-odense")
    assert db.counts() == before


def test_replayed_deposit(db: Deployment, files: dict[str, Path]) -> None:
    deposit_id, manifest = _fresh_deposit(db, files)
    for key, path in files.items():
        assert _put(db, deposit_id, key, _encrypted(path, db.ctx.keys.public)).status_code == 200
    with db.http("submitter") as http:
        committed = http.post(f"/api/v1/deposits/{deposit_id}/commit")
        assert committed.status_code == 201
        before = db.counts()
        again = http.post(f"/api/v1/deposits/{deposit_id}/commit")
    _refused(again, 409, "replayed request", "already committed", "nothing was stored")
    replay = _put(db, deposit_id, "vcf", _encrypted(files["vcf"], db.ctx.keys.public))
    _refused(replay, 409, "replayed request")
    assert db.counts() == before
    # Re-sending a verified file within an open deposit is refused too.
    files["vcf"].write_bytes(b"changed" * 100)
    deposit_id, _ = _fresh_deposit(db, files)
    encrypted = _encrypted(files["vcf"], db.ctx.keys.public)
    assert _put(db, deposit_id, "vcf", encrypted).status_code == 200
    before = db.counts()
    _refused(_put(db, deposit_id, "vcf", encrypted), 409, "already received")
    assert db.counts() == before


def test_oversized_upload(db: Deployment, files: dict[str, Path], tmp_path: Path) -> None:
    big = tmp_path / "S-BAD.cram"
    big.write_bytes(os.urandom(MAX_FILE_BYTES + 1))
    before = db.counts()
    _refused(_open(db, _manifest({**files, "cram": big})), 413, "at most 2000000 bytes per file")
    assert db.counts() == before
    # A body larger than the declared file: refused by its length, and while streaming.
    deposit_id, _ = _fresh_deposit(db, files)
    before = db.counts()
    larger = _encrypted(big, db.ctx.keys.public)
    _refused(_put(db, deposit_id, "crai", larger), 413, "larger than a crypt4gh file")

    def chunked() -> Iterator[bytes]:
        yield from (larger[i : i + 65536] for i in range(0, len(larger), 65536))

    with db.http("submitter") as http:
        streamed = http.put(f"/api/v1/deposits/{deposit_id}/files/crai", content=chunked())
    _refused(streamed, 413, "larger than a crypt4gh file")
    _unchanged(db, before)


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda m: m["files"]["vcf"].update(filename="../../etc/passwd"), "files.vcf.filename"),
        (lambda m: m["files"]["vcf"].update(filename="sub/dir.vcf.gz"), "files.vcf.filename"),
        (lambda m: m["files"]["vcf"].update(filename=".hidden"), "files.vcf.filename"),
        (lambda m: m["files"].update({"qc_../x": m["files"]["vcf"]}), "does not match"),
        (lambda m: m.update(sample_id="../S-BAD"), "sample_id"),
    ],
    ids=["dotdot", "folder", "hidden", "key", "sample"],
)
def test_path_like_names_in_manifest(
    db: Deployment, files: dict[str, Path], change: Any, phrase: str
) -> None:
    manifest = copy.deepcopy(_manifest(files))
    change(manifest)
    before = db.counts()
    _refused(_open(db, manifest), 422, phrase)
    assert db.counts() == before


def test_path_like_names_in_urls(db: Deployment, files: dict[str, Path]) -> None:
    deposit_id, _ = _fresh_deposit(db, files)
    before = db.counts()
    data = _encrypted(files["vcf"], db.ctx.keys.public)
    for key in ("..%2F..%2Fvcf", "vcf%2F..", "..", "VCF"):
        answer = _put(db, deposit_id, key, data)
        assert answer.status_code in (404, 405, 422), (key, answer.text)
    for bad_id in ("..%2Fdep-x", "dep-..", "..."):
        with db.http("submitter") as http:
            answer = http.put(f"/api/v1/deposits/{bad_id}/files/vcf", content=data)
        assert answer.status_code in (404, 405, 422), (bad_id, answer.text)
    _unchanged(db, before)


def test_cpr_numbers_are_refused_and_never_echoed_or_logged(
    db: Deployment, files: dict[str, Path]
) -> None:
    cpr = "010190-1234"
    before = db.counts()
    message = _refused(_open(db, _manifest_with_sample(files, cpr)), 422, "looks like a CPR number")
    assert cpr not in message and "0101901234" not in message
    with db.http("submitter") as http:
        registered = http.post("/api/v1/samples", json={"sample_id": "0101901234"})
        found = http.get("/api/v1/samples", params={"sample_id": cpr})
    for answer in (registered, found):
        assert answer.status_code == 422 and "CPR" in answer.text
        assert "0101901234" not in answer.text and cpr not in answer.text
    assert db.counts() == before
    with db.ctx.engine.connect() as conn:
        log = json.dumps([list(map(str, r)) for r in conn.execute(text("SELECT * FROM audit_log"))])
    assert "010190" not in log and "0101901234" not in log
    assert "******-****" in log  # the refused request is logged, masked


def _manifest_with_sample(files: dict[str, Path], sample_id: str) -> dict[str, Any]:
    manifest = _manifest(files)
    manifest["sample_id"] = sample_id
    return manifest
