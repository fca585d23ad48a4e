"""Tests against the real single-host Slurm cluster of scripts/slurm/start.sh.

Skipped unless that cluster answers `scontrol ping`; start it with
`bash scripts/slurm/start.sh` (as root) and stop it with `bash scripts/slurm/stop.sh`.
The tests only ever use the config in that cluster's state dir ($HELGENOM_SLURM_DIR,
default /var/tmp/helgenom-slurm), never a site's SLURM_CONF, so they cannot submit to a
real cluster. With HELGENOM_SLURM_REQUIRED=1 (for CI, once it starts the cluster) a cluster
that is not up fails the tests instead. Every Slurm command runs with a timeout, and every
wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

# One worker runs the tests on the single-host test cluster (scripts/slurm/start.sh) one by
# one: they share its queue and accounting.
XDIST_GROUP = "slurm-cluster"

STATE_DIR = Path(os.environ.get("HELGENOM_SLURM_DIR", "/var/tmp/helgenom-slurm"))
SLURM_CONF = STATE_DIR / "etc" / "slurm.conf"
CLUSTER = os.environ.get("HELGENOM_SLURM_CLUSTER", "helgenom")

# Partition -> account, as each site profile would submit them.
PARTITIONS = {
    "short": "genomedk-proj",
    "normal": "genomedk-proj",
    "thinnode": "computerome-proj",
    "fatnode": "computerome-proj",
    "slim": "abacus-proj",
    "fat": "abacus-proj",
}
QOSES = ("clinical", "normal", "research")
# The node the test cluster declares (scripts/slurm/lib.sh): large enough for every site profile.
NODE_CPUS = int(os.environ.get("HELGENOM_SLURM_NODE_CPUS", "192"))
NODE_MEM_MB = os.environ.get("HELGENOM_SLURM_NODE_MEM_MB", "1536000")


def _slurm_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))
    }
    env["SLURM_CONF"] = str(SLURM_CONF)
    return env


class Slurm:
    """Runs Slurm client commands and remembers the jobs it submitted."""

    def __init__(self, outdir: Path) -> None:
        self.env = _slurm_env()
        self.outdir = outdir
        self.jobs: list[str] = []

    def run(
        self, *args: str, timeout: float = 20, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def sbatch(self, *args: str, wrap: str = "true", minutes: int = 5) -> str:
        out = self.run(
            "sbatch",
            "--parsable",
            f"--time={minutes}",
            f"--output={self.outdir}/%j.out",
            *args,
            "--wrap",
            wrap,
        ).stdout.strip()
        job_id = out.split(";")[0]
        assert job_id.isdigit(), out
        self.jobs.append(job_id)
        return job_id

    def states(self, ids: Iterable[str]) -> dict[str, str]:
        """State of each job as slurmctld has it now (finished jobs stay for MinJobAge)."""
        ids = list(ids)
        out = self.run(
            "squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i|%T", check=False
        ).stdout
        states = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
        return {i: states.get(i, "GONE") for i in ids}

    def job_field(self, job_id: str, field: str) -> str:
        out = self.run("scontrol", "-o", "show", "job", job_id).stdout
        for word in out.split():
            key, _, value = word.partition("=")
            if key == field:
                return value
        raise AssertionError(f"no {field} in: {out}")

    def wait_for(self, what: str, cond: Callable[[], object], timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            if time.monotonic() > deadline:
                queue = self.run("squeue", "-o", "%i %P %q %T %C %m %r", check=False).stdout
                raise AssertionError(f"{what}: not within {timeout}s\nqueue:\n{queue}")
            time.sleep(0.3)

    def cancel(self, ids: Iterable[str]) -> None:
        ids = [
            i
            for i, s in self.states(ids).items()
            if s in ("PENDING", "RUNNING", "CONFIGURING", "REQUEUED", "SUSPENDED")
        ]
        if ids:
            self.run("scancel", *ids, check=False)

    def wait_gone(self, ids: Iterable[str], timeout: float = 20) -> None:
        ids = list(ids)
        active = {
            "PENDING",
            "RUNNING",
            "CONFIGURING",
            "COMPLETING",
            "REQUEUED",
            "SUSPENDED",
            "REQUEUE_HOLD",
        }
        self.wait_for(
            f"jobs {ids} to leave the queue",
            lambda: not any(s in active for s in self.states(ids).values()),
            timeout,
        )


def _not_up(message: str) -> None:
    if os.environ.get("HELGENOM_SLURM_REQUIRED") == "1":
        pytest.fail(f"{message} (HELGENOM_SLURM_REQUIRED=1)")
    pytest.skip(message)


def _skip_unless_up() -> None:
    hint = "(start it with: bash scripts/slurm/start.sh)"
    if shutil.which("scontrol") is None:
        _not_up(f"Slurm client tools not installed {hint}")
    if not SLURM_CONF.exists():
        _not_up(f"no test Slurm cluster config at {SLURM_CONF} {hint}")
    env = _slurm_env()
    try:
        ping = subprocess.run(
            ["scontrol", "ping"], env=env, capture_output=True, text=True, timeout=8, check=False
        )
    except subprocess.TimeoutExpired:
        _not_up(f"scontrol ping timed out: test Slurm cluster not up {hint}")
    if "is UP" not in ping.stdout:
        answer = (ping.stdout + ping.stderr).strip()
        _not_up(f"test Slurm cluster not up {hint}: {answer}")
    # From here on the cluster is up: what is wrong with it fails the tests.
    config = subprocess.run(
        ["scontrol", "show", "config"], env=env, capture_output=True, text=True, timeout=15
    ).stdout
    assert f"ClusterName             = {CLUSTER}" in config, f"{SLURM_CONF} is not {CLUSTER}"
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, timeout=5).stdout.strip()
    assoc = subprocess.run(
        ["sacctmgr", "-n", "-P", "list", "assoc", f"user={user}", "format=account"],
        env=env,
        capture_output=True,
        text=True,
        timeout=15,
    ).stdout.split()
    if not set(PARTITIONS.values()) <= set(assoc):
        _not_up(
            f"user {user} has no association with the test accounts; start.sh adds root "
            "and $SUDO_USER (run it with sudo from this user)"
        )


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory):
    _skip_unless_up()
    outdir = tmp_path_factory.mktemp("slurm-jobs")
    outdir.chmod(0o1777)
    s = Slurm(outdir)
    yield s
    s.cancel(s.jobs)


def test_cluster_layout(slurm: Slurm) -> None:
    out = slurm.run("sinfo", "-h", "-o", "%P|%c|%m|%T").stdout.split()
    rows = {line.split("|")[0].rstrip("*"): line.split("|")[1:] for line in out}
    assert set(rows) == set(PARTITIONS)
    for cpus, mem, state in rows.values():
        assert (cpus, mem) == (str(NODE_CPUS), NODE_MEM_MB)
        assert state in ("idle", "mixed", "allocated")
    config = slurm.run("scontrol", "show", "config").stdout
    for setting in ("DefMemPerCPU", "EnforcePartLimits", "PreemptType", "ProctrackType"):
        assert any(line.split("=")[0].strip() == setting for line in config.splitlines()), setting
    assert "EnforcePartLimits       = ALL" in config
    assert "DefMemPerCPU            = 1000" in config


@pytest.fixture(scope="module")
def matrix_jobs(slurm: Slurm) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """One small job in each partition with each QoS, run to completion.

    Returns (partition, qos) -> (job id, sacct fields JobID|Partition|Account|QOS|State|ExitCode).
    """
    wrap = 'echo "$SLURM_JOB_PARTITION $SLURM_JOB_QOS $SLURM_JOB_ACCOUNT"'
    jobs = {
        (part, qos): slurm.sbatch(
            "-p", part, "-q", qos, "-A", acct, "-c", "1", "--mem=100M", wrap=wrap
        )
        for part, acct in PARTITIONS.items()
        for qos in QOSES
    }
    ids = list(jobs.values())
    slurm.wait_for(
        "all matrix jobs COMPLETED",
        lambda: all(s == "COMPLETED" for s in slurm.states(ids).values()),
        60,
    )

    def sacct_rows() -> dict[str, list[str]] | None:
        out = slurm.run(
            "sacct",
            "-X",
            "-n",
            "-P",
            "-j",
            ",".join(ids),
            "-o",
            "JobID,Partition,Account,QOS,State,ExitCode",
        ).stdout
        rows = {line.split("|")[0]: line.split("|") for line in out.splitlines()}
        # slurmdbd gets the records asynchronously: wait until all are complete.
        done = all(
            i in rows and rows[i][1] and rows[i][3] != "Unknown" and rows[i][4] == "COMPLETED"
            for i in ids
        )
        return rows if done else None

    rows = slurm.wait_for("sacct records of the matrix jobs", sacct_rows, 30)
    assert isinstance(rows, dict)
    return {key: (job_id, rows[job_id]) for key, job_id in jobs.items()}


@pytest.mark.parametrize("qos", QOSES)
@pytest.mark.parametrize("partition", list(PARTITIONS))
def test_job_runs_in_partition_with_qos(
    slurm: Slurm, matrix_jobs, partition: str, qos: str
) -> None:
    job_id, row = matrix_jobs[(partition, qos)]
    account = PARTITIONS[partition]
    assert row == [job_id, partition, account, qos, "COMPLETED", "0:0"]
    assert (slurm.outdir / f"{job_id}.out").read_text().split() == [partition, qos, account]


def test_unknown_qos_fails_at_sbatch(slurm: Slurm) -> None:
    proc = slurm.run(
        "sbatch", "--parsable", "-p", "short", "-A", "genomedk-proj", "--qos=nonexistent",
        f"--output={slurm.outdir}/rejected.out", "--job-name=hgt-bad-qos", "--wrap", "true",
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0, f"sbatch accepted a job with an unknown QoS: {proc.stdout}"
    assert "qos" in proc.stderr.lower(), proc.stderr
    assert slurm.run("squeue", "-h", "-n", "hgt-bad-qos").stdout.strip() == ""


def test_unknown_account_fails_at_sbatch(slurm: Slurm) -> None:
    proc = slurm.run(
        "sbatch", "-p", "normal", "-A", "no-such-account", f"--output={slurm.outdir}/rejected.out",
        "--wrap", "true", check=False,
    )  # fmt: skip
    assert proc.returncode != 0, f"sbatch accepted a job with an unknown account: {proc.stdout}"
    assert "account" in proc.stderr.lower(), proc.stderr


def test_defmempercpu_lets_two_one_cpu_jobs_run_together(slurm: Slurm) -> None:
    # No --mem: DefMemPerCPU gives each 1000M instead of the whole node.
    ids = [slurm.sbatch("-p", "normal", "-c", "1", wrap="sleep 60") for _ in range(2)]
    try:
        slurm.wait_for(
            "two 1-CPU jobs RUNNING at once",
            lambda: all(s == "RUNNING" for s in slurm.states(ids).values()),
            20,
        )
        for job_id in ids:
            assert slurm.job_field(job_id, "MinMemoryCPU") == "1000M"
    finally:
        slurm.cancel(ids)
        slurm.wait_gone(ids)


def test_clinical_preempts_running_research_job(slurm: Slurm) -> None:
    slurm.wait_gone(slurm.jobs)  # start from an empty node
    half = str(NODE_CPUS // 2)
    running = [
        slurm.sbatch("-p", "normal", "-q", "research", "-c", half, wrap="sleep 120")
        for _ in range(2)
    ]
    ids = list(running)
    try:
        slurm.wait_for(
            "two research jobs filling the node RUNNING",
            lambda: all(s == "RUNNING" for s in slurm.states(running).values()),
            20,
        )
        waiting = slurm.sbatch("-p", "normal", "-q", "research", "-c", half, wrap="sleep 120")
        ids.append(waiting)
        clinical = slurm.sbatch("-p", "normal", "-q", "clinical", "-c", "1", wrap="sleep 60")
        ids.append(clinical)
        slurm.wait_for(
            "the clinical job RUNNING", lambda: slurm.states([clinical])[clinical] == "RUNNING", 30
        )
        restarts = {job_id: int(slurm.job_field(job_id, "Restarts")) for job_id in running}
        assert sum(restarts.values()) >= 1, f"no research job was requeued: {restarts}"
        states = slurm.states(ids)
        assert states[waiting] == "PENDING", states
        # The clinical job and the research job that was not preempted.
        assert list(states.values()).count("RUNNING") == 2, states
        preempted = [job_id for job_id, n in restarts.items() if n]
        assert all(
            states[job_id] in ("PENDING", "REQUEUED", "COMPLETING") for job_id in preempted
        ), states
    finally:
        slurm.cancel(ids)
        slurm.wait_gone(ids)
