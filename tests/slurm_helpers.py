"""Shared helpers for the tests on the real Slurm test cluster (scripts/slurm/start.sh)."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from helgenom import sitehealth
from helgenom.sitehealth import SiteHealth

# Accounts the test cluster has (scripts/slurm/start.sh); one per site so sacct tells runs apart.
ACCOUNTS = {"genomedk": "genomedk-proj", "computerome": "computerome-proj", "abacus": "abacus-proj"}
# Test speed: poll sacct quickly (the profiles poll once per ~30 s on the real sites).
FAST_POLLING = (
    "--slurm-init-seconds-before-status-checks", "1",
    "--max-status-checks-per-second", "2",
    "--latency-wait", "10",
)  # fmt: skip
# The watchdog of `helgenom run/failover` in the failover tests: quick to notice an outage.
WATCHDOG_ARGS = ("--watchdog-interval", "2", "--watchdog-grace", "6", "--record-every", "2")


def cluster_up() -> bool:
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return ping.returncode == 0 and "UP" in ping.stdout


@pytest.fixture(scope="module")
def cluster() -> None:
    if not cluster_up():
        message = "no Slurm test cluster answers (start it: bash scripts/slurm/start.sh)"
        if os.environ.get("HELGENOM_SLURM_REQUIRED") == "1" or os.environ.get("CI"):
            pytest.fail(f"{message}: the cluster tests must run here")
        pytest.skip(message)


def sacct_jobs(
    account: str, since: str, *fields: str, env: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Jobs of `account` since `since` in sacct (of the cluster `env` points at; default the
    main test cluster)."""
    fields = fields or ("JobID", "JobName", "Partition", "Account", "QOS", "State", "ReqMem",
                        "Comment")  # fmt: skip
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-A", account, "-S", since, "-o", ",".join(fields)],
        capture_output=True, text=True, check=True, timeout=60, env=env,
    ).stdout  # fmt: skip
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]


def since_now() -> str:
    """A sacct --starttime for jobs submitted from now on (waits a second to be exact)."""
    stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1)
    return stamp


# --- The two-site test bed (scripts/slurm/twosite.sh) ---------------------------------------

REPO = Path(__file__).resolve().parents[1]
TWOSITE = REPO / "scripts" / "slurm" / "twosite.sh"
# Primary site first; each site's job IDs start at its FirstJobId.
TWO_SITES = ("computerome", "genomedk")
JOB_ID_RANGES = {
    "computerome": range(100000, 200000),
    "genomedk": range(200000, 300000),
    "abacus": range(300000, 400000),  # the bed's third site: the clinical-priority test's
}
SITE_DAEMONS = ("slurmctld", "slurmd", "slurmdbd")


