"""Operator view of a run: per sample its class, deadline, progress, remaining time and slack.

Works on a running or a finished run directory: Snakemake's DAG (built read-only, without
taking the run's lock, by helgenom.snakemake_api) says which jobs are done and which still
have to run; the remaining time is the sample's remaining critical path, estimated like the
clinical scheduler does (earlier `benchmark:` files of each rule, else the rule's runtime
request).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helgenom.runs import load_workflow
from helgenom.scheduling import ClinicalScheduler, SampleClock

# A sample is at risk when its slack is below this (or below a tenth of its turnaround).
AT_RISK = timedelta(hours=24)


@dataclass(frozen=True)
class SampleStatus:
    sample_id: str
    priority: str
    received: datetime
    deadline: datetime | None
    jobs_done: int
    jobs_total: int
    remaining: timedelta
    slack: timedelta | None

    @property
    def state(self) -> str:
        if self.jobs_done == self.jobs_total:
            return "done"
        if self.slack is None:
            return "no deadline"
        if self.slack < timedelta(0):
            return "LATE"
        turnaround = (self.deadline - self.received) if self.deadline else AT_RISK
        if self.slack < max(AT_RISK, turnaround / 10):
            return "AT RISK"
        return "on track"


def run_status(
    run_dir: str | Path, configfiles: Sequence[str | Path] = (), *, now: datetime | None = None
) -> list[SampleStatus]:
    """The status of every sample of the run in `run_dir`."""
    # Inside, the working directory is the run's: benchmark paths are relative to it.
    with load_workflow(run_dir, configfiles) as workflow:
        graph = workflow.dag()
        clocks: dict[str, SampleClock] = workflow.globals["CLOCKS"]

        scheduler = ClinicalScheduler(graph.dag, None, logging.getLogger(__name__))
        scheduler.dag_updated()
        done: dict[str, int] = dict.fromkeys(clocks, 0)
        total: dict[str, int] = dict.fromkeys(clocks, 0)
        remaining: dict[str, float] = dict.fromkeys(clocks, 0.0)
        for sample, job, needs_run in graph.sample_jobs("sample"):
            if sample not in clocks:
                continue
            total[sample] += 1
            if needs_run:
                remaining[sample] = max(remaining[sample], scheduler.path_of(job))
            else:
                done[sample] += 1

    now = now or datetime.now(UTC)
    out = []
    for sample, clock in clocks.items():
        left = timedelta(seconds=remaining[sample])
        slack = clock.deadline - now - left if clock.deadline else None
        out.append(
            SampleStatus(
                sample,
                clock.policy.name,
                clock.received,
                clock.deadline,
                done[sample],
                total[sample],
                left,
                slack,
            )  # fmt: skip
        )
    return out


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    sign = "-" if value < timedelta(0) else ""
    seconds = abs(int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{sign}{days}d{hours:02d}h" if days else f"{sign}{hours}h{minutes:02d}m"


def format_status(rows: Sequence[SampleStatus]) -> str:
    """The operator table, most urgent sample first."""
    far = datetime.max.replace(tzinfo=UTC)
    rows = sorted(rows, key=lambda r: (r.state == "done", r.deadline or far, r.sample_id))
    header = (
        f"{'sample':16} {'class':9} {'deadline (UTC)':17} {'progress':>9} "
        f"{'remaining':>9} {'slack':>9}  state"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        deadline = r.deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if r.deadline else "-"
        lines.append(
            f"{r.sample_id:16} {r.priority:9} {deadline:17} "
            f"{f'{r.jobs_done}/{r.jobs_total}':>9} {_duration(r.remaining):>9} "
            f"{_duration(r.slack):>9}  {r.state}"
        )
    risky = [r.sample_id for r in rows if r.state in ("AT RISK", "LATE")]
    if risky:
        lines.append(f"\nAt risk of missing the deadline: {', '.join(risky)}")
    return "\n".join(lines)
