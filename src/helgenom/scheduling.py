"""Clinical priority: classes, deadlines, and a deadline-aware Snakemake job scheduler.

Each sample has a priority class (samples.tsv `priority`) with a turnaround deadline counted
from its `received` time (default: the run's start, helgenom.rundir.run_start).
Every job carries its sample's tags as integer resources (`helgenom_sample`,
`helgenom_deadline` in minutes since the epoch, `helgenom_rank`); jobs shared by samples
(reference, MultiQC) carry the most urgent sample's. On a Slurm site each job also gets its
class's QoS (acute/urgent -> clinical, routine -> normal, research -> research).

The scheduler (Snakemake scheduler plugin `clinical`, package
`snakemake_scheduler_plugin_clinical`) picks, whenever jobs can start, the set that best
serves the deadlines within the free resources:

1. For every sample, the remaining critical path R (longest chain of estimated runtimes from
   its ready jobs to the end of the run; estimates come from earlier `benchmark:` files of the
   same rule, else from the rule's `runtime` request) gives its slack = deadline - now - R.
2. Samples fall into urgency tiers by slack (late, < 12 h, < 1 d, < 2 d, < 5 d, < 14 d,
   < 28 d, later, no deadline). Tiers are filled strictly in order: a job of a more urgent
   tier is never passed over for a less urgent one.
3. Within a tier, a 0/1 knapsack over the free resources (cores, memory, ...) is solved with
   PuLP, weighting each job by its sample's slack (least slack first) and, to break ties
   within a sample, by its remaining path (critical chains first). When every job of the
   tier asks for the same resources the optimum is simply the best-weighted jobs, so the
   solver is skipped.
4. Any solver failure returns None, and Snakemake falls back to its greedy scheduler.
"""

import csv
import heapq
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo

from snakemake_interface_scheduler_plugins.base import SchedulerBase
from snakemake_interface_scheduler_plugins.settings import SchedulerSettingsBase

LOCAL_TZ = ZoneInfo("Europe/Copenhagen")

# Resource names of the tags every job carries.
TAG_SAMPLE = "helgenom_sample"
TAG_DEADLINE = "helgenom_deadline"
TAG_RANK = "helgenom_rank"

DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "acute": {"deadline_days": 5, "qos": "clinical"},
    "urgent": {"deadline_days": 14, "qos": "clinical"},
    "routine": {"deadline_days": 28, "qos": "normal"},
    "research": {"deadline_days": None, "qos": "research"},
}
CLASS_RANK = {name: rank for rank, name in enumerate(DEFAULT_POLICIES)}

# Upper bounds (hours of slack) of the urgency tiers; beyond the last: "later"; then no deadline.
TIER_BOUNDS_H = (0, 12, 24, 48, 5 * 24, 14 * 24, 28 * 24)
NO_DEADLINE_TIER = len(TIER_BOUNDS_H) + 1


@dataclass(frozen=True)
class ClassPolicy:
    name: str
    rank: int  # 0 = most urgent class
    deadline: timedelta | None
    qos: str


def policies(config: Mapping[str, Any]) -> dict[str, ClassPolicy]:
    """The priority classes from config['priorities'] (schema defaults filled)."""
    table = config.get("priorities") or DEFAULT_POLICIES
    out = {}
    for name, rank in CLASS_RANK.items():
        entry = table.get(name, DEFAULT_POLICIES[name])
        days = entry.get("deadline_days")
        deadline = timedelta(days=days) if days is not None else None
        out[name] = ClassPolicy(
            name, rank, deadline, entry.get("qos", DEFAULT_POLICIES[name]["qos"])
        )
    return out