def slurm_free_env() -> dict[str, str]:
    """This process's environment without any SLURM_*/SBATCH_*/SALLOC_*/SRUN_* variable."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))
    }


@dataclass(frozen=True)
class BedSite:
    """One site of the two-site test bed: its config, its daemons, its client commands."""

    name: str
    exports: dict[str, str]  # what `twosite.sh env NAME` exports
    bed: str = "a"  # which bed (twosite.sh's HELGENOM_TWOSITE_BED)

    @classmethod
    def load(cls, name: str, bed: str = "a") -> BedSite:
        out = subprocess.run(
            ["bash", str(TWOSITE), "env", name],
            capture_output=True, text=True, check=True, timeout=30, env=bed_env(bed),
        ).stdout  # fmt: skip
        exports = {}
        for line in out.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            exports[key] = value
        return cls(name, exports, bed)

    @property
    def slurm_conf(self) -> Path:
        return Path(self.exports["SLURM_CONF"])

    @property
    def job_ids(self) -> range:
        return JOB_ID_RANGES[self.name]

    def env(self, **extra: str) -> dict[str, str]:
        """An environment whose Slurm commands go to this site (and only to it)."""
        return {**slurm_free_env(), "SLURM_CONF": str(self.slurm_conf), **extra}

    def run(
        self, *args: str, timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            args, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{self.name}: {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}"
            )
        return proc

    def pidfile(self, daemon: str) -> Path:
        return Path(self.exports[f"HELGENOM_{daemon.upper()}_PIDFILE"])

    def pid(self, daemon: str) -> int | None:
        """The pid of this site's `daemon` if it runs, else None."""
        try:
            pid = int(self.pidfile(daemon).read_text().split()[0])
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, ValueError, IndexError):
            return None
        if comm != daemon or any(
            line.split()[1:2] == ["Z"] for line in status.splitlines() if line.startswith("State:")
        ):
            return None
        return pid

    def kill(self, *daemons: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Kill this site's `daemons` by pid (as an outage would) and wait until they are gone."""
        pids = {}
        for daemon in daemons:
            pid = self.pid(daemon)
            assert pid is not None, f"{self.name}: {daemon} is not running"
            os.kill(pid, sig)
            pids[daemon] = pid
        deadline = time.monotonic() + 30
        while any(self.pid(d) for d in pids):
            assert time.monotonic() < deadline, f"{self.name}: {list(pids)} still alive"
            time.sleep(0.1)

    def health(self, timeout: float = 10) -> SiteHealth:
        return sitehealth.check(self.slurm_conf, timeout, site=self.name)

    def restart(self) -> None:
        """Start what of the site is down (twosite.sh start is idempotent), empty its queue."""
        start = subprocess.run(
            ["bash", str(TWOSITE), "start", self.name],
            capture_output=True, text=True, timeout=180, check=False, env=bed_env(self.bed),
        )  # fmt: skip
        assert start.returncode == 0, f"restarting {self.name} failed:\n{start.stderr[-3000:]}"
        user = subprocess.run(["id", "-un"], capture_output=True, text=True, timeout=5).stdout
        self.run("scancel", "-u", user.strip(), check=False)
        deadline = time.monotonic() + 60
        while self.run("squeue", "-h", "-o", "%i", check=False).stdout.strip():
            assert time.monotonic() < deadline, f"{self.name}: jobs left after the restart"
            time.sleep(0.5)
        health = self.health()
        assert health.healthy, health.message

    def wait_for_job(self, job_id: str, states: Collection[str], timeout: float = 60) -> str:
        """Wait until squeue shows `job_id` in one of `states`; returns the state."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            out = self.run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T", check=False)
            state = out.stdout.strip()
            if state in states:
                return state
            time.sleep(0.3)
        raise AssertionError(f"{self.name}: job {job_id} is {state!r}, not one of {states}")


def _bed_not_up(message: str) -> None:
    if os.environ.get("HELGENOM_SLURM_REQUIRED") == "1" or os.environ.get("CI"):
        pytest.fail(f"{message}: the two-site tests must run here (HELGENOM_SLURM_REQUIRED=1)")
    pytest.skip(message)


def bed_env(bed: str) -> dict[str, str]:
    """This process's environment with twosite.sh's bed set to `bed` ("a" or "b")."""
    return {**os.environ, "HELGENOM_TWOSITE_BED": bed}


def bed_site(name: str, bed: str = "a") -> BedSite:
    """A site of a test bed (scripts/slurm/twosite.sh), up and healthy.

    Skips when it is down (fails under HELGENOM_SLURM_REQUIRED=1 or CI)."""
    hint = f"(start it with: HELGENOM_TWOSITE_BED={bed} bash {TWOSITE.relative_to(REPO)} start)"
    if shutil.which("scontrol") is None:
        _bed_not_up(f"Slurm client tools not installed {hint}")
    site = BedSite.load(name, bed)
    if not site.slurm_conf.exists():
        _bed_not_up(f"no test bed config for {name} at {site.slurm_conf} {hint}")
    health = site.health()
    if not health.healthy:
        _bed_not_up(f"test bed site {name} not up {hint}: {health.message}")
    return site


@pytest.fixture(scope="module")
def two_sites(request: pytest.FixtureRequest) -> dict[str, BedSite]:
    """The two-site test bed, by site name ("computerome", "genomedk"); both up and healthy.

    The bed is the test module's `TWOSITE_BED` ("a" unless it says "b"): the modules on one
    bed share one xdist group (they run one after the other on one worker), the two beds' groups
    run at the same time. Skips when the bed is down (fails under HELGENOM_SLURM_REQUIRED=1 or
    CI). Tests that take a site down call `site.restart()` afterwards, so that the next tests
    find it up.
    """
    bed = getattr(request.module, "TWOSITE_BED", "a")
    return {name: bed_site(name, bed) for name in TWO_SITES}


# --- Runs on a bed's sites (the failover drills) -------------------------------------


def site_env(site: BedSite, db_url: str, **extra: str) -> dict[str, str]:
    return site.env(
        HELGENOM_SLURM_ACCOUNT=ACCOUNTS[site.name],
        HELGENOM_GENOMEDB_URL=db_url,
        **{f"HELGENOM_{site.name.upper()}_SLURM_CONF": str(site.slurm_conf)},
        **extra,
    )


def helgenom_process(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "helgenom", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip


def stop_when(proc: subprocess.Popen[str], ready: Path, what: str) -> str:
    """Ctrl-C the `helgenom run/failover` process `proc` once `ready` exists (the operator
    stops the run on a site); its stderr."""
    deadline = time.monotonic() + 900
    while not ready.exists():
        assert proc.poll() is None, f"the run ended before {what}:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, f"the run finished before it was stopped:\n{err[-3000:]}"
    return err


def vcf_records(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]
