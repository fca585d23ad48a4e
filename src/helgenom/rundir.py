"""The state of a run directory: the one module that reads and writes its `.helgenom/` folder.

What makes a run directory portable between sites lives in it (README.md, 'Failover: what a
run directory carries'); the file names are defined here only:

- `.helgenom/lease.json` (LEASE): which site runs the run, since when, its fencing epoch (+1
  per failover) and the leases before it (Lease, read_lease, write_lease). Who may take,
  keep or fence the lease is decided in helgenom.failover.
- `.helgenom/run.json` (RUN_STATE): when the run started, recorded once at its first start so
  that deadlines do not move when it is resumed or failed over (run_start); the run's ID is
  derived from it (run_identifier).
- `.helgenom/outputs.tsv` (OUTPUTS): the append-only manifest of completed outputs: path,
  size, mtime, SHA-256 and when it was recorded (read_outputs, append_outputs). Outputs
  Snakemake completed are added by helgenom.failover.record_outputs, what the export step
  deposited by record_files.
- `.helgenom/snakemake.json` (PROCESS): host and pid of the run's `helgenom run` and the
  process group of its Snakemake (record_process, read_process).
- `.helgenom/quarantine/<epoch>/` (QUARANTINE): outputs a failover did not accept, kept and
  never deleted (quarantine).

Also named here: the environment variables that carry the lease of the Snakemake process
that submitted a job into the job (LEASE_ENV), and that mark a workflow loaded only to be
looked at (LEASE_INSPECT_ENV: no lease is taken).

The formats are those of the run directories written before this module existed: they keep
working.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helgenom.fileio import atomic_write_text

STATE_DIR = ".helgenom"
LEASE = f"{STATE_DIR}/lease.json"
RUN_STATE = f"{STATE_DIR}/run.json"
OUTPUTS = f"{STATE_DIR}/outputs.tsv"
PROCESS = f"{STATE_DIR}/snakemake.json"
QUARANTINE = f"{STATE_DIR}/quarantine"
# "site:epoch" of the Snakemake process that submitted a job (set by the workflow).
LEASE_ENV = "HELGENOM_LEASE"
# Set while the workflow is only loaded to be looked at (helgenom.runs.load_workflow).
LEASE_INSPECT_ENV = "HELGENOM_LEASE_INSPECT"
OUTPUTS_HEADER = "path\tsize\tmtime_ns\tsha256\trecorded\n"


def has_state(run_dir: Path) -> bool:
    """Whether `run_dir` holds a `.helgenom/` folder (a run directory a site has run)."""
    return (Path(run_dir) / STATE_DIR).is_dir()


def utc_stamp() -> str:
    """Now, as the state files record times (UTC, to the second)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the site lease ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Lease:
    """Which site runs the run (`site`), since when, and its fencing `epoch`. `fenced`
    marks the copy a failover left in the old site's run directory: no longer the run."""

    site: str
    epoch: int
    since: str
    history: tuple[dict[str, Any], ...] = field(default=())
    fenced: bool = False

    @property
    def token(self) -> str:
        return f"{self.site}:{self.epoch}"

    def to_json(self) -> str:
        data = asdict(self)
        data["history"] = list(self.history)
        return json.dumps(data, indent=2) + "\n"


def read_lease(run_dir: Path) -> Lease | None:
    path = Path(run_dir) / LEASE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    history = tuple(data.get("history", ()))
    fenced = bool(data.get("fenced", False))
    return Lease(data["site"], int(data["epoch"]), data["since"], history, fenced)


def write_lease(run_dir: Path, lease: Lease) -> None:
    """Replace the run's lease (atomically: a reader sees the old or the new one)."""
    atomic_write_text(Path(run_dir) / LEASE, lease.to_json())


# ---- the run's start and ID -------------------------------------------------------------------
def run_start(workdir: Path = Path(), *, now: datetime | None = None) -> datetime:
    """When this run (run directory) started: recorded at the first start, kept afterwards,
    so deadlines do not move when a run is resumed or failed over."""
    path = Path(workdir) / RUN_STATE
    if path.exists():
        return datetime.fromisoformat(json.loads(path.read_text())["started"])
    started = (now or datetime.now(UTC)).astimezone(UTC)
    atomic_write_text(path, json.dumps({"started": started.isoformat()}) + "\n")
    return started


