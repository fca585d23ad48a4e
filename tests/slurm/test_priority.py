"""Clinical priority on a real Slurm cluster: acute work overtakes research.

The node is filled with research jobs; then a run with an acute and a routine sample starts
(GenomeDK profile + clinical-priority workflow profile). What is checked comes from sacct.
The test has a cluster to itself (the test bed's third site, scripts/slurm/twosite.sh), as it
fills the whole node: the other Slurm tests run on their clusters at the same time.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from helgenom.demo import generate_demo
from helgenom.runs import snakemake_command
from slurm_helpers import ACCOUNTS, FAST_POLLING, BedSite, bed_site, sacct_jobs, since_now
from workflow_helpers import REPO, write_run_dir

# Its own worker and its own cluster (the test bed's site "abacus").
XDIST_GROUP = "slurm-priority"

RESEARCH_ACCOUNT = "helgenom-test"
RESEARCH_CPUS = 32  # six of them fill the 192-CPU test node
RESEARCH_JOBS = 8  # six run, two wait
RESEARCH_SECONDS = 75
# What every research job writes (checked after preemption and requeue).
RESEARCH_SCRIPT = (
    "sleep {s}; seq 1 100000 | sha256sum | cut -d' ' -f1 > {out}.tmp && mv {out}.tmp {out}"
)
EXPECTED = hashlib.sha256("".join(f"{i}\n" for i in range(1, 100001)).encode()).hexdigest()


def _run_dir(tmp_path: Path) -> Path:
    data = generate_demo(tmp_path / "demo", genome_length=60_000, coverage=8)
    fq = data.outdir / "fastq"
    write_run_dir(
        tmp_path / "run",
        samples=[
            {"sample_id": "ROUT1", "sex": "male", "priority": "routine", "indication": "x"},
            {"sample_id": "ACUTE1", "sex": "female", "priority": "acute", "indication": "x"},
        ],
        units=[
            {"sample_id": "ROUT1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L1",
             "fq1": str(fq / "DEMO002_HDEMOXX1.1_R1.fastq.gz"),
             "fq2": str(fq / "DEMO002_HDEMOXX1.1_R2.fastq.gz")},
            {"sample_id": "ACUTE1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L2",
             "fq1": str(fq / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
             "fq2": str(fq / "DEMO001_HDEMOXX1.1_R2.fastq.gz")},
        ],
        reference=data.reference,
        build="demo",
    )  # fmt: skip
    return tmp_path / "run"


@pytest.fixture(scope="module")
def site() -> BedSite:
    """A cluster for this test alone: the test bed's third site."""
    return bed_site("abacus")


def _squeue_states(site: BedSite, job_ids: list[str]) -> dict[str, str]:
    out = site.run("squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T", check=False).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_acute_overtakes_research_and_routine(site: BedSite, tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    outdir = tmp_path / "research"
    outdir.mkdir()
    since = since_now()
    research = []
    for n in range(RESEARCH_JOBS):
        out = outdir / f"result_{n}.txt"
        research.append(site.run(
            "sbatch", "--parsable", "-A", RESEARCH_ACCOUNT, "-q", "research", "-p", "normal",
            "-c", str(RESEARCH_CPUS), "--mem", "1000", "-J", f"research-{n}", "--requeue",
            "-o", str(outdir / f"slurm_{n}.log"),
            "--wrap", RESEARCH_SCRIPT.format(s=RESEARCH_SECONDS, out=out),
        ).stdout.strip().split(";")[0])  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = _squeue_states(site, research)
            if list(states.values()).count("RUNNING") == 6:
                break
            time.sleep(0.5)
        assert list(states.values()).count("RUNNING") == 6, states
        pending_before = [j for j, s in states.items() if s == "PENDING"]

        env = site.env(HELGENOM_SLURM_ACCOUNT=ACCOUNTS["genomedk"])
        # Two jobs at a time, as a per-user job limit on a busy site would allow: then the
        # clinical scheduler decides which sample's jobs go first.
        cmd = snakemake_command(
            run_dir, *FAST_POLLING, "--jobs", "2", "--workflow-profile",
            str(REPO / "profiles" / "clinical-priority"), cores=None,
            profile="profiles/genomedk",
        )  # fmt: skip
        proc = subprocess.run(cmd, cwd=run_dir, env=env, capture_output=True, text=True,
                              timeout=900)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        # The clinical scheduler chose every job (no fallback to Snakemake's greedy one: it
        # once failed on the site profile's group jobs, and then acute and routine tied).
        assert "clinical scheduler failed" not in proc.stdout + proc.stderr, proc.stderr[-3000:]

        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and _squeue_states(site, research):
            time.sleep(2)
        assert not _squeue_states(site, research), "research jobs did not finish"
    finally:
        site.run("scancel", *research, check=False)

    fields = ("JobID", "JobName", "QOS", "State", "Submit", "Start", "End", "Comment")
    time.sleep(3)  # sacct catches up with the last state changes
    # This run's jobs only: the plugin names every job of a run after the run's ID.
    jobs = sacct_jobs(ACCOUNTS["genomedk"], since, *fields, env=site.env())
    run_ids = {j["JobName"] for j in jobs if "wildcards_ACUTE1" in j["Comment"]}
    assert len(run_ids) == 1, jobs
    ours = [j for j in jobs if j["JobName"] in run_ids]
    acute = [j for j in ours if j["QOS"] == "clinical"]
    routine = [j for j in ours if j["QOS"] == "normal"]
    assert acute and routine, ours
    first_acute_start = min(_time(j["Start"]) for j in acute)

    # The acute sample's jobs started before every research job that was still waiting.
    history = site.run(
        "sacct", "-D", "-X", "-n", "-P", "-A", RESEARCH_ACCOUNT, "-S", since,
        "-o", "JobID,State,Start,End", timeout=60,
    ).stdout  # fmt: skip
    rows = [dict(zip(("JobID", "State", "Start", "End"), line.split("|"), strict=True))
            for line in history.splitlines() if line]  # fmt: skip
    for job_id in pending_before:
        starts = [_time(r["Start"]) for r in rows if r["JobID"] == job_id and r["Start"] != "None"]
        assert starts and min(starts) > first_acute_start, (job_id, rows)

    # Research jobs were preempted and requeued, and every one later finished correctly.
    preempted = {r["JobID"] for r in rows if r["State"] in ("PREEMPTED", "REQUEUED")}
    assert preempted, rows
    for job_id in research:
        final = [r for r in rows if r["JobID"] == job_id][-1]
        assert final["State"] == "COMPLETED", (job_id, rows)
    for n in range(RESEARCH_JOBS):
        assert (outdir / f"result_{n}.txt").read_text().strip() == EXPECTED

    # The acute sample finished before the routine one. The run's shared jobs (MultiQC, the
    # relatedness of the run's samples: no sample wildcard) run at the most urgent sample's QoS
    # but wait for every sample, so they are excepted.
    acute_end = max(_time(j["End"]) for j in acute if "wildcards_ACUTE1" in j["Comment"])
    routine_end = max(_time(j["End"]) for j in routine)
    assert acute_end < routine_end

    # The operator view of the finished run.
    status = subprocess.run([sys.executable, "-m", "helgenom", "status", "--directory",
                             str(run_dir)], capture_output=True, text=True, env=env)  # fmt: skip
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines()
             if line.startswith(("ROUT1", "ACUTE1"))}  # fmt: skip
    assert "acute" in lines["ACUTE1"] and lines["ACUTE1"].rstrip().endswith("done")
    assert "routine" in lines["ROUT1"] and lines["ROUT1"].rstrip().endswith("done")
