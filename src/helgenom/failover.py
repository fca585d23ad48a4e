"""Failover between HPC sites: who may run a run directory (the site lease and its
fencing), which outputs are proven complete, replication of a run directory, and the
failover's steps.

The state that makes a run directory portable lives in it (README.md, 'Failover'); its files
are read and written by helgenom.rundir only. This module decides what they say:

- the lease: a site run (config `site`) takes it at its start and refuses to start when it
  names another site; every cluster job checks the epoch of the Snakemake process that
  submitted it (rundir.LEASE_ENV), so a job of a fenced site never writes into the run. A
  failover moves it to the passive site with the next epoch and fences the old copy.
- the outputs manifest: completed outputs are recorded from Snakemake's own completion
  records (`.snakemake/metadata`, written only after a job succeeded and its outputs were
  checked) while the run goes on. On the passive site, an output counts as complete only if
  its size and SHA-256 match its manifest entry: a half-written file is quarantined and made
  again, also when the replica holds no `.snakemake/` (where Snakemake alone would take the
  file as complete).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helgenom.rundir import (
    QUARANTINE,
    Lease,
    OutputEntry,
    append_outputs,
    quarantine,
    read_lease,
    read_outputs,
    read_process,
    utc_stamp,
    write_lease,
)

# Folders of a run directory that hold outputs (besides the reference's prep_dir).
OUTPUT_DIRS = ("results",)
# Never replicated: per-site software builds and Snakemake's locks (the run is unlocked on
# the passive site after its outputs are verified).
REPLICATE_EXCLUDES = (".snakemake/conda/", ".snakemake/singularity/", ".snakemake/locks/")


class FencedError(RuntimeError):
    """This site may not write into the run: the run was failed over (or back) elsewhere."""


class FailoverError(RuntimeError):
    """The failover (or replication) cannot go on; str() says why and what to do."""


def fenced_message(lease: Lease, site: str) -> str:
    return (
        f"this run directory belongs to site {lease.site} since {lease.since} (fencing epoch "
        f"{lease.epoch}): the run was failed over, and site {site} is fenced. Do not run it "
        f"here; to fail back, replicate the run from {lease.site} and run `helgenom failover "
        f"--to {site}` (README.md, 'Failover')."
    )


def fenced_copy_message(run_dir: Path, lease: Lease) -> str:
    return (
        f"{run_dir} was fenced when the run was failed over to {lease.site} (fencing epoch "
        f"{lease.epoch}): it is no longer the run, and nothing may run in it or be copied "
        f"from it. To fail back, replicate the run from {lease.site} over it first "
        "(README.md, 'Failing back')."
    )


def check_lease(run_dir: Path, site: str) -> Lease | None:
    """FencedError if `site` may not run the run in `run_dir` (another site holds its lease,
    or it is the fenced copy a failover left behind); the lease, if there is one."""
    lease = read_lease(run_dir)
    if lease is not None and lease.fenced:
        raise FencedError(fenced_copy_message(run_dir, lease))
    if lease is not None and lease.site != site:
        raise FencedError(fenced_message(lease, site))
    return lease


def hold_lease(run_dir: Path, site: str) -> Lease:
    """The lease of a site run starting in `run_dir`: taken if there is none, kept if this
    site holds it; FencedError if another site does."""
    lease = check_lease(run_dir, site)
    if lease is None:
        lease = Lease(site, 1, utc_stamp())
        write_lease(run_dir, lease)
    return lease


def check_job_lease(run_dir: Path, token: str) -> None:
    """In a cluster job: FencedError unless the run's lease is still the one (site:epoch) of
    the Snakemake process that submitted the job."""
    lease = read_lease(run_dir)
    if lease is not None and lease.fenced:
        raise FencedError(fenced_copy_message(run_dir, lease))
    if lease is not None and lease.token != token:
        site = token.split(":", 1)[0]
        raise FencedError(
            f"job submitted under lease {token}, but the run's lease is now {lease.token}: "
            + fenced_message(lease, site)
        )


def take_over(run_dir: Path, site: str, reason: str) -> Lease:
    """Move the run's lease to `site` with the next fencing epoch (the failover's first act);
    the lease it replaces goes into the history."""
    old = read_lease(run_dir)
    if old is not None and old.fenced:
        raise FencedError(fenced_copy_message(run_dir, old))
    if old is not None and old.site == site:
        return old
    history: tuple[dict[str, Any], ...] = ()
    if old is not None:
        ended = {"site": old.site, "epoch": old.epoch, "since": old.since}
        history = (*old.history, {**ended, "ended": utc_stamp(), "reason": reason})
    lease = Lease(site, (old.epoch if old else 0) + 1, utc_stamp(), history)
    write_lease(run_dir, lease)
    return lease


def fence(primary_run_dir: Path, lease: Lease) -> bool:
    """Write the new lease into the primary's run directory (when it can be reached), so the
    primary refuses to start or run jobs there. False if it cannot be written."""
    try:
        current = read_lease(primary_run_dir)
        if current is not None and current.epoch > lease.epoch:
            raise FailoverError(
                f"{primary_run_dir} holds a newer lease ({current.token}) than {lease.token}"
            )
        fenced = Lease(lease.site, lease.epoch, lease.since, lease.history, fenced=True)
        write_lease(primary_run_dir, fenced)
    except OSError:
        return False
    return True


# ---- the manifest of completed outputs -------------------------------------------------------
def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _decode_record(relative: Path) -> str | None:
    """The output path of a Snakemake metadata/incomplete record (urlsafe base64 of the path,
    split into '@'-prefixed folders when longer than a file name may be)."""
    parts = [p[1:] if p.startswith("@") else p for p in relative.parts]
    try:
        return base64.urlsafe_b64decode("".join(parts)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _records(folder: Path) -> Iterator[tuple[str, Path]]:
    if not folder.is_dir():
        return
    for root, _, files in os.walk(folder):
        for name in files:
            record = Path(root) / name
            output = _decode_record(record.relative_to(folder))
            if output is not None:
                yield output, record


def completed_outputs(run_dir: Path) -> dict[str, float]:
    """Outputs Snakemake recorded as complete (metadata with incomplete=false and no
    incomplete marker), with the mtime recorded at completion."""
    snakemake = Path(run_dir) / ".snakemake"
    incomplete = {output for output, _ in _records(snakemake / "incomplete")}
    done = {}
    for output, record in _records(snakemake / "metadata"):
        if output in incomplete:
            continue
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if data.get("incomplete") is False and data.get("endtime") is not None:
            done[output] = float(data["endtime"])
    return done


def record_outputs(run_dir: Path) -> int:
    """Add the outputs completed since the last call to the manifest; how many were added.

    Only a file whose mtime is the one Snakemake recorded when its job finished is taken (a
    file being made again has no metadata or another mtime). Safe to call at any time, from
    any number of processes (appends of whole lines)."""
    run_dir = Path(run_dir)
    known = read_outputs(run_dir)
    added = []
    for output, endtime in sorted(completed_outputs(run_dir).items()):
        path = run_dir / output
        try:
            stat = path.stat()
        except OSError:
            continue  # a temp() output already removed
        if not path.is_file() or abs(stat.st_mtime - endtime) > 1e-3:
            continue
        entry = known.get(output)
        if entry and (entry.size, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            continue
        digest = sha256_of(path)
        if path.stat().st_mtime_ns != stat.st_mtime_ns:
            continue  # changed while hashed
        added.append(OutputEntry(output, stat.st_size, stat.st_mtime_ns, digest))
    return append_outputs(run_dir, added)


@dataclass
class Verification:
    accepted: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # moved: no or a different entry

    def summary(self) -> str:
        return (
            f"{len(self.accepted)} output(s) verified against the manifest, "
            f"{len(self.quarantined)} moved to {QUARANTINE}/ (incomplete or unproven; they "
            "are made again)"
        )


def output_dirs(run_dir: Path, config: Mapping[str, Any]) -> list[Path]:
    """The folders of a run directory that hold outputs: results/ and the reference's."""
    prep = config.get("reference", {}).get("prep_dir", "reference")
    dirs = [Path(run_dir) / d for d in (*OUTPUT_DIRS, prep)]
    return [d for d in dirs if d.resolve().is_relative_to(Path(run_dir).resolve())]