def run_identifier(started: datetime) -> str:
    """The run's ID, from its recorded start (`run_start`): the same on every site the run
    is failed over to, different for every run directory started anew.

    The "Z" after the time keeps the ID from ever looking like a CPR number (DDMMYY-XXXX:
    a start at 18:05:33 with a digest beginning "1234a" would otherwise read 180533-1234).
    """
    started = started.astimezone(UTC)
    digest = hashlib.sha256(started.isoformat().encode()).hexdigest()[:8]
    return f"run-{started:%Y%m%dT%H%M%S}Z-{digest}"


# ---- the manifest of completed outputs -------------------------------------------------------
@dataclass(frozen=True)
class OutputEntry:
    path: str
    size: int
    mtime_ns: int
    sha256: str


def read_outputs(run_dir: Path) -> dict[str, OutputEntry]:
    """The manifest: the last entry of each path (a torn last line is ignored)."""
    path = Path(run_dir) / OUTPUTS
    entries: dict[str, OutputEntry] = {}
    if not path.exists():
        return entries
    for line in path.read_text(errors="replace").splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) != 5 or len(fields[3]) != 64:
            continue
        try:
            entries[fields[0]] = OutputEntry(fields[0], int(fields[1]), int(fields[2]), fields[3])
        except ValueError:
            continue
    return entries


def append_outputs(run_dir: Path, entries: Iterable[OutputEntry]) -> int:
    """Add entries (path relative to the run directory) to the manifest, stamped with the
    time they are recorded; how many. Safe from any number of processes at once (appends of
    whole lines, synced before it returns)."""
    stamp = utc_stamp()
    lines = [f"{e.path}\t{e.size}\t{e.mtime_ns}\t{e.sha256}\t{stamp}\n" for e in entries]
    if not lines:
        return 0
    manifest = Path(run_dir) / OUTPUTS
    manifest.parent.mkdir(parents=True, exist_ok=True)
    fresh = not manifest.exists()
    with manifest.open("a") as handle:
        if fresh:
            handle.write(OUTPUTS_HEADER)
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    return len(lines)


def record_files(run_dir: Path, digests: Mapping[str | Path, tuple[int, str]]) -> int:
    """Add manifest entries for files whose size and SHA-256 are known already: the files
    the export step deposited (and its receipt). What is in the database is thereby proven
    complete on the passive site, so a failover never makes it — and deposits it — again,
    also when the site died before the next record_outputs. Files whose size differs from
    the one given are left out."""
    root = Path(run_dir).resolve()
    entries = []
    for name, (size, sha256) in sorted(digests.items(), key=lambda item: str(item[0])):
        path = Path(name)
        path = path if path.is_absolute() else root / path
        stat = path.stat()
        if stat.st_size != size:
            continue
        relative = path.resolve().relative_to(root).as_posix()
        entries.append(OutputEntry(relative, size, stat.st_mtime_ns, sha256))
    return append_outputs(root, entries)


# ---- the quarantine ---------------------------------------------------------------------------
def quarantine(run_dir: Path, epoch: int, relative: str) -> Path:
    """Move the output `relative` (to the run directory) to .helgenom/quarantine/<epoch>/,
    keeping its path there; where it went."""
    target = Path(run_dir) / QUARANTINE / str(epoch) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(Path(run_dir) / relative, target)
    return target


# ---- the Snakemake process of a run ------------------------------------------------------------
def record_process(run_dir: Path, site: str, pid: int, snakemake_pgid: int | None = None) -> None:
    """Note which process runs the run (host, pid of `helgenom run`, process group of its
    Snakemake), so a failover can stop them if they can be reached."""
    data = {"site": site, "host": socket.gethostname(), "pid": pid, "started": utc_stamp()}
    if snakemake_pgid is not None:
        data["snakemake_pgid"] = snakemake_pgid
    atomic_write_text(Path(run_dir) / PROCESS, json.dumps(data) + "\n")


def read_process(run_dir: Path) -> dict[str, Any] | None:
    """The recorded process of the run (record_process), if there is one."""
    path = Path(run_dir) / PROCESS
    if not path.exists():
        return None
    return json.loads(path.read_text())
