"""Shared helpers for the tests on the real Slurm test cluster (scripts/slurm/start.sh)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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

    @classmethod
    def load(cls, name: str) -> BedSite:
        out = subprocess.run(
            ["bash", str(TWOSITE), "env", name],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        exports = {}
        for line in out.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            exports[key] = value
        return cls(name, exports)

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
            capture_output=True, text=True, timeout=180, check=False,
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


def bed_site(name: str) -> BedSite:
    """A site of the test bed (scripts/slurm/twosite.sh), up and healthy.

    Skips when it is down (fails under HELGENOM_SLURM_REQUIRED=1 or CI)."""
    hint = f"(start it with: bash {TWOSITE.relative_to(REPO)} start)"
    if shutil.which("scontrol") is None:
        _bed_not_up(f"Slurm client tools not installed {hint}")
    site = BedSite.load(name)
    if not site.slurm_conf.exists():
        _bed_not_up(f"no test bed config for {name} at {site.slurm_conf} {hint}")
    health = site.health()
    if not health.healthy:
        _bed_not_up(f"test bed site {name} not up {hint}: {health.message}")
    return site


@pytest.fixture(scope="session")
def two_sites() -> dict[str, BedSite]:
    """The two-site test bed, by site name ("computerome", "genomedk"); both up and healthy.

    Skips when the bed is down (fails under HELGENOM_SLURM_REQUIRED=1 or CI). Tests that take
    a site down call `site.restart()` afterwards, so that the next tests find it up.
    """
    return {name: bed_site(name) for name in TWO_SITES}
