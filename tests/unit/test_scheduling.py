"""The clinical scheduler on synthetic DAGs, simulated with a virtual clock."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helgenom.rundir import run_identifier, run_start
from helgenom.samplesheet import looks_like_cpr
from helgenom.scheduling import (
    TAG_DEADLINE,
    TAG_RANK,
    TAG_SAMPLE,
    ClinicalScheduler,
    ClinicalSchedulerSettings,
    RuntimeEstimator,
    family_clocks,
    policies,
    sample_clocks,
    shared_clock,
    tier,
)

T0 = 1_800_000_000.0  # the virtual clock's start (seconds since the epoch)
HOUR = 3600.0


@dataclass(eq=False)
class Job:
    name: str
    duration: float  # seconds
    cores: int = 1
    mem_mb: int = 0
    sample: int = 0
    deadline: float | None = None  # epoch seconds
    rank: int = 2
    deps: list[Job] = field(default_factory=list)
    benchmark: str | None = None
    priority: int = 0

    @property
    def scheduler_resources(self) -> dict[str, int]:
        return {
            "_cores": self.cores,
            "mem_mb": self.mem_mb,
            "runtime": max(1, int(self.duration // 60)),
            TAG_SAMPLE: self.sample,
            TAG_DEADLINE: int(self.deadline // 60) if self.deadline else 0,
            TAG_RANK: self.rank,
        }


class Dag:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.done: set[Job] = set()

    def needrun_jobs(self) -> list[Job]:
        return self.jobs

    def job_dependencies(self, job: Job) -> list[Job]:
        return job.deps

    def finished(self, job: Job) -> bool:
        return job in self.done


def chain(name: str, n: int, duration: float, **tags: Any) -> list[Job]:
    jobs: list[Job] = []
    for i in range(n):
        jobs.append(Job(f"{name}{i}", duration, deps=jobs[-1:], **tags))
    return jobs


def simulate(jobs: list[Job], cores: int, scheduler_cls: type = ClinicalScheduler,
             mem_mb: int = 0, settings: Any = None) -> dict[str, float]:  # fmt: skip
    """Run the DAG on `cores` with the scheduler; returns each job's finish time."""
    now = [T0]
    dag = Dag(jobs)
    scheduler = scheduler_cls(dag, settings, logging.getLogger("test"))
    scheduler.clock = lambda: now[0]
    scheduler.dag_updated()
    running: dict[Job, float] = {}
    finish: dict[str, float] = {}
    while len(finish) < len(jobs):
        ready = [j for j in jobs if j.name not in finish and j not in running
                 and all(d.name in finish for d in j.deps)]  # fmt: skip
        free = {"_cores": cores - sum(j.cores for j in running),
                "mem_mb": mem_mb - sum(j.mem_mb for j in running)}  # fmt: skip
        if ready:
            chosen = scheduler.select_jobs(ready, ready, free, {})
            assert chosen is not None
            for job in chosen:
                running[job] = now[0] + job.duration
        assert running, "deadlock: nothing runs"
        job = min(running, key=running.__getitem__)
        now[0] = running.pop(job)
        finish[job.name] = now[0]
        dag.done.add(job)
    return finish


def test_acute_chain_finishes_before_routine_starts_when_cores_fit_one_sample() -> None:
    acute = chain("acute", 3, HOUR, cores=2, sample=1, deadline=T0 + 5 * 86400, rank=0)
    routine = chain("routine", 3, HOUR, cores=2, sample=2, deadline=T0 + 28 * 86400, rank=2)
    finish = simulate(routine + acute, cores=2)  # routine listed first on purpose
    assert max(finish[j.name] for j in acute) < min(finish[j.name] for j in routine)
    assert finish["acute2"] == T0 + 3 * HOUR