def output_matcher(run_dir: Path, configfiles: Sequence[str | Path] = ()) -> Callable[[str], bool]:
    """Whether a path (relative to the run directory) is an output of one of the workflow's
    rules: loads the workflow with the run's config. Logs, benchmark files and undeclared
    side files (MultiQC's data folder) are not outputs: Snakemake does not judge them."""
    from helgenom.runs import load_workflow  # here: common.smk imports failover at parse time

    with load_workflow(run_dir, configfiles) as workflow:
        return workflow.output_matcher()


def _files(dirs: Iterable[Path]) -> Iterator[Path]:
    for folder in dirs:
        if folder.is_dir():
            for root, _, files in os.walk(folder):
                for name in sorted(files):
                    yield Path(root) / name


def verify_outputs(
    run_dir: Path,
    dirs: Sequence[Path],
    epoch: int,
    is_output: Callable[[str], bool],
    *,
    workers: int = 8,
) -> Verification:
    """Keep every output whose size and SHA-256 match its manifest entry; move every other
    output found in `dirs` to .helgenom/quarantine/<epoch>/ (nothing is deleted).

    The SHA-256s are computed by `workers` threads (parallel reads pay on cluster storage)."""
    run_dir = Path(run_dir)
    entries = read_outputs(run_dir)
    outputs = []
    for path in _files(dirs):
        relative = path.relative_to(run_dir).as_posix()
        if is_output(relative):
            outputs.append((path, relative))

    def proven(item: tuple[Path, str]) -> bool:
        path, relative = item
        entry = entries.get(relative)
        return (
            entry is not None
            and entry.size == path.stat().st_size
            and sha256_of(path) == entry.sha256
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(proven, outputs))
    result = Verification()
    for (_path, relative), ok in zip(outputs, verdicts, strict=True):
        if ok:
            result.accepted.append(relative)
            continue
        quarantine(run_dir, epoch, relative)
        result.quarantined.append(relative)
    return result