def aware(moment: datetime) -> datetime:
    """A naive time is Danish local time (Europe/Copenhagen)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


@dataclass(frozen=True)
class SampleClock:
    sample_id: str
    policy: ClassPolicy
    received: datetime
    deadline: datetime | None

    @property
    def deadline_minutes(self) -> int:
        """The deadline as minutes since the epoch (0: no deadline), for the job tags."""
        return int(self.deadline.timestamp() // 60) if self.deadline else 0


def sample_clocks(
    samples: Mapping[str, Any], config: Mapping[str, Any], started: datetime
) -> dict[str, SampleClock]:
    """Class, received time and deadline of every sample (samplesheet.Sample objects)."""
    table = policies(config)
    out = {}
    for sample_id, sample in samples.items():
        policy = table[sample.priority]
        received = aware(sample.received) if sample.received else started
        deadline = received + policy.deadline if policy.deadline else None
        out[sample_id] = SampleClock(sample_id, policy, received, deadline)
    return out


def shared_clock(clocks: Mapping[str, SampleClock]) -> SampleClock | None:
    """The most urgent sample: jobs that serve all samples inherit its class and deadline."""
    if not clocks:
        return None
    far = datetime.max.replace(tzinfo=UTC)
    return min(clocks.values(), key=lambda c: (c.deadline or far, c.policy.rank))


def family_clocks(
    clocks: Mapping[str, SampleClock], families: Mapping[str, Sequence[str]]
) -> dict[str, SampleClock]:
    """The clocks a sample's jobs are scheduled by: a family member's is its family's most
    urgent member's (a trio's results wait for every member: the parents of an acute child
    are sequenced and analysed as acute), every other sample's its own."""
    out = dict(clocks)
    for members in families.values():
        urgent = shared_clock({s: clocks[s] for s in members if s in clocks})
        if urgent is not None:
            out.update({s: urgent for s in members if s in clocks})
    return out


def tier(slack_s: float | None) -> int:
    """Urgency tier of a slack in seconds (None: no deadline)."""
    if slack_s is None:
        return NO_DEADLINE_TIER
    hours = slack_s / 3600
    for index, bound in enumerate(TIER_BOUNDS_H):
        if hours < bound:
            return index
    return len(TIER_BOUNDS_H)


# ---- runtime estimates ---------------------------------------------------------------------
class RuntimeEstimator:
    """Seconds a job is expected to take, from earlier `benchmark:` files of its rule."""

    def __init__(self, default_s: float = 60.0) -> None:
        self.default_s = default_s
        self._by_dir: dict[Path, float | None] = {}

    @staticmethod
    def _read_seconds(path: Path) -> float | None:
        try:
            with path.open() as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            return float(rows[-1]["s"]) if rows else None
        except (OSError, KeyError, ValueError):
            return None

    def _rule_median(self, rule_dir: Path) -> float | None:
        if rule_dir not in self._by_dir:
            values = (
                [v for p in rule_dir.rglob("*.tsv") if (v := self._read_seconds(p)) is not None]
                if rule_dir.is_dir()
                else []
            )
            self._by_dir[rule_dir] = statistics.median(values) if values else None
        return self._by_dir[rule_dir]

    def estimate(self, benchmark: str | None, runtime_min: float | None) -> float:
        if benchmark:
            path = Path(str(benchmark))
            own = self._read_seconds(path) if path.exists() else None
            if own is not None:
                return own
            parts = path.parts
            if len(parts) >= 2:
                median = self._rule_median(Path(*parts[:2]))
                if median is not None:
                    return median
        if runtime_min:
            return float(runtime_min) * 60
        return self.default_s


# ---- the scheduler -------------------------------------------------------------------------
@dataclass
class ClinicalSchedulerSettings(SchedulerSettingsBase):
    # Optional[...] (not "X | None" strings): Snakemake turns these fields into CLI options.
    solver: Optional[str] = field(  # noqa: UP045
        default="HiGHS",
        metadata={
            "help": "PuLP solver for the knapsack within an urgency tier (HiGHS, in "
            "process; or PULP_CBC_CMD)."
        },
    )
    time_limit: Optional[float] = field(  # noqa: UP045
        default=5.0,
        metadata={"help": "Seconds the solver may take per selection before falling back."},
    )


def _resources(job: Any) -> Mapping[str, Any]:
    try:
        return job.scheduler_resources
    except AttributeError:
        return {}


def _members(job: Any) -> list[Any]:
    """The jobs of a group job (Snakemake's GroupJob.jobs, a frozenset), else the job."""
    return list(job.jobs) if getattr(job, "is_group", lambda: False)() else [job]