def test_tight_deadlines_are_all_met_when_possible() -> None:
    # One core. The routine sample was received long ago: its deadline is 3.5 h away and
    # it needs 3 h; the acute one needs 3 h and has 7 h. Only routine-first meets both.
    routine = chain("routine", 3, HOUR, sample=1, deadline=T0 + 3.5 * HOUR, rank=2)
    acute = chain("acute", 3, HOUR, sample=2, deadline=T0 + 7 * HOUR, rank=0)
    finish = simulate(acute + routine, cores=1)
    assert finish["routine2"] <= T0 + 3.5 * HOUR
    assert finish["acute2"] <= T0 + 7 * HOUR

    class ClassFirst(ClinicalScheduler):  # the naive policy: always the higher class first
        def weights(self, jobs):  # noqa: ANN001, ANN202
            return [(j.rank, 1.0) for j in jobs]

    naive = simulate(chain("routine", 3, HOUR, sample=1, deadline=T0 + 3.5 * HOUR, rank=2)
                     + chain("acute", 3, HOUR, sample=2, deadline=T0 + 7 * HOUR, rank=0),
                     cores=1, scheduler_cls=ClassFirst)  # fmt: skip
    assert naive["routine2"] > T0 + 3.5 * HOUR  # ... which class order alone would miss


def test_research_without_deadline_goes_last() -> None:
    research = chain("research", 2, HOUR, sample=1, deadline=None, rank=3)
    routine = chain("routine", 2, HOUR, sample=2, deadline=T0 + 28 * 86400, rank=2)
    finish = simulate(research + routine, cores=1)
    assert finish["routine1"] < finish["research0"]


def test_critical_chain_first_within_a_sample() -> None:
    # Same sample: a long chain and a short independent job; the chain's head goes first.
    long_chain = chain("long", 4, HOUR, sample=1, deadline=T0 + 5 * 86400, rank=0)
    short = [Job("short", HOUR, sample=1, deadline=T0 + 5 * 86400, rank=0)]
    finish = simulate(short + long_chain, cores=1)
    assert finish["long0"] < finish["short"]


def test_mixed_demands_use_the_solver_and_respect_all_resources() -> None:
    deadline = T0 + 86400
    big = Job("big", HOUR, cores=4, mem_mb=8000, sample=1, deadline=deadline, rank=0)
    small = [Job(f"s{i}", HOUR, cores=2, mem_mb=2000, sample=1, deadline=deadline, rank=0)
             for i in range(3)]  # fmt: skip
    scheduler = ClinicalScheduler(Dag([big, *small]), None, logging.getLogger("test"))
    scheduler.clock = lambda: T0
    scheduler.dag_updated()
    chosen = scheduler.select_jobs([big, *small], [], {"_cores": 4, "mem_mb": 9000}, {})
    assert chosen is not None and scheduler.solver_calls == 1
    assert sum(j.cores for j in chosen) <= 4 and sum(j.mem_mb for j in chosen) <= 9000
    assert len(chosen) == 2 and big not in chosen  # two jobs outweigh one


def test_identical_demands_skip_the_solver() -> None:
    jobs = [Job(f"j{i}", HOUR, sample=i, deadline=T0 + i * HOUR + 2 * HOUR) for i in range(6)]
    scheduler = ClinicalScheduler(Dag(jobs), None, logging.getLogger("test"))
    scheduler.clock = lambda: T0
    scheduler.dag_updated()
    chosen = scheduler.select_jobs(jobs[::-1], [], {"_cores": 2}, {})
    assert [j.name for j in chosen] == ["j0", "j1"]  # least slack first
    assert scheduler.solver_calls == 0


@dataclass(eq=False)
class Group:
    """Shaped like Snakemake's GroupJob: `jobs` a frozenset property, `is_group()` true."""

    members: list[Job]

    def is_group(self) -> bool:
        return True

    @property
    def jobs(self) -> frozenset[Job]:
        return frozenset(self.members)

    @property
    def scheduler_resources(self) -> dict[str, int]:
        return {"_cores": sum(j.cores for j in self.members)}


def test_group_jobs_take_their_most_urgent_members_tags() -> None:
    """Site profiles group short steps (e.g. the VCF steps) into one Slurm job: such a group
    of the acute sample goes before routine jobs, and the scheduler does not fail on it."""
    from snakemake.jobs import GroupJob

    assert isinstance(inspect.getattr_static(GroupJob, "jobs"), property)
    assert GroupJob.is_group is not None
    acute = Group([Job(f"vcf{i}", HOUR, sample=1, deadline=T0 + 5 * 86400, rank=0)
                   for i in range(2)])  # fmt: skip
    routine = [Job(f"r{i}", HOUR, sample=2, deadline=T0 + 28 * 86400, rank=2) for i in range(3)]
    scheduler = ClinicalScheduler(Dag([*acute.members, *routine]), None, logging.getLogger("t"))
    scheduler.clock = lambda: T0
    scheduler.dag_updated()
    chosen = scheduler.select_jobs([*routine, acute], [], {"_cores": 3}, {})
    assert chosen is not None and acute in chosen and len(chosen) == 2


