"""Failover building blocks on real local runs: the site lease (fencing), the manifest of
completed outputs, replication, and the verification that never accepts a half-written file.
The two-site Slurm failover itself is tested in tests/test_slurm_failover.py."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from helgenom import failover, rundir
from helgenom.siterun import fail_over
from workflow_helpers import snakemake, write_demo_run

if TYPE_CHECKING:
    from genomedb.testing import Deployment


def test_lease_is_taken_kept_and_moved(tmp_path: Path) -> None:
    assert rundir.read_lease(tmp_path) is None
    first = failover.hold_lease(tmp_path, "computerome")
    assert (first.site, first.epoch) == ("computerome", 1)
    assert failover.hold_lease(tmp_path, "computerome") == first  # a resumed run keeps it
    with pytest.raises(failover.FencedError, match="belongs to site computerome"):
        failover.hold_lease(tmp_path, "genomedk")

    moved = failover.take_over(tmp_path, "genomedk", "computerome down")
    assert (moved.site, moved.epoch) == ("genomedk", 2)
    assert moved.history[0]["site"] == "computerome" and moved.history[0]["epoch"] == 1
    assert "computerome down" in moved.history[0]["reason"]
    assert failover.take_over(tmp_path, "genomedk", "again") == moved  # repeated: same lease
    with pytest.raises(failover.FencedError, match="computerome is fenced"):
        failover.hold_lease(tmp_path, "computerome")
    # A job submitted under the old lease refuses to run; one under the new lease runs.
    with pytest.raises(failover.FencedError, match="job submitted under lease computerome:1"):
        failover.check_job_lease(tmp_path, "computerome:1")
    failover.check_job_lease(tmp_path, "genomedk:2")

    # Fencing the primary's copy: it names the new holder and is marked as a fenced copy, in
    # which nothing runs (not even as the new holder), from which nothing is copied.
    primary = tmp_path / "primary"
    failover.hold_lease(primary, "computerome")
    assert failover.fence(primary, moved)
    fenced = rundir.read_lease(primary)
    assert fenced is not None and fenced.token == moved.token and fenced.fenced
    for site in ("computerome", "genomedk"):
        with pytest.raises(failover.FencedError, match="was fenced when the run was failed over"):
            failover.hold_lease(primary, site)
    with pytest.raises(failover.FencedError, match="was fenced"):
        failover.check_job_lease(primary, "genomedk:2")
    with pytest.raises(failover.FencedError, match="replicate the run from genomedk over it"):
        failover.take_over(primary, "computerome", "fail back from the stale copy")
    with pytest.raises(failover.FailoverError, match="newer lease"):
        failover.fence(primary, rundir.Lease("computerome", 1, "x"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small local run, finished, with its outputs recorded as `helgenom run` does."""
    run_dir = write_demo_run(
        tmp_path_factory.mktemp("failover"),
        priority="acute",
        coverage=8,
        genome_length=250_000,
        indication="demo: synthetic genome",  # with a clinical report
    )
    snakemake(run_dir)
    assert failover.record_outputs(run_dir) > 10
    assert failover.record_outputs(run_dir) == 0  # nothing new: nothing hashed again
    return run_dir


