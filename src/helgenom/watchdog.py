"""Run Snakemake under a watchdog that ends the run when its Slurm site stops answering.

    helgenom watchdog --site NAME [--interval S] [--grace S] [--slurm-conf PATH]
        [--passive SITE] -- snakemake ...

(`helgenom run` runs the workflow under it: helgenom.siterun.)

snakemake-executor-plugin-slurm 2.8 waits forever when the site's controller disappears:
with the accounting still up it polls sacct for ever; with the accounting gone too it drops
the jobs and idles for ever. The watchdog starts the Snakemake command as a child in its own
process group and checks the site (helgenom.sitehealth: `scontrol ping`, `sacctmgr show
cluster`) every `interval` seconds. When the controller or the accounting has not answered
for `grace` seconds it prints one message to stderr (the site, what does not answer and since
when, and what to do: `helgenom failover --to <passive site>`, runbook: README.md, 'Failover'),
ends Snakemake (SIGINT to its process group, as Ctrl-C would: Snakemake then cancels what it
can and exits, while on SIGTERM it would wait for its running jobs, for ever with the
controller gone; SIGKILL after `kill_timeout` seconds) and returns SITE_UNREACHABLE.

The plugin also waits forever for a job somebody cancelled (`scancel`): sacct says "CANCELLED
by <uid>", which it does not count as a failure. While the site answers, the watchdog reads the
run's jobs from sacct (by the run's Slurm job name, which Snakemake logs as "SLURM run ID")
every `interval` seconds. It says at once which job was cancelled, lets the run go on with
its other jobs, and once none of the run's jobs has been queued or running for `grace`
seconds, it ends Snakemake the same way and returns JOBS_CANCELLED: run the same command
again to redo the cancelled jobs (and what waits for them).

Exit codes: Snakemake's own (128 + N when a signal N ended it), or
    75 (SITE_UNREACHABLE, EX_TEMPFAIL)  the site stopped answering and the run was ended;
    76 (JOBS_CANCELLED)  jobs of the run were cancelled; the rest was done, the run ended.
SIGINT, SIGTERM and SIGHUP sent to the watchdog go on, unchanged, to Snakemake's process group
(on SIGINT Snakemake cancels its jobs and exits, on SIGTERM it first waits for its running
jobs); the watchdog then returns Snakemake's exit code.

The child runs with SLURM_CONF set to the site's config when one is known (`slurm_conf`, or
$HELGENOM_<SITE>_SLURM_CONF), so that it submits to the site the watchdog watches.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from helgenom import sitehealth

SITE_UNREACHABLE = 75  # EX_TEMPFAIL: the site stopped answering; the run was ended
JOBS_CANCELLED = 76  # jobs of the run were cancelled in Slurm; the rest was done, run ended
# sacct states of a job that is queued or running (or about to be again).
ACTIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_FED",
     "REQUEUE_HOLD", "RESIZING", "SUSPENDED", "PREEMPTED", "STAGE_OUT", "SIGNALING"}
)  # fmt: skip
RUN_ID_LINE = re.compile(r"SLURM run ID: (\S+)")
# The passive site to fail over to, by primary site (both ways: after a failover the former
# primary is the passive one). $HELGENOM_PASSIVE_SITE or `passive=` override it.
PASSIVE_SITES = {"computerome": "genomedk", "genomedk": "computerome"}
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def passive_site(site: str, passive: str | None = None) -> str:
    return (
        passive
        or os.environ.get("HELGENOM_PASSIVE_SITE")
        or PASSIVE_SITES.get(site, "<passive site>")
    )


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _stamp(wall: float) -> str:
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")


def unreachable_message(
    site: str,
    health: sitehealth.SiteHealth,
    down_since: Mapping[str, float],
    passive: str,
) -> str:
    """The message the watchdog prints when it ends a run (`down_since`: part -> wall time)."""
    now = time.time()
    lines = [f"helgenom watchdog: site {site} is unreachable; the Snakemake run was stopped."]
    for name, part, daemon in (
        ("controller", health.controller, "slurmctld"),
        ("accounting", health.accounting, "slurmdbd"),
    ):
        if name in down_since:
            since = down_since[name]
            lines.append(
                f"  {name} ({daemon} at {part.address}) has not answered since "
                f"{_stamp(since)} ({now - since:.0f} s): {part.detail}"
            )
    lines += [
        f"  Jobs already submitted to {site} may still be running there, or may be lost.",
        f"  What to do: if {site} does not come back soon, fail over to the passive site:",
        f"      helgenom failover --to {passive}",
        "  (runbook: README.md, 'Failover'); if it comes back, run the same command again: "
        "Snakemake resumes where it stopped.",
        f"  (exit code {SITE_UNREACHABLE}: site unreachable)",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class SlurmJob:
    """One Slurm job of the run, as sacct has it (Comment: the plugin's rule and wildcards)."""

    job_id: str
    state: str
    comment: str

    @property
    def cancelled(self) -> bool:
        return self.state.startswith("CANCELLED")

    @property
    def active(self) -> bool:
        return self.state.split()[0] in ACTIVE_STATES if self.state else False


def slurm_run_id(run_dir: Path, since: float) -> str | None:
    """The Slurm job name of the Snakemake run started in `run_dir` at or after `since`
    (the "SLURM run ID" line of its newest log in .snakemake/log/), if it logged one yet."""
    logs = [
        path
        for path in (Path(run_dir) / ".snakemake" / "log").glob("*.snakemake.log")
        if path.stat().st_mtime >= since
    ]
    for path in sorted(logs, key=lambda p: p.stat().st_mtime, reverse=True):
        with path.open(errors="replace") as handle:
            for line in handle:
                found = RUN_ID_LINE.search(line)
                if found:
                    return found.group(1)
    return None


def parse_sacct(output: str) -> list[SlurmJob]:
    """`sacct -X -n -P -o JobIDRaw,State,Comment` lines (others, e.g. errors, are skipped)."""
    jobs = []
    for line in output.splitlines():
        job_id, _, rest = line.partition("|")
        state, _, comment = rest.partition("|")
        if job_id.strip().isdigit() and state:
            jobs.append(SlurmJob(job_id.strip(), state.strip(), comment.strip()))
    return jobs


def run_jobs(conf: Path, run_id: str, since: float, timeout: float) -> list[SlurmJob] | None:
    """The run's jobs since `since` (epoch s) from sacct; None when sacct did not answer."""
    start = datetime.fromtimestamp(since - 60).strftime("%Y-%m-%dT%H:%M:%S")
    code, out = sitehealth.slurm_client(
        ["sacct", "-X", "-n", "-P", "--name", run_id, "-S", start, "-o", "JobIDRaw,State,Comment"],
        conf,
        timeout,
    )
    return parse_sacct(out) if code == 0 else None


def cancelled_message(site: str, job: SlurmJob) -> str:
    what = f" ({job.comment})" if job.comment else ""
    return (
        f"helgenom watchdog: Slurm job {job.job_id}{what} on {site} was cancelled "
        f"({job.state}). Snakemake (snakemake-executor-plugin-slurm 2.8) would wait for it for "
        "ever: the run goes on with its other jobs and is ended when none is left."
    )


def cancelled_end_message(cancelled: Sequence[SlurmJob]) -> str:
    ids = ", ".join(job.job_id for job in cancelled)
    return "\n".join(
        [
            f"helgenom watchdog: the run was ended: its Slurm job(s) {ids} were cancelled, and "
            "no other job of the run is queued or running.",
            "  What to do: run the same command again; Snakemake redoes the cancelled jobs "
            "and what waits for them.",
            f"  (exit code {JOBS_CANCELLED}: jobs cancelled)",
        ]
    )


def _stop_group(proc: subprocess.Popen[bytes], kill_timeout: float) -> None:
    """Stop the child's process group: SIGINT, wait, then SIGKILL.

    SIGINT, not SIGTERM: on SIGTERM Snakemake waits for its running jobs to finish, which
    never happens with the controller gone; on SIGINT (Ctrl-C) it cancels them (as far as
    the site still answers) and exits.
    """
    for sig, wait in ((signal.SIGINT, kill_timeout), (signal.SIGKILL, 30.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # What of the group outlived its leader goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_with_watchdog(
    cmd: Sequence[str],
    cwd: Path,
    site: str,
    *,
    interval: float = 30,
    grace: float = 120,
    slurm_conf: Path | str | None = None,
    passive: str | None = None,
    kill_timeout: float = 60,
    check_timeout: float = 10,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> int:
    """Run `cmd` in `cwd` under the watchdog of `site`; returns its exit code or 75.

    See the module's docstring. `env` is the child's environment (default this process's);
    SLURM_CONF in it is set to the site's config when one is known. `on_start` is called
    with the child's pid (= its process group) once it runs.
    """
    conf = Path(slurm_conf) if slurm_conf else sitehealth.conf_for_site(site)
    child_env = dict(os.environ if env is None else env)
    if conf is not None:
        child_env["SLURM_CONF"] = str(conf)
    check_conf = conf or Path(child_env.get("SLURM_CONF") or sitehealth.DEFAULT_SLURM_CONF)

    started: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not started:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started[0].pid, signum)

    # The handlers go in before the child starts: exec resets handled signals to their
    # default, while ignored ones stay ignored (a shell's `cmd &` ignores SIGINT), and
    # Snakemake only stops on SIGINT when it does not ignore it.
    previous = {}
    try:
        for sig in FORWARDED_SIGNALS:
            previous[sig] = signal.signal(sig, forward)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=child_env, start_new_session=True)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    started.append(proc)
    if on_start is not None:
        on_start(proc.pid)
    for signum in pending:
        forward(signum, None)
    try:
        # part -> (wall time, monotonic time) of the first check it failed, in a row
        down_since: dict[str, tuple[float, float]] = {}
        next_check = time.monotonic() + interval
        jobs_watch = _CancelledJobs(cwd, site, check_conf, time.time(), check_timeout)
        while True:
            try:
                return _exit_code(proc.wait(timeout=max(0.0, next_check - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
            health = sitehealth.check(check_conf, check_timeout, site=site)
            next_check = time.monotonic() + interval
            if proc.poll() is not None:
                return _exit_code(proc.returncode)
            for name, ok in (("controller", health.controller_ok),
                             ("accounting", health.accounting_ok)):  # fmt: skip
                if ok:
                    down_since.pop(name, None)
                else:
                    down_since.setdefault(name, (time.time(), time.monotonic()))
            if down_since and time.monotonic() - min(m for _, m in down_since.values()) >= grace:
                since = {name: wall for name, (wall, _) in down_since.items()}
                _stop_group(proc, kill_timeout)
                # After Snakemake's last words, so that the operator sees it last.
                message = unreachable_message(site, health, since, passive_site(site, passive))
                print(message, file=sys.stderr, flush=True)
                return SITE_UNREACHABLE
            if not down_since and jobs_watch.idle_for() >= grace:
                _stop_group(proc, kill_timeout)
                print(cancelled_end_message(jobs_watch.cancelled), file=sys.stderr, flush=True)
                return JOBS_CANCELLED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:  # an error in the watchdog itself: do not leave Snakemake
            _stop_group(proc, kill_timeout)


class _CancelledJobs:
    """Watches the run's Slurm jobs for cancelled ones (see the module's docstring)."""

    def __init__(self, run_dir: Path, site: str, conf: Path, since: float, timeout: float):
        self.run_dir, self.site, self.conf = run_dir, site, conf
        self.since, self.timeout = since, timeout
        self.run_id: str | None = None
        self.cancelled: list[SlurmJob] = []
        self._idle_since: float | None = None

    def idle_for(self) -> float:
        """Seconds for which a job of the run was cancelled and none queued or running."""
        if self.run_id is None:
            self.run_id = slurm_run_id(self.run_dir, self.since)
            if self.run_id is None:
                return 0.0
        jobs = run_jobs(self.conf, self.run_id, self.since, self.timeout)
        if jobs is None:  # sacct did not answer: the site checks see to that
            return 0.0
        known = {job.job_id for job in self.cancelled}
        for job in jobs:
            if job.cancelled and job.job_id not in known:
                self.cancelled.append(job)
                print(cancelled_message(self.site, job), file=sys.stderr, flush=True)
        if not self.cancelled or any(job.active for job in jobs):
            self._idle_since = None
            return 0.0
        if self._idle_since is None:
            self._idle_since = time.monotonic()
        return time.monotonic() - self._idle_since