def test_solver_failure_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    jobs = [Job("a", HOUR, cores=3, mem_mb=10, sample=1, deadline=T0 + HOUR),
            Job("b", HOUR, cores=2, mem_mb=20, sample=1, deadline=T0 + HOUR),
            Job("c", HOUR, cores=2, mem_mb=30, sample=1, deadline=T0 + HOUR)]  # fmt: skip
    settings = ClinicalSchedulerSettings(solver="NO_SUCH_SOLVER")
    scheduler = ClinicalScheduler(Dag(jobs), settings, logging.getLogger("test"))
    scheduler.dag_updated()
    with caplog.at_level(logging.DEBUG, logger="test"):
        for _ in range(3):
            assert scheduler.select_jobs(jobs, jobs, {"_cores": 4, "mem_mb": 100}, {}) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info  # once, with the traceback
    assert "NO_SUCH_SOLVER" in warnings[0].getMessage()


def test_tiers() -> None:
    assert tier(-1) == 0
    assert tier(HOUR) == 1
    assert tier(13 * HOUR) == 2
    assert tier(4 * 86400) == 4
    assert tier(100 * 86400) == 7
    assert tier(None) == 8


def test_runtime_estimator_reads_benchmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bench = tmp_path / "benchmarks" / "align_bwa" / "S1"
    bench.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\n"
    (bench / "U1.tsv").write_text(header + "100.5\t0:01:40\t10\n")
    (bench / "U2.tsv").write_text(header + "300.0\t0:05:00\t10\n")
    est = RuntimeEstimator()
    assert est.estimate("benchmarks/align_bwa/S1/U1.tsv", 60) == 100.5  # its own record
    assert est.estimate("benchmarks/align_bwa/S2/U9.tsv", 60) == 200.25  # the rule's median
    assert est.estimate("benchmarks/other/x.tsv", 2) == 120  # the runtime request
    assert est.estimate(None, None) == 60


def test_run_start_is_recorded_once(tmp_path: Path) -> None:
    first = run_start(tmp_path, now=datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    again = run_start(tmp_path, now=datetime(2026, 11, 3, 8, 0, tzinfo=UTC))
    assert first == again == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_sample_clocks_and_deadlines() -> None:
    started = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    samples = {
        "A": SimpleNamespace(priority="acute", received=datetime(2026, 11, 19, 9, 0)),
        "R": SimpleNamespace(priority="routine", received=None),
        "X": SimpleNamespace(priority="research", received=None),
    }
    config = {"priorities": {"acute": {"deadline_days": 5, "qos": "clinical"},
                             "routine": {"deadline_days": 28, "qos": "normal"}}}  # fmt: skip
    clocks = sample_clocks(samples, config, started)
    # A naive 'received' is Danish time (UTC+1 in November).
    assert clocks["A"].deadline == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert clocks["R"].deadline == started + timedelta(days=28)
    assert clocks["X"].deadline is None and clocks["X"].deadline_minutes == 0
    assert clocks["A"].policy.qos == "clinical" and clocks["X"].policy.qos == "research"
    assert shared_clock(clocks).sample_id == "A"
    assert policies({})["urgent"].deadline == timedelta(days=14)

    # a family's members are scheduled by its most urgent member (the acute child's parents)
    jobs = family_clocks(clocks, {"FAM1": ["A", "R"]})
    assert jobs["R"] is clocks["A"] and jobs["A"] is clocks["A"] and jobs["X"] is clocks["X"]
    assert family_clocks(clocks, {}) == clocks


def test_run_identifiers_never_look_like_cpr_numbers() -> None:
    """Every start second of a day (hours, minutes and seconds read as DDMMYY before the
    digest's first digits was the trap: run-20261126T180533-1234abcd)."""
    day = datetime(2026, 11, 26, tzinfo=UTC)
    ids = [run_identifier(day + timedelta(seconds=s)) for s in range(0, 86400, 1)]
    assert len(set(ids)) == len(ids)
    assert not [i for i in ids if looks_like_cpr(i)]
