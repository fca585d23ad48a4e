"""Killing the service or the depositing client (the contract's client, as the export step
runs it) in the middle of a deposit leaves no partial deposit, and a rerun completes it
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genomedb.admin import gc
from genomedb.testing import (
    BACKENDS,
    PASS,
    PROVENANCE,
    Deployment,
    Service,
    deployment,
    sample_files,
)
from genomedb_contract.manifest import build_manifest

BIG = 192 * 1024 * 1024  # large enough to be caught mid-upload


def _export_cmd(db: Deployment, sample: str, files: dict[str, Path], tmp: Path) -> list[str]:
    """A depositing client as a process of its own (`genomedb deposit`: the contract's
    client, as the pipeline's export step uses it), to be killed or to lose its service."""
    manifest = build_manifest(sample, files, PROVENANCE, qc_gate=PASS)
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    (tmp / "token").write_text(db.principals["submitter"].token)
    return [
        sys.executable, "-m", "genomedb", "deposit",
        "--manifest", str(tmp / "manifest.json"),
        "--files", *[f"{key}={path}" for key, path in files.items()],
        "--url", db.url, "--token-file", str(tmp / "token"),
        "--db-public-key", str(db.public_key),
        "--out", str(tmp / "receipt.json"),
        "--retries", "0",
    ]  # fmt: skip


def _wait_for_upload(db: Deployment, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until more than 8 MB of some file have reached staging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the export ended before it could be interrupted"
        for part in db.ctx.settings.staging_dir.rglob("*.part"):
            try:
                if part.stat().st_size > 8_000_000:
                    return
            except FileNotFoundError:
                continue
        time.sleep(0.02)
    raise AssertionError("no upload in progress")


def _nothing_visible(db: Deployment, sample: str, before: dict[str, object]) -> None:
    after = db.counts()
    assert after["committed"] == before["committed"]
    assert after["objects"] == before["objects"]
    assert after["object_files"] == before["object_files"]
    with db.client("submitter") as client:
        (found,) = client.request("GET", "/api/v1/samples", params={"sample_id": sample})
        assert client.request("GET", f"/api/v1/samples/{found['accession']}")["versions"] == []


def _big_sample(tmp: Path, sample: str) -> dict[str, Path]:
    files = sample_files(tmp / "in", sample)
    with files["cram"].open("wb") as handle:
        for _ in range(BIG // (1 << 20)):
            handle.write(os.urandom(1 << 20))
    return files


def _completes(db: Deployment, cmd: list[str], tmp: Path, files: dict[str, Path]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    receipt = json.loads((tmp / "receipt.json").read_text())
    assert receipt["version"] == 1
    got = db.fetch("clinician", receipt["files"]["vcf"]["drs_id"], tmp / "vcf.back")
    assert got.read_bytes() == files["vcf"].read_bytes()
    assert db.ctx.store.exists(receipt["files"]["cram"]["sha256"])
    return receipt


@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_the_service_mid_deposit(backend: str, tmp_path: Path) -> None:
    with deployment(tmp_path, backend) as db:
        db.register("S-KILL-SERVICE")
        files = _big_sample(tmp_path, "S-KILL-SERVICE")
        before = db.counts()
        cmd = _export_cmd(db, "S-KILL-SERVICE", files, tmp_path)
        export = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_upload(db, export)
        db.service.kill()
        assert export.wait(120) == 1  # the export reports the failure; no receipt
        assert not (tmp_path / "receipt.json").exists()
        db.service = Service(db.home, db.service.port).start()
        _nothing_visible(db, "S-KILL-SERVICE", before)
        receipt = _completes(db, cmd, tmp_path, files)
        assert db.counts()["committed"] == before["committed"] + 1
        # The killed upload's leftovers are only in staging, and gc clears them.
        gc(db.ctx, older_than_hours=0)
        assert not list(db.ctx.settings.staging_dir.rglob("*"))
        assert db.ctx.store.exists(receipt["files"]["cram"]["sha256"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_the_export_mid_deposit(backend: str, tmp_path: Path) -> None:
    with deployment(tmp_path, backend) as db:
        db.register("S-KILL-EXPORT")
        files = _big_sample(tmp_path, "S-KILL-EXPORT")
        before = db.counts()
        cmd = _export_cmd(db, "S-KILL-EXPORT", files, tmp_path)
        export = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_upload(db, export)
        export.send_signal(signal.SIGKILL)
        export.wait(30)
        assert not (tmp_path / "receipt.json").exists()
        _nothing_visible(db, "S-KILL-EXPORT", before)
        # The service dropped the half-received file at once.
        deadline = time.monotonic() + 30
        while list(db.ctx.settings.staging_dir.rglob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not list(db.ctx.settings.staging_dir.rglob("*.part"))
        _completes(db, cmd, tmp_path, files)
        assert db.counts()["committed"] == before["committed"] + 1
        assert not list(db.ctx.settings.staging_dir.rglob("*"))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_orphan_object_from_an_interrupted_commit_is_replaced(backend: str, tmp_path: Path) -> None:
    """A commit that linked an object file and died before its transaction leaves an orphan:
    invisible, replaced by the next commit of that content, removed by gc otherwise."""
    with deployment(tmp_path, backend) as db:
        db.register("S-ORPHAN")
        files = sample_files(tmp_path / "in", "S-ORPHAN")
        from genomedb_contract.crypto import file_digests

        sha = file_digests(files["vcf"]).sha256
        orphan = db.ctx.store.path(sha)
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"crypt4gh half-written garbage")
        stray = db.ctx.store.path("f" * 64)
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"an orphan nobody will commit")
        receipt = db.deposit("S-ORPHAN", files)
        got = db.fetch("clinician", receipt["files"]["vcf"]["drs_id"], tmp_path / "v")
        assert got.read_bytes() == files["vcf"].read_bytes()
        assert gc(db.ctx, older_than_hours=0)["orphan_objects_removed"] == 1
        assert not stray.exists() and orphan.exists()
