"""The site profiles on the real single-host Slurm test cluster (scripts/slurm/start.sh).

Every job is a real sbatch submission; what is checked comes from sacct, not from log text.
Skipped when no cluster answers (fails instead under CI, where .ci/run starts it).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helgenom.runs import snakemake_command
from helgenom.sites import SITES
from helgenom.testing import GIAB_SAMPLE, write_giab_run_dir
from slurm_helpers import ACCOUNTS, FAST_POLLING, cluster, sacct_jobs, since_now
from workflow_helpers import REPO

__all__ = ["cluster"]  # the fixture

# One worker runs the tests on the single-host test cluster (scripts/slurm/start.sh) one by
# one: they share its queue and accounting.
XDIST_GROUP = "slurm-cluster"


def _site_run(site: str, run_dir: Path, *args: str, check: bool = True,
              **kwargs) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {**os.environ, "HELGENOM_SLURM_ACCOUNT": ACCOUNTS[site]}
    cmd = snakemake_command(run_dir, *FAST_POLLING, *args, cores=None, profile=f"profiles/{site}")
    proc = subprocess.run(cmd, cwd=run_dir, env=env, capture_output=True, text=True,
                          timeout=900, **kwargs)  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"{site} run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def _records(vcf: Path) -> list[str]:
    with gzip.open(vcf, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


@pytest.fixture(scope="module")
def local_vcf(giab_run: Path) -> list[str]:
    """The records of the same GIAB run made locally (the session's shared run), to compare
    the cluster runs with."""
    return _records(giab_run / "results" / "vcf" / f"{GIAB_SAMPLE}.vcf.gz")


@pytest.fixture(scope="module")
def site_runs(
    cluster: None, giab: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, str]]:
    """The GIAB run through every site profile at once (each site's own account, so sacct
    tells their jobs apart), as a cluster shared by several projects sees them: by site, the
    run directory and the sacct start time."""
    since = since_now()
    started = {}
    for site in sorted(SITES):
        run_dir = write_giab_run_dir(tmp_path_factory.mktemp(site), giab)
        env = {**os.environ, "HELGENOM_SLURM_ACCOUNT": ACCOUNTS[site]}
        cmd = snakemake_command(run_dir, *FAST_POLLING, cores=None, profile=f"profiles/{site}")
        log = (run_dir / "snakemake.out").open("w")
        started[site] = (run_dir, log, subprocess.Popen(
            cmd, cwd=run_dir, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        ))  # fmt: skip
    failed = []
    try:
        for site, (run_dir, _, proc) in started.items():
            if proc.wait(timeout=900) != 0:
                out = (run_dir / "snakemake.out").read_text()
                failed.append(f"{site} run failed:\n{out[-6000:]}")
    finally:
        for _, log, proc in started.values():
            if proc.poll() is None:  # a run over time: stop it (Ctrl-C cancels its jobs)
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=120)
            log.close()
    assert not failed, "\n".join(failed)
    return {site: (run_dir, since) for site, (run_dir, _, _) in started.items()}


@pytest.mark.parametrize("site", sorted(SITES))
def test_giab_run_through_site_profile(
    site: str, site_runs: dict[str, tuple[Path, str]], local_vcf: list[str]
) -> None:
    run_dir, since = site_runs[site]
    assert _records(run_dir / "results" / "vcf" / f"{GIAB_SAMPLE}.vcf.gz") == local_vcf

    jobs = sacct_jobs(ACCOUNTS[site], since)
    partitions = {p.name for p in SITES[site].partitions}
    assert jobs, f"no {site} jobs in sacct"
    for job in jobs:
        assert job["State"] == "COMPLETED", job
        assert job["Partition"] in partitions, job
        assert job["Account"] == ACCOUNTS[site], job
        assert job["QOS"] == "clinical", job  # the acute sample's class (config priorities)
    # Grouped steps: one job for the reference, per unit for trimming + alignment, per
    # sample for markdup + CRAM QC (with the chrM pileup) and for the VCF steps; calling per
    # chunk; MultiQC; the SV calls per sample (delly, TIDDIT: hours at 30x, a job each); the
    # flat CNV reference and the CNV segments per sample (the CNV bins' accessible regions ride
    # with the reference, the CNV coverage with the CRAM QC).
    chunks = 4
    assert len(jobs) == 1 + 1 + 1 + chunks + 1 + 1 + 2 + 2, [j["Comment"] for j in jobs]
    # Local rules never became cluster jobs.
    assert not any("tool_version" in j["Comment"] or "genome_chunks" in j["Comment"]
                   for j in jobs)  # fmt: skip


def test_failed_job_is_retried_with_more_memory_then_fails_clearly(
    cluster: None, tmp_path: Path
) -> None:
    workflow = REPO / "tests" / "slurm" / "workflows" / "retry.smk"
    since = since_now()
    ok = _site_run("abacus", tmp_path, "--snakefile", str(workflow), "--config", "site=abacus")
    assert (tmp_path / "done" / "needs_memory.txt").exists(), ok.stdout
    jobs = [j for j in sacct_jobs(ACCOUNTS["abacus"], since) if "needs_memory" in j["Comment"]]
    attempts = [(j["State"], j["ReqMem"]) for j in jobs]
    assert attempts == [("FAILED", "1000M"), ("COMPLETED", "1500M")]

    bad = _site_run("abacus", tmp_path, "--snakefile", str(workflow),
                    "done/NA12878.never.txt", check=False)  # fmt: skip
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0
    assert "Error in rule always_fails" in out
    assert "sample=NA12878" in out
    assert "logs/always_fails/NA12878.log" in out
    failed = [j for j in sacct_jobs(ACCOUNTS["abacus"], since) if "always_fails" in j["Comment"]]
    assert len(failed) == 3 and all(j["State"] == "FAILED" for j in failed)  # 1 + 2 retries


def test_scancel_mid_run_then_rerun_gives_same_results(
    cluster: None, giab: Path, local_vcf: list[str], tmp_path: Path
) -> None:
    """An operator cancels a running job; the run is stopped; the rerun completes.

    snakemake-executor-plugin-slurm 2.8.0 does not recognise sacct's state "CANCELLED by
    <uid>" as a failure and waits for such a job forever, so the operator stops Snakemake
    (Ctrl-C, which also scancels the run's other jobs) and runs the same command again.
    (Under `helgenom run` the watchdog does that: tests/test_watchdog.py.)
    """
    run_dir = write_giab_run_dir(tmp_path / "cancel", giab)
    env = {**os.environ, "HELGENOM_SLURM_ACCOUNT": ACCOUNTS["genomedk"]}
    cmd = snakemake_command(run_dir, *FAST_POLLING, cores=None, profile="profiles/genomedk")
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(cmd, cwd=run_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        cancelled = _cancel_first_running(ACCOUNTS["genomedk"], "align", proc)
        _wait_for_state(cancelled, "CANCELLED")
        os.killpg(proc.pid, signal.SIGINT)  # the operator's Ctrl-C
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not (run_dir / "results" / "vcf" / f"{GIAB_SAMPLE}.vcf.gz").exists()

    _site_run("genomedk", run_dir)
    assert _records(run_dir / "results" / "vcf" / f"{GIAB_SAMPLE}.vcf.gz") == local_vcf


def _cancel_first_running(account: str, comment: str, proc: subprocess.Popen[bytes]) -> str:
    """scancel the first RUNNING job of `account` whose comment holds `comment`."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        squeue = subprocess.run(
            ["squeue", "-h", "-A", account, "-t", "RUNNING", "-o", "%i %k"],
            capture_output=True, text=True, timeout=30,
        ).stdout  # fmt: skip
        for line in squeue.splitlines():
            job_id, _, job_comment = line.partition(" ")
            if comment in job_comment:
                subprocess.run(["scancel", job_id], check=True, timeout=30)
                return job_id
        time.sleep(0.3)
    raise AssertionError(f"no running {comment} job of {account} was seen")


def _wait_for_state(job_id: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State"],
            capture_output=True, text=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        if seen.startswith(state):
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} is {seen!r}, not {state}")