def _tags(job: Any) -> tuple[int, int, int]:
    """(sample, deadline minutes, rank) of a job; a group job takes its most urgent member's."""
    tags = [
        (
            int(res.get(TAG_SAMPLE, 0) or 0),
            int(res.get(TAG_DEADLINE, 0) or 0),
            int(res.get(TAG_RANK, len(CLASS_RANK)) or 0),
        )
        for res in map(_resources, _members(job))
    ]
    # Earliest deadline (0 = none = last), then the most urgent class.
    return min(tags, key=lambda t: (t[1] or math.inf, t[2]), default=(0, 0, len(CLASS_RANK)))


class ClinicalScheduler(SchedulerBase):
    """Deadline-aware job selection (see the module docstring)."""

    clock: Callable[[], float] = staticmethod(time.time)

    def __post_init__(self) -> None:
        self.estimator = RuntimeEstimator()
        self._path: dict[Any, float] = {}
        self._static: dict[Any, tuple[int, int, float]] = {}  # job -> (sample, deadline, path)
        self.solver_calls = 0
        self.failures = 0

    # -- remaining critical paths over the DAG --
    def _estimate(self, job: Any) -> float:
        total = 0.0
        for member in _members(job):
            runtime = _resources(member).get("runtime")
            bench = getattr(member, "benchmark", None)
            total += self.estimator.estimate(
                bench if bench else None, runtime if isinstance(runtime, int | float) else None
            )
        return total

    def dag_updated(self) -> None:
        jobs = list(self.dag.needrun_jobs())
        children: dict[Any, list[Any]] = {job: [] for job in jobs}
        for job in jobs:
            for dep in self.dag.job_dependencies(job):
                if dep in children:
                    children[dep].append(job)
        path: dict[Any, float] = {}

        def visit(job: Any) -> float:
            stack = [(job, False)]
            while stack:
                node, expanded = stack.pop()
                if node in path:
                    continue
                pending = [c for c in children.get(node, ()) if c not in path]
                if expanded or not pending:
                    down = max((path[c] for c in children.get(node, ())), default=0.0)
                    path[node] = self._estimate(node) + down
                else:
                    stack.append((node, True))
                    stack.extend((c, False) for c in pending)
            return path[job]

        for job in jobs:
            visit(job)
        self._path = path
        self._static = {}

    def path_of(self, job: Any) -> float:
        if job in self._path:
            return self._path[job]
        members = _members(job)
        known = [self._path[m] for m in members if m in self._path]
        return max(known) if known else self._estimate(job)

    # -- selection --
    def _job_facts(self, job: Any) -> tuple[int, int, float]:
        """(sample, deadline minutes, remaining path): fixed for a job, so computed once."""
        facts = self._static.get(job)
        if facts is None:
            sample, deadline, _rank = _tags(job)
            facts = self._static[job] = (sample, deadline, self.path_of(job))
        return facts

    def weights(self, jobs: Sequence[Any]) -> list[tuple[int, float]]:
        """(tier, weight) of each job; lower tier first, higher weight first within a tier."""
        now = self.clock()
        facts = [self._job_facts(job) for job in jobs]
        remaining: dict[int, float] = {}
        longest = 1.0
        for sample, _, p in facts:
            if p > remaining.get(sample, -1.0):
                remaining[sample] = p
            longest = max(longest, p + 1.0)
        # Slack, tier and position within the tier are per sample: computed once per sample.
        per_sample: dict[tuple[int, int], tuple[int, float]] = {}
        out = []
        for sample, deadline_min, p in facts:
            key = (sample, deadline_min)
            if key not in per_sample:
                per_sample[key] = self._urgency(deadline_min, now, remaining[sample])
            t, base = per_sample[key]
            # Least slack first; the remaining path only breaks ties (within a sample).
            out.append((t, base + 0.01 * p / longest))
        return out

    @staticmethod
    def _urgency(deadline_min: int, now: float, remaining: float) -> tuple[int, float]:
        """(tier, base weight) of a sample from its deadline and remaining critical path."""
        if not deadline_min:
            return NO_DEADLINE_TIER, 1.5
        slack = deadline_min * 60 - now - remaining
        t = tier(slack)
        lo = TIER_BOUNDS_H[t - 1] * 3600 if 0 < t <= len(TIER_BOUNDS_H) else 0.0
        hi = TIER_BOUNDS_H[t] * 3600 if t < len(TIER_BOUNDS_H) else lo + 28 * 86400
        position = min(max((slack - lo) / max(hi - lo, 1.0), 0.0), 1.0)
        return t, 2.0 - position

    def select_jobs(
        self,
        selectable_jobs: Sequence[Any],
        remaining_jobs: Sequence[Any],
        available_resources: Mapping[str, int | str],
        input_sizes: Mapping[Any, int],
    ) -> Sequence[Any] | None:
        try:
            return self._select(list(selectable_jobs), available_resources)
        except Exception as error:  # noqa: BLE001 - any failure: Snakemake's own scheduler
            # Said once in full (with the traceback): priorities are then Snakemake's own.
            self.failures += 1
            message = f"clinical scheduler failed ({error!r}); using the greedy one"
            if self.failures == 1:
                self.logger.warning(message, exc_info=True)
            else:
                self.logger.debug(message)
            return None

    def _select(self, jobs: list[Any], available: Mapping[str, int | str]) -> list[Any] | None:
        capacity = {k: v for k, v in available.items() if isinstance(v, int | float)}
        scored = self.weights(jobs)
        tiers: dict[int, list[int]] = {}
        for i, (t, _) in enumerate(scored):
            tiers.setdefault(t, []).append(i)
        chosen: list[Any] = []
        for t in sorted(tiers):
            if capacity.get("_cores", 1) <= 0:
                break
            # Only the best-weighted candidates can matter: at most a few per free core.
            k = max(32, 4 * int(capacity.get("_cores", 8)))
            shortlist = heapq.nlargest(k, tiers[t], key=lambda i: scored[i][1])
            picked = self._knapsack([(jobs[i], scored[i][1]) for i in shortlist], capacity)
            if picked is None:
                return None
            for job in picked:
                chosen.append(job)
                need = _resources(job)
                for name in capacity:
                    capacity[name] -= int(need.get(name, 0) or 0)
        return chosen

    def _knapsack(
        self, items: list[tuple[Any, float]], capacity: Mapping[str, float]
    ) -> list[Any] | None:
        needs = [
            {name: int(_resources(job).get(name, 0) or 0) for name in capacity} for job, _ in items
        ]
        fits = [all(n[r] <= capacity[r] for r in capacity) for n in needs]
        candidates = [(i, w) for i, (_, w) in enumerate(items) if fits[i]]
        if not candidates:
            return []
        total = {r: sum(needs[i][r] for i, _ in candidates) for r in capacity}
        if all(total[r] <= capacity[r] for r in capacity):
            return [items[i][0] for i, _ in candidates]  # everything fits
        if len({tuple(sorted(needs[i].items())) for i, _ in candidates}) == 1:
            # Identical demands: the optimum is the best-weighted jobs that fit.
            need = needs[candidates[0][0]]
            room = min(
                (capacity[r] // need[r] for r in capacity if need[r] > 0), default=len(candidates)
            )
            best = sorted(candidates, key=lambda c: -c[1])[: int(room)]
            return [items[i][0] for i, _ in best]
        return self._solve(items, needs, candidates, capacity)

    def _solve(
        self,
        items: list[tuple[Any, float]],
        needs: list[dict[str, int]],
        candidates: list[tuple[int, float]],
        capacity: Mapping[str, float],
    ) -> list[Any] | None:
        import pulp

        settings = self.settings or ClinicalSchedulerSettings()
        problem = pulp.LpProblem("helgenom_clinical", pulp.LpMaximize)
        x = {i: problem.add_variable(f"x{i}", cat=pulp.LpBinary) for i, _ in candidates}
        problem += pulp.lpSum(w * x[i] for i, w in candidates)
        for r, cap in capacity.items():
            terms = [needs[i][r] * x[i] for i, _ in candidates if needs[i][r]]
            if terms:
                problem += pulp.lpSum(terms) <= cap, f"cap_{r}"
        solver = pulp.getSolver(settings.solver, msg=False, timeLimit=settings.time_limit)
        self.solver_calls += 1
        status = problem.solve(solver)
        if pulp.LpStatus[status] != "Optimal":
            self.logger.warning(f"clinical scheduler: solver status {pulp.LpStatus[status]}")
            return None
        return [items[i][0] for i, _ in candidates if (x[i].value() or 0) > 0.5]
