"""The run watchdog (helgenom.watchdog): Snakemake ends when its Slurm site stops answering.

The `slurm` tests run real Snakemake runs with `--executor slurm` on the two-site test bed
(scripts/slurm/twosite.sh), take the site's daemons down by pid and start them again. The
others need no cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helgenom.watchdog import (
    JOBS_CANCELLED,
    SITE_UNREACHABLE,
    SlurmJob,
    parse_sacct,
    run_with_watchdog,
    slurm_run_id,
)
from slurm_helpers import FAST_POLLING, REPO, BedSite, since_now, slurm_free_env, two_sites

__all__ = ["two_sites"]  # the fixture

# One worker runs the tests on the two-site test bed (scripts/slurm/twosite.sh) one by one:
# they share its queues and accounting, and some take a site down.
XDIST_GROUP = "slurm-twosite-b"
# The second bed (twosite.sh HELGENOM_TWOSITE_BED=b), beside the killed-primary drill on the first.
TWOSITE_BED = "b"

SITE = "computerome"  # the primary site of the bed; the message names genomedk to fail over to
# A tiny workflow: one cluster job that sleeps for config["seconds"].
WORKFLOW = """
rule all:
    input:
        "done/sleep.txt",


rule sleep:
    output:
        "done/sleep.txt",
    params:
        seconds=config.get("seconds", 1),
    resources:
        mem_mb=100,
        runtime=10,
    shell:
        "sleep {params.seconds}; touch {output}"
"""
INTERVAL = 2
GRACE = 6
# Beyond interval + grace: one more check (up to its 10 s timeout) and Snakemake's shutdown,
# whose scancel gives up after ~10 s when the controller is gone.
MARGIN = 45


def _snakemake_cmd(run_dir: Path, seconds: int) -> list[str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "Snakefile").write_text(WORKFLOW)
    return [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(run_dir / "Snakefile"), "--directory", str(run_dir),
        "--executor", "slurm", "--jobs", "1",
        "--default-resources", "slurm_account=helgenom-test", "slurm_partition=normal",
        "--slurm-logdir", str(run_dir / "logs" / "slurm"),
        *FAST_POLLING,
        "--config", f"seconds={seconds}",
    ]  # fmt: skip


def _watchdog_cli(site: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "helgenom", "watchdog", "--site", site, *args]


def _run_and_take_down(site: BedSite, run_dir: Path, daemons: tuple[str, ...]) -> tuple[int, str]:
    """Start a long run under the watchdog, take `daemons` down once its job runs.

    Returns the watchdog's exit code and its combined output; asserts that it ended within
    interval + grace + margin of the outage.
    """
    cmd = _watchdog_cli(
        SITE, "--interval", str(INTERVAL), "--grace", str(GRACE), "--kill-timeout", "30",
        "--slurm-conf", str(site.slurm_conf), "--", *_snakemake_cmd(run_dir, 600),
    )  # fmt: skip
    log_path = run_dir.parent / f"{run_dir.name}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=run_dir, env=slurm_free_env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not site.run("squeue", "-h", "-t", "RUNNING", "-o", "%i").stdout.strip():
            assert proc.poll() is None, f"the run ended early:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the run's job never ran"
            time.sleep(0.3)
        site.kill(*daemons)
        down_at = time.monotonic()
        limit = INTERVAL + GRACE + MARGIN
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(
                f"the watchdog did not end the run within {limit}s of the outage:\n"
                f"{log_path.read_text()[-3000:]}"
            ) from error
        took = time.monotonic() - down_at
        assert took >= GRACE, f"ended {took:.0f}s after the outage, before the grace of {GRACE}s"
        return code, log_path.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        site.restart()


def _message(output: str) -> str:
    start = output.find("helgenom watchdog:")
    assert start >= 0, f"no watchdog message in:\n{output[-3000:]}"
    return output[start:]


@pytest.mark.slurm
def test_healthy_run_passes_its_exit_code(
    two_sites: dict[str, BedSite], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    site = two_sites[SITE]
    since = since_now()
    # Jobs of a site killed earlier stay RUNNING in its accounting (their end was never
    # recorded): count only the jobs after the last one that exists now.
    last = max(
        (int(j) for j in site.run("sacct", "-X", "-n", "-a", "-S", "now-7days", "-o",
                                  "JobID").stdout.split() if j.isdigit()),
        default=0,
    )  # fmt: skip
    code = run_with_watchdog(
        _snakemake_cmd(tmp_path, 1), tmp_path, SITE,
        interval=1, grace=5, slurm_conf=site.slurm_conf, env=slurm_free_env(),
    )  # fmt: skip
    out = capfd.readouterr()
    assert code == 0, out.out[-3000:] + out.err[-3000:]
    assert (tmp_path / "done" / "sleep.txt").exists()
    assert "helgenom watchdog" not in out.err
    # The job ran on the watched site (the watchdog gave Snakemake its SLURM_CONF).
    jobs = site.run("sacct", "-X", "-n", "-P", "-S", since, "-o", "JobID,State").stdout.split()
    jobs = [j for j in jobs if int(j.split("|")[0]) > last]
    assert jobs and all(int(j.split("|")[0]) in site.job_ids for j in jobs), jobs
    assert all(j.endswith("|COMPLETED") for j in jobs), jobs

    # A failing run (a target no rule makes): Snakemake's own exit code comes through.
    code = run_with_watchdog(
        [*_snakemake_cmd(tmp_path, 1), "done/no-rule-makes-this.txt"], tmp_path, SITE,
        interval=1, grace=5, slurm_conf=site.slurm_conf, env=slurm_free_env(),
    )  # fmt: skip
    out = capfd.readouterr()
    assert code == 1, out.err[-3000:]
    assert "MissingRuleException" in out.err or "no-rule-makes-this" in out.err, out.err[-3000:]


@pytest.mark.slurm
def test_controller_down_ends_the_run(two_sites: dict[str, BedSite], tmp_path: Path) -> None:
    site = two_sites[SITE]
    port = site.run("scontrol", "show", "config").stdout.split("SlurmctldPort")[1].split()[1]
    code, output = _run_and_take_down(site, tmp_path / "run", ("slurmctld",))
    message = _message(output)
    assert code == SITE_UNREACHABLE, output[-3000:]
    assert f"site {SITE} is unreachable" in message
    assert f"controller (slurmctld at {os.uname().nodename.split('.')[0]}:{port})" in message
    assert "has not answered since" in message
    assert "accounting" not in message.split("Jobs already")[0], message  # it still answered
    assert "helgenom failover --to genomedk" in message
    assert "README.md, 'Failover'" in message
    assert output.count("helgenom watchdog:") == 1


@pytest.mark.slurm
def test_controller_and_accounting_down_ends_the_run(
    two_sites: dict[str, BedSite], tmp_path: Path
) -> None:
    site = two_sites[SITE]
    code, output = _run_and_take_down(site, tmp_path / "run", ("slurmctld", "slurmdbd"))
    message = _message(output)
    assert code == SITE_UNREACHABLE, output[-3000:]
    assert f"site {SITE} is unreachable" in message
    assert "controller (slurmctld at " in message
    assert "accounting (slurmdbd at 127.0.0.1:" in message
    assert "helgenom failover --to genomedk" in message


# Two jobs side by side: one an operator will cancel, and one that goes on.
CANCEL_WORKFLOW = """
rule all:
    input:
        "done/cancelled.txt",
        "done/other.txt",