# ---- the Snakemake process of a run ------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/stat")
    try:  # a zombie has ended
        return state.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop_process(run_dir: Path, timeout: float = 60) -> str:
    """Stop the run's recorded `helgenom run` and its Snakemake if they run on this host:
    SIGINT (Snakemake cancels what it can and exits; on SIGTERM it would wait for its jobs,
    for ever when the controller is gone), SIGKILL to both after `timeout`. What was done."""
    data = read_process(run_dir)
    if data is None:
        return "no recorded process"
    if data.get("host") != socket.gethostname():
        return f"process {data.get('pid')} runs on {data.get('host')}: not reachable from here"
    pid = int(data["pid"])
    group = data.get("snakemake_pgid")
    if not _alive(pid) and (group is None or not _alive(int(group))):
        return f"process {pid} had ended"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # helgenom run passes it on to Snakemake
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid) and (group is None or not _alive(int(group))):
            return f"stopped process {pid}"
        time.sleep(0.5)
    for target in [int(group)] if group else []:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(target, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return f"killed process {pid} and its Snakemake (they did not end within {timeout:.0f} s)"


# ---- replication -------------------------------------------------------------------------------
def replicate(
    source: Path, dest: str, *, include_snakemake: bool = True, record: bool = True
) -> list[str]:
    """Copy a run directory to the passive site with rsync (dest: a path or host:path).

    Records the completed outputs first (so the copy carries their checksums). Refuses when
    the destination holds a newer lease (it was failed over: the source is fenced). Files are
    never deleted at the destination, and rsync renames each file into place only when it
    is complete. Returns the rsync command that ran."""
    source = Path(source)
    if record:
        record_outputs(source)
    src_lease = read_lease(source)
    if src_lease is not None and src_lease.fenced:
        raise FencedError(fenced_copy_message(source, src_lease))
    if ":" not in dest:
        dest_lease = read_lease(Path(dest))
        if dest_lease is not None and src_lease is not None and dest_lease.epoch > src_lease.epoch:
            raise FencedError(
                f"{dest} holds lease {dest_lease.token}, newer than {source}'s "
                f"({src_lease.token}): the run was failed over to {dest_lease.site}, and "
                f"{source} may no longer be copied over it (README.md, 'Failing back')."
            )
    cmd = ["rsync", "-a", "--hard-links"]
    excludes = list(REPLICATE_EXCLUDES) + ([] if include_snakemake else [".snakemake/"])
    cmd += [f"--exclude={e}" for e in excludes]
    cmd += [f"{source}/", f"{dest}/"]
    if ":" not in dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True)
    return cmd


def unlock(run_dir: Path) -> bool:
    """Remove the replica's Snakemake locks (what `snakemake --unlock` removes)."""
    locks = Path(run_dir) / ".snakemake" / "locks"
    if locks.is_dir():
        shutil.rmtree(locks)
        return True
    return False
