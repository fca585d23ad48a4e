"""Shared helpers for the tests on the real Slurm test cluster (scripts/slurm/start.sh)."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime

import pytest

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


def sacct_jobs(account: str, since: str, *fields: str) -> list[dict[str, str]]:
    fields = fields or ("JobID", "JobName", "Partition", "Account", "QOS", "State", "ReqMem",
                        "Comment")  # fmt: skip
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-A", account, "-S", since, "-o", ",".join(fields)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]


def since_now() -> str:
    """A sacct --starttime for jobs submitted from now on (waits a second to be exact)."""
    stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1)
    return stamp
