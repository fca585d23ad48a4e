"""Operating a run on an HPC site: `helgenom run` and `helgenom failover` (README: Failover).

`run_on_site` starts the workflow with the site's profile (and the clinical-priority workflow
profile) under the watchdog (helgenom.watchdog), records the run's process
(helgenom.rundir.record_process) and, while the run goes on, the checksums of its completed
outputs (helgenom.failover.record_outputs).

`fail_over` continues a run on the passive site from a replica of its run directory: it moves
the lease to the passive site (fencing the primary, and writes the fence into the primary's
run directory and stops its Snakemake when they can be reached), verifies the replicated
outputs against the manifest (moving every unproven file aside), unlocks, and resumes with
the passive site's profile, acute samples first.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helgenom import failover, rundir
from helgenom.config import read_config_files
from helgenom.runs import REPO, snakemake_command
from helgenom.sites import SITES

CLINICAL_PROFILE = REPO / "profiles" / "clinical-priority"


def _say(message: str) -> None:
    print(f"helgenom: {message}", file=sys.stderr, flush=True)


def site_command(
    run_dir: Path,
    site: str,
    configfiles: Sequence[str | Path] = (),
    extra: Sequence[str] = (),
    *,
    clinical: bool = True,
) -> list[str]:
    """The Snakemake command of a run on `site` (its profile; clinical priority)."""
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}: one of {', '.join(sorted(SITES))}")
    args: list[str] = []
    if configfiles:
        args += ["--configfile", *[str(Path(f).resolve()) for f in configfiles]]
    if clinical:
        args += ["--workflow-profile", str(CLINICAL_PROFILE)]
    return snakemake_command(run_dir, *args, *extra, cores=None, profile=f"profiles/{site}")


class _Recorder:
    """Records completed outputs every `every` seconds in a thread, and once at the end."""

    def __init__(self, run_dir: Path, every: float):
        self.run_dir, self.every = run_dir, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(self.every):
            self._record()

    def _record(self) -> None:
        try:
            failover.record_outputs(self.run_dir)
        except (OSError, ValueError) as error:  # never end the run over the manifest
            _say(f"recording output checksums failed this time: {error}")

    def __enter__(self) -> _Recorder:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join()
        self._record()


def run_on_site(
    run_dir: Path,
    site: str,
    configfiles: Sequence[str | Path] = (),
    extra: Sequence[str] = (),
    *,
    clinical: bool = True,
    interval: float = 30,
    grace: float = 120,
    record_every: float = 30,
    slurm_conf: Path | None = None,
    passive: str | None = None,
) -> int:
    """Run the workflow in `run_dir` on `site`; Snakemake's exit code, or 75 when the site
    stopped answering (helgenom.watchdog.SITE_UNREACHABLE). FencedError if the run belongs to
    another site."""
    from helgenom.watchdog import run_with_watchdog

    run_dir = Path(run_dir).resolve()
    failover.check_lease(run_dir, site)
    cmd = site_command(run_dir, site, configfiles, extra, clinical=clinical)
    rundir.record_process(run_dir, site, os.getpid())
    _say(f"running on {site}: {' '.join(cmd)}")
    with _Recorder(run_dir, record_every):
        return run_with_watchdog(
            cmd,
            run_dir,
            site,
            interval=interval,
            grace=grace,
            slurm_conf=slurm_conf,
            passive=passive,
            on_start=lambda pgid: rundir.record_process(run_dir, site, os.getpid(), pgid),
        )


def _config(run_dir: Path, configfiles: Sequence[str | Path]) -> dict[str, Any]:
    paths = [Path(p) for p in configfiles or [run_dir / "config.yaml"]]
    return read_config_files([p for p in paths if p.exists()])


def fail_over(
    run_dir: Path,
    to_site: str,
    configfiles: Sequence[str | Path] = (),
    extra: Sequence[str] = (),
    *,
    primary_run_dir: Path | None = None,
    resume: bool = True,
    say: Callable[[str], None] = _say,
    **run_options: Any,
) -> int:
    """Continue the run whose replica is `run_dir` on `to_site` (see the module's docstring).
    Safe to repeat: a second failover to the same site verifies and resumes again."""
    run_dir = Path(run_dir).resolve()
    if to_site not in SITES:
        raise ValueError(f"unknown site {to_site!r}: one of {', '.join(sorted(SITES))}")
    if not rundir.has_state(run_dir):
        raise failover.FailoverError(
            f"{run_dir} holds no {rundir.STATE_DIR}/ folder: it is not a replicated helgenom "
            "run directory (replicate the whole run directory, README.md, 'Failover')"
        )
    old = rundir.read_lease(run_dir)
    lease = failover.take_over(run_dir, to_site, f"failover to {to_site}")
    say(
        f"lease: {lease.token} (was {old.token if old else 'none'}); the old site is fenced"
        if old is None or old.token != lease.token
        else f"lease: {lease.token} already held (repeated failover)"
    )
    if primary_run_dir is not None:
        if failover.fence(Path(primary_run_dir), lease):
            say(f"fence written into the primary's run directory {primary_run_dir}")
        else:
            say(f"the primary's run directory {primary_run_dir} cannot be written: not fenced")
        say(f"primary's Snakemake: {failover.stop_process(Path(primary_run_dir))}")
    dirs = failover.output_dirs(run_dir, _config(run_dir, configfiles))
    is_output = failover.output_matcher(run_dir, configfiles)
    verified = failover.verify_outputs(run_dir, dirs, lease.epoch, is_output)
    say(verified.summary())
    for path in verified.quarantined:
        say(f"  not proven complete, made again: {path}")
    if failover.unlock(run_dir):
        say("unlocked (the replica's Snakemake locks removed)")
    if not resume:
        return 0
    return run_on_site(run_dir, to_site, configfiles, extra, **run_options)