rule cancelled:
    output:
        "done/cancelled.txt",
    resources:
        mem_mb=100,
        runtime=10,
    shell:
        "sleep 600; touch {output}"


rule other:
    output:
        "done/other.txt",
    resources:
        mem_mb=100,
        runtime=10,
    shell:
        "sleep 20; touch {output}"
"""


@pytest.mark.slurm
def test_a_cancelled_job_ends_the_run_once_the_rest_is_done(
    two_sites: dict[str, BedSite], tmp_path: Path
) -> None:
    """The plugin would wait for a job cancelled with scancel for ever: the watchdog says so,
    lets the other job finish, then ends the run (exit 76); the rerun redoes the job."""
    site = two_sites[SITE]
    run_dir = tmp_path / "run"
    cmd = [*_snakemake_cmd(run_dir, 1), "--jobs", "2"]
    (run_dir / "Snakefile").write_text(CANCEL_WORKFLOW)
    watched = _watchdog_cli(
        SITE, "--interval", str(INTERVAL), "--grace", str(GRACE), "--kill-timeout", "30",
        "--slurm-conf", str(site.slurm_conf), "--", *cmd,
    )  # fmt: skip
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(watched, cwd=run_dir, env=slurm_free_env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        cancelled = ""
        while not cancelled:
            assert proc.poll() is None, f"the run ended early:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the job to cancel never ran"
            for line in site.run(
                "squeue", "-h", "-t", "RUNNING", "-o", "%i %k"
            ).stdout.splitlines():
                job_id, _, comment = line.partition(" ")
                if "rule_cancelled" in comment:
                    cancelled = job_id
            time.sleep(0.3)
        site.run("scancel", cancelled)
        code = proc.wait(timeout=20 + INTERVAL + GRACE + MARGIN)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log_path.read_text()
    assert code == JOBS_CANCELLED, output[-3000:]
    assert f"Slurm job {cancelled} (rule_cancelled" in output
    assert "was cancelled (CANCELLED by" in output
    assert f"its Slurm job(s) {cancelled} were cancelled" in output
    assert "run the same command again" in output
    assert (run_dir / "done" / "other.txt").exists()  # the other job was done first
    assert not (run_dir / "done" / "cancelled.txt").exists()

    # The same command again redoes the cancelled job (shortened: the test's time).
    (run_dir / "Snakefile").write_text(CANCEL_WORKFLOW.replace("sleep 600", "sleep 1"))
    code = run_with_watchdog(
        cmd, run_dir, SITE, interval=INTERVAL, grace=GRACE, slurm_conf=site.slurm_conf,
        env=slurm_free_env(),
    )  # fmt: skip
    assert code == 0
    assert (run_dir / "done" / "cancelled.txt").exists()


# --- Without a cluster ------------------------------------------------------------------------


def test_cancelled_and_active_jobs_from_sacct(tmp_path: Path) -> None:
    jobs = parse_sacct(
        "101|CANCELLED by 0|rule_align_wildcards_S1\n"
        "102|RUNNING|rule_call\n"
        "103|COMPLETED|\n"
        "104|PENDING|rule_x\n"
        "sacct: error: something\n"
    )
    assert [j.job_id for j in jobs] == ["101", "102", "103", "104"]
    assert [j.cancelled for j in jobs] == [True, False, False, False]
    assert [j.active for j in jobs] == [False, True, False, True]
    assert jobs[0] == SlurmJob("101", "CANCELLED by 0", "rule_align_wildcards_S1")

    log_dir = tmp_path / ".snakemake" / "log"
    log_dir.mkdir(parents=True)
    assert slurm_run_id(tmp_path, 0) is None
    (log_dir / "2026-11-26T100000.snakemake.log").write_text(
        "Using profile\nSLURM run ID: 5b0c2f0e-0a61-4c5e-9a0c-3c5d2f7e9b11\nBuilding DAG\n"
    )
    assert slurm_run_id(tmp_path, 0) == "5b0c2f0e-0a61-4c5e-9a0c-3c5d2f7e9b11"
    assert slurm_run_id(tmp_path, time.time() + 60) is None  # an earlier run's log


def test_exit_code_of_the_command_passes_through(tmp_path: Path) -> None:
    code = run_with_watchdog(
        ["sh", "-c", "exit 7"], tmp_path, "computerome", interval=60, grace=60,
        slurm_conf=tmp_path / "slurm.conf",
    )  # fmt: skip
    assert code == 7


def test_sigterm_to_the_watchdog_goes_to_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    script = f'trap "echo got-term; exit 42" TERM; touch {marker}; sleep 60 & wait'
    proc = subprocess.Popen(
        _watchdog_cli("computerome", "--interval", "60", "--slurm-conf", str(tmp_path / "x"),
                      "--", "sh", "-c", script),
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 42
    assert "got-term" in out


@pytest.mark.skipif(shutil.which("scontrol") is None, reason="Slurm client tools not installed")
def test_site_that_never_answers_ends_the_command(tmp_path: Path) -> None:
    """A slurm.conf whose controller and slurmdbd ports nobody listens on."""
    conf = tmp_path / "slurm.conf"
    conf.write_text(
        "ClusterName=nowhere\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=9\n"
        "AuthType=auth/none\nAccountingStorageType=accounting_storage/slurmdbd\n"
        "AccountingStorageHost=127.0.0.1\nAccountingStoragePort=9\n"
        "NodeName=localhost\nPartitionName=p Nodes=localhost\n"
    )
    started = time.monotonic()
    proc = subprocess.run(
        _watchdog_cli("nowhere", "--interval", "1", "--grace", "2", "--passive", "elsewhere",
                      "--slurm-conf", str(conf), "--", "sleep", "120"),
        cwd=REPO, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == SITE_UNREACHABLE, proc.stderr
    assert time.monotonic() - started < 60
    assert "site nowhere is unreachable" in proc.stderr
    assert "controller (slurmctld at localhost:9)" in proc.stderr
    assert "helgenom failover --to elsewhere" in proc.stderr
