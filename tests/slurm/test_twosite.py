"""The two-site Slurm test bed (scripts/slurm/twosite.sh) and the site health check.

Two independent clusters on this host, "computerome" (primary) and "genomedk" (passive),
each with its own slurmctld, slurmd and slurmdbd. Skipped when the bed is down (fails under
HELGENOM_SLURM_REQUIRED=1, as scripts/test.sh sets it). Tests that take a site down start it
again (`twosite.sh start` is idempotent) so that later tests find it up.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_helpers import REPO, TWO_SITES, BedSite, since_now, two_sites

__all__ = ["two_sites"]  # the fixture

# One worker runs the tests on the two-site test bed (scripts/slurm/twosite.sh) one by one:
# they share its queues and accounting, and some take a site down.
XDIST_GROUP = "slurm-twosite-b"
# The second bed (twosite.sh HELGENOM_TWOSITE_BED=b), beside the killed-primary drill on the first.
TWOSITE_BED = "b"

# Ends with a job step started the way Snakemake's slurm executor starts every job: `srun`
# inside the batch script. Without SLURM_CONF (slurmstepd does not always pass it on) srun
# reads /etc/slurm/slurm.conf, which each site's slurmd sees as its own site's config.
STEP_SCRIPT = """#!/bin/bash
unset SLURM_CONF
srun bash -c 'echo "step $SLURM_CLUSTER_NAME $SLURM_JOB_ID $SLURMD_NODENAME"'
head -n 1 /etc/slurm/slurm.conf
"""


def _config(site: BedSite) -> dict[str, str]:
    out = site.run("scontrol", "show", "config").stdout
    config = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip()] = value.strip()
    return config


def _run_step_job(site: BedSite, outdir: Path) -> tuple[str, list[str]]:
    """Submit STEP_SCRIPT to `site`, wait for it; returns (job id, its output lines)."""
    script = outdir / "step.sh"
    script.write_text(STEP_SCRIPT)
    job_id = site.run(
        "sbatch", "--parsable", "-p", "normal", "-A", "helgenom-test", "--time=5", "--mem=100M",
        f"--output={outdir}/{site.name}-%j.out", str(script),
    ).stdout.strip().split(";")[0]  # fmt: skip
    assert job_id.isdigit(), job_id
    state = site.wait_for_job(job_id, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})
    output = (outdir / f"{site.name}-{job_id}.out").read_text()
    assert state == "COMPLETED", f"{site.name} job {job_id} {state}:\n{output}"
    return job_id, output.splitlines()


def _sacct_ids(site: BedSite, since: str, expected: str) -> set[str]:
    """The job IDs `site`'s sacct lists since `since`, once it lists `expected`.

    slurmdbd gets a job's records asynchronously: wait for them (bounded).
    """
    deadline = time.monotonic() + 30
    while True:
        out = site.run("sacct", "-X", "-n", "-P", "-a", "-S", since, "-o", "JobID").stdout
        ids = set(out.split())
        if expected in ids or time.monotonic() > deadline:
            return ids
        time.sleep(0.5)


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    tmp_path.chmod(0o1777)
    return tmp_path


def test_two_independent_clusters(two_sites: dict[str, BedSite]) -> None:
    configs = {name: _config(site) for name, site in two_sites.items()}
    for name, config in configs.items():
        assert config["ClusterName"] == name
        assert config["FirstJobId"] == str(two_sites[name].job_ids.start)
    for key in ("SlurmctldPort", "SlurmdPort", "AccountingStoragePort", "StateSaveLocation",
                "SlurmdSpoolDir", "SlurmctldPidFile", "SlurmdPidFile"):  # fmt: skip
        values = {config[key] for config in configs.values()}
        assert len(values) == 2, f"{key} shared by the sites: {values}"
        # ... and none is the main test cluster's (scripts/slurm/start.sh).
        assert not values & {"6817", "6818", "6819"}, key
    for name, site in two_sites.items():
        nodes = site.run("sinfo", "-h", "-N", "-o", "%N").stdout.split()
        assert set(nodes) == {f"{name}-n1"}
        partitions = site.run("sinfo", "-h", "-o", "%P").stdout.split()
        assert {p.rstrip("*") for p in partitions} == {
            "short", "normal", "thinnode", "fatnode", "slim", "fat"
        }  # fmt: skip
        qos = site.run("sacctmgr", "-n", "-P", "list", "qos", "format=name").stdout.split()
        assert {"clinical", "normal", "research"} <= set(qos)
        accounts = site.run("sacctmgr", "-n", "-P", "list", "account", "format=account")
        assert {"helgenom-test", "genomedk-proj", "computerome-proj", "abacus-proj"} <= set(
            accounts.stdout.split()
        )
        # Each slurmdbd knows only its own cluster.
        clusters = site.run("sacctmgr", "-n", "-P", "list", "cluster", "format=cluster").stdout
        assert clusters.split() == [name]
        for daemon in ("slurmctld", "slurmd", "slurmdbd"):
            assert site.pid(daemon), f"{name}: no live {daemon} in {site.pidfile(daemon)}"


def test_srun_in_sbatch_runs_on_its_own_cluster(
    two_sites: dict[str, BedSite], outdir: Path
) -> None:
    since = since_now()
    jobs = {name: _run_step_job(site, outdir) for name, site in two_sites.items()}
    for name, (job_id, lines) in jobs.items():
        site = two_sites[name]
        assert int(job_id) in site.job_ids, (name, job_id)
        assert f"step {name} {job_id} {name}-n1" in lines, lines
        assert lines[-1] == f"# helgenom-slurm-managed: {site.slurm_conf.parent.parent}", lines
        steps = site.run("sacct", "-n", "-P", "-j", job_id, "-o", "JobID,State").stdout.split()
        assert f"{job_id}.0|COMPLETED" in steps, steps
    # sacct of each site sees its own jobs only.
    for name, site in two_sites.items():
        ids = _sacct_ids(site, since, jobs[name][0])
        assert jobs[name][0] in ids
        assert all(int(i) in site.job_ids for i in ids), (name, ids)
        other = next(n for n in TWO_SITES if n != name)
        assert jobs[other][0] not in ids


def test_health_of_healthy_sites(two_sites: dict[str, BedSite]) -> None:
    for name, site in two_sites.items():
        health = site.health()
        assert health.healthy, health.message
        port = _config(site)["SlurmctldPort"]
        assert health.controller.address.endswith(f":{port}")
        assert health.accounting.address == f"127.0.0.1:{_config(site)['AccountingStoragePort']}"
        assert health.site == name
        cli = subprocess.run(
            [sys.executable, "-m", "helgenom", "site-health", "--site", name],
            env=site.env(**{f"HELGENOM_{name.upper()}_SLURM_CONF": str(site.slurm_conf)}),
            capture_output=True, text=True, timeout=30, cwd=REPO,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert f"site {name}: healthy" in cli.stdout


@pytest.mark.parametrize("down", TWO_SITES)
def test_site_outage_leaves_the_other_working(
    two_sites: dict[str, BedSite], outdir: Path, down: str
) -> None:
    site = two_sites[down]
    other = next(s for n, s in two_sites.items() if n != down)
    address = f"{_config(site)['SlurmctldPort']}"
    try:
        # The controller goes, the accounting stays.
        site.kill("slurmctld")
        started = time.monotonic()
        health = site.health(timeout=5)
        assert time.monotonic() - started < 15
        assert not health.healthy
        assert not health.controller.ok and health.accounting.ok, health.message
        assert health.controller.address.endswith(f":{address}")
        assert "NOT healthy" in health.message and f"site {down}" in health.message
        cli = subprocess.run(
            [sys.executable, "-m", "helgenom", "site-health", "--slurm-conf", str(site.slurm_conf)],
            capture_output=True, text=True, timeout=30, cwd=REPO,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert "controller DOWN" in cli.stdout and "accounting OK" in cli.stdout, cli.stdout

        # Then the rest of the site.
        site.kill("slurmdbd", "slurmd")
        health = site.health(timeout=5)
        assert not health.controller.ok and not health.accounting.ok, health.message
        assert "Connection refused" in health.accounting.detail, health.accounting.detail
        assert all(site.pid(d) is None for d in ("slurmctld", "slurmd", "slurmdbd"))

        # The other site does not notice.
        assert other.health().healthy
        since = since_now()
        job_id, lines = _run_step_job(other, outdir)
        assert int(job_id) in other.job_ids
        assert f"step {other.name} {job_id} {other.name}-n1" in lines, lines
        assert job_id in _sacct_ids(other, since, job_id)
    finally:
        site.restart()
    # Back: it runs jobs again, with IDs from its own range.
    job_id, lines = _run_step_job(site, outdir)
    assert int(job_id) in site.job_ids
    assert f"step {down} {job_id} {down}-n1" in lines, lines