def _records(vcf: Path) -> list[str]:
    with gzip.open(vcf, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def test_manifest_holds_every_completed_output(finished_run: Path) -> None:
    entries = rundir.read_outputs(finished_run)
    for path in ("results/cram/S1.cram", "results/vcf/S1.vcf.gz", "results/versions.yaml"):
        entry = entries[path]
        assert entry.sha256 == failover.sha256_of(finished_run / path)
        assert entry.size == (finished_run / path).stat().st_size
    # temp() intermediates that are gone are not listed as present outputs
    assert not any(p.startswith("results/calls/") and p.endswith(".bcf") for p in entries)
    # a torn last line (a crash while appending) is ignored
    manifest = finished_run / rundir.OUTPUTS
    text = manifest.read_text()
    manifest.write_text(text + "results/vcf/S1.vcf.gz\t12\t3\tabc")
    assert rundir.read_outputs(finished_run) == entries
    manifest.write_text(text)


@pytest.mark.parametrize("with_metadata", [True, False], ids=["replica", "replica-no-snakemake"])
def test_failover_never_accepts_a_half_written_file(
    finished_run: Path, tmp_path: Path, with_metadata: bool
) -> None:
    replica = tmp_path / "replica"
    failover.hold_lease(finished_run, "computerome")
    try:
        failover.replicate(finished_run, str(replica), include_snakemake=with_metadata)
    finally:
        (finished_run / rundir.LEASE).unlink()
    assert (replica / ".snakemake").exists() == with_metadata
    vcf = replica / "results" / "vcf" / "S1.vcf.gz"
    expected = _records(finished_run / "results" / "vcf" / "S1.vcf.gz")
    # The VCF as a job killed while writing it leaves it: its first half, newer than its inputs.
    data = vcf.read_bytes()
    vcf.write_bytes(data[: len(data) // 2])
    if not with_metadata:
        # Snakemake alone takes the half-written VCF as complete: it would not make it again
        # but feed it to the steps after it.
        dry = snakemake(replica, "-n").stdout
        assert "rule gather_calls" not in dry
        assert "reason: Updated input files: results/vcf/S1.vcf.gz" in dry

    messages: list[str] = []
    assert fail_over(replica, "genomedk", resume=False, say=messages.append) == 0
    lease = rundir.read_lease(replica)
    assert lease is not None and lease.token == "genomedk:2"
    assert "1 moved to .helgenom/quarantine/" in "\n".join(messages)
    assert "  not proven complete, made again: results/vcf/S1.vcf.gz" in messages
    quarantined = replica / rundir.QUARANTINE / "2" / "results" / "vcf" / "S1.vcf.gz"
    assert quarantined.read_bytes() == data[: len(data) // 2]  # kept aside, not deleted
    assert not vcf.exists()

    # The run resumes (here locally): the VCF is made again, identical to the original.
    snakemake(replica)
    assert _records(vcf) == expected


def test_workflow_refuses_a_fenced_site(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir, ignore=shutil.ignore_patterns(".snakemake"))
    monkeypatch.setenv("HELGENOM_SLURM_ACCOUNT", "helgenom-test")
    # A lease in the environment (left by anything) does not matter to a main Snakemake.
    monkeypatch.setenv(rundir.LEASE_ENV, "abacus:7")
    # The first site run takes the lease.
    snakemake(run_dir, "--config", "site=computerome")
    assert json.loads((run_dir / rundir.LEASE).read_text())["site"] == "computerome"

    failover.take_over(run_dir, "genomedk", "test")
    for dry in (["-n"], []):
        proc = snakemake(run_dir, *dry, "--config", "site=computerome", check=False)
        assert proc.returncode != 0
        out = proc.stdout + proc.stderr
        assert "belongs to site genomedk" in out and "computerome is fenced" in out

    # A cluster job of the old lease: Snakemake in remote mode (as the Slurm executor starts
    # it in the job) with the submitting Snakemake's lease in its environment.
    job = ["--mode", "remote", "--config", "site=computerome", "--nolock", "--force",
           "results/versions.yaml"]  # fmt: skip
    monkeypatch.setenv(rundir.LEASE_ENV, "computerome:1")
    proc = snakemake(run_dir, *job, check=False)
    assert proc.returncode != 0
    assert "job submitted under lease computerome:1" in proc.stdout + proc.stderr
    assert json.loads((run_dir / rundir.LEASE).read_text())["site"] == "genomedk"


def test_replication_from_a_fenced_site_is_refused(tmp_path: Path) -> None:
    primary, passive = tmp_path / "primary", tmp_path / "passive"
    (primary / "results").mkdir(parents=True)
    (primary / "results" / "x.txt").write_text("primary\n")
    failover.hold_lease(primary, "computerome")
    failover.replicate(primary, str(passive))
    assert (passive / "results" / "x.txt").read_text() == "primary\n"
    failover.take_over(passive, "genomedk", "test")
    (passive / "results" / "x.txt").write_text("passive\n")
    # The primary comes back and its replication job runs: it may not overwrite the run.
    (primary / "results" / "x.txt").write_text("stale\n")
    with pytest.raises(failover.FencedError, match="newer than"):
        failover.replicate(primary, str(passive))
    assert (passive / "results" / "x.txt").read_text() == "passive\n"


def test_a_deposit_cut_off_by_the_failure_is_completed_once(
    finished_run: Path, tmp_path: Path
) -> None:
    """The primary died while its export step uploaded: the deposit is open in the database,
    part of the files uploaded, no receipt in the run. On the passive site the export step
    runs again, resumes that deposit and commits it: one version, one deposit."""
    from genomedb.testing import PROVENANCE, deployment
    from genomedb_contract.manifest import build_manifest
    from helgenom.export.provenance import standard_files

    run_dir = tmp_path / "replica"
    shutil.copytree(finished_run, run_dir, symlinks=True)
    with deployment(tmp_path / "db", "sqlite") as db:
        db.register("S1")
        # The primary had run the QC gate with the operator's override and started the export.
        qc = {"qc": {"overrides": str(_override(run_dir, tmp_path))}}
        (tmp_path / "qc.yaml").write_text(json.dumps(qc))
        snakemake(run_dir, "--configfile", "config.yaml", str(tmp_path / "qc.yaml"))
        files = standard_files(run_dir / "results", "S1")
        manifest = build_manifest("S1", files, PROVENANCE, qc_gate={"decision": "pass"})
        opened = db.open_deposit(manifest)
        db.upload(opened["deposit_id"], "vcf", files["vcf"])
        assert db.counts()["committed"] == 0

        failover.record_outputs(run_dir)
        assert fail_over(run_dir, "genomedk", resume=False, say=lambda _: None) == 0
        overlay = _export_overlay(tmp_path, db, qc)
        snakemake(run_dir, "--configfile", "config.yaml", str(overlay))
        log = (run_dir / "logs" / "export" / "S1.log").read_text()
        assert f"deposit {opened['deposit_id']} (resumed)" in log
        receipt = json.loads((run_dir / "results" / "export" / "S1.receipt.json").read_text())
        assert receipt["version"] == 1 and receipt["deposit_id"] == opened["deposit_id"]
        counts = db.counts()
        assert (counts["committed"], counts["deposits"]) == (1, 1)
        # What was deposited is proven complete in the run's manifest at once.
        entries = rundir.read_outputs(run_dir)
        assert "results/export/S1.receipt.json" in entries
        assert entries["results/vcf/S1.vcf.gz"].sha256 == receipt["files"]["vcf"]["sha256"]


def test_a_sample_deposited_before_the_failover_is_not_deposited_again(
    finished_run: Path, tmp_path: Path
) -> None:
    """The primary deposited the sample, but the last replica was taken before its report
    was made: the passive site makes the report again (another time stamp, so other bytes)
    and its export gets the primary's receipt under the same deposit key: one version."""
    from genomedb.testing import deployment

    primary = tmp_path / "primary"
    shutil.copytree(finished_run, primary, symlinks=True)
    with deployment(tmp_path / "db", "sqlite") as db:
        db.register("S1")
        overlay = _export_overlay(
            tmp_path, db, {"qc": {"overrides": str(_override(primary, tmp_path))}}
        )
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1795000000"}
        snakemake(primary, "--configfile", "config.yaml", str(overlay), env=env)
        first = json.loads((primary / "results" / "export" / "S1.receipt.json").read_text())
        assert first["version"] == 1 and "already_deposited" not in first
        failover.record_outputs(primary)

        replica = tmp_path / "replica"
        shutil.copytree(primary, replica, symlinks=True)
        reports = sorted((replica / "results" / "report").glob("S1.*"))
        assert reports
        for path in [*reports, replica / "results" / "export" / "S1.receipt.json"]:
            path.unlink()
        assert fail_over(replica, "genomedk", resume=False, say=lambda _: None) == 0
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1795003600"}  # made an hour later
        snakemake(replica, "--configfile", "config.yaml", str(overlay), env=env)

        receipt = json.loads((replica / "results" / "export" / "S1.receipt.json").read_text())
        assert receipt.pop("already_deposited") is True
        differ = receipt.pop("local_files_differ")
        assert differ and all(key.startswith("report_") for key in differ), differ
        assert receipt == first
        counts = db.counts()
        assert (counts["committed"], counts["deposits"]) == (1, 1)
        log = (replica / "logs" / "export" / "S1.log").read_text()
        assert "already deposited by this run and analysis" in log
        # The manifest holds the remade reports as they are here, not the deposited ones.
        failover.record_outputs(replica)
        entries = rundir.read_outputs(replica)
        for path in reports:
            relative = path.relative_to(replica).as_posix()
            assert entries[relative].sha256 == failover.sha256_of(path)


def _export_overlay(tmp_path: Path, db: Deployment, extra: dict[str, Any]) -> Path:
    """A config overlay that exports into the test deployment `db` as its submitter."""
    token = tmp_path / "submitter.token"
    token.write_text(db.principals["submitter"].token)
    export = {
        "enabled": True,
        "url": db.url,
        "token_file": str(token),
        "db_public_key": str(db.public_key),
        "on_qc_fail": "skip",
    }
    overlay = tmp_path / "export.yaml"
    overlay.write_text(json.dumps({"export": export, **extra}))
    return overlay


def _override(run_dir: Path, tmp_path: Path) -> Path:
    gate = json.loads((run_dir / "results" / "qc" / "gate" / "S1.json").read_text())
    path = tmp_path / "overrides.tsv"
    path.write_text(
        "sample_id\tmetrics\twho\twhy\twhen\n"
        f"S1\t{','.join(gate['failed']) or 'mean_coverage'}\tlab.lead\t"
        "synthetic test data, low coverage\t2026-11-01\n"
    )
    return path


def test_failover_stops_a_hung_run_process(tmp_path: Path) -> None:
    """The primary's `helgenom run` and its Snakemake hang (they ignore SIGINT): the failover
    kills both, the Snakemake process group included."""
    import subprocess
    import sys
    import time

    script = tmp_path / "hung.py"
    script.write_text(
        "import os, signal, subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from helgenom import rundir\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "child = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "rundir.record_process(Path(sys.argv[1]), 'computerome', os.getpid(), child.pid)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    deadline = time.monotonic() + 30
    while not (tmp_path / rundir.PROCESS).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    group = json.loads((tmp_path / rundir.PROCESS).read_text())["snakemake_pgid"]
    message = failover.stop_process(tmp_path, timeout=2)
    assert message.startswith(f"killed process {proc.pid} and its Snakemake")
    assert proc.wait(10) == -9
    deadline = time.monotonic() + 10
    while failover._alive(group):
        assert time.monotonic() < deadline, "the Snakemake process group survived"
        time.sleep(0.05)
    assert failover.stop_process(tmp_path) == f"process {proc.pid} had ended"
