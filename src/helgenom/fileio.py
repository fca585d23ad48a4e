"""Writing files atomically, and the JSON files the rules hand on.

Atomic writes: a reader (another job, the other site, a rerun after a crash) sees either the
old file or the complete new one, never a part.

Each file is written to a temporary file in its own folder (so the rename stays on one file
system), flushed to disk (fsync) and renamed onto its name (os.replace). On any error, and on
an interrupt, the temporary file is removed and the old file (if any) is left as it was.
Folders are created as needed.

* `atomic_write_text`, `atomic_write_bytes`: the content is at hand.
* `atomic_paths`: a tool writes the file(s) by name (pysam, gzip): the block gets temporary
  paths and writes them; on success each is renamed onto its path, in the order given.

Without `mode` a new file gets the permissions `open()` would give it (0666 less the umask).

`write_json`/`read_json`: the JSON a rule writes for the next one (QC metrics, gate results):
indented, keys in the given order, no NaN; written in place, as a rule's output (Snakemake
removes the outputs of a job that fails).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _temporary_name(path: Path) -> Path:
    """A hidden, unique name beside `path` (pid and a random token: no two writers share it)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_paths(*paths: str | Path) -> Iterator[list[Path]]:
    """Yield temporary paths beside `paths` for the block to write; on success fsync each and
    rename it onto its path, in order. Nothing is renamed if the block raises, and the
    temporary files never outlive the block."""
    targets = [Path(p) for p in paths]
    temporaries = []
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporaries.append(_temporary_name(target))
    try:
        yield temporaries
        for temporary in temporaries:
            _fsync(temporary)
        for temporary, target in zip(temporaries, targets, strict=True):
            os.replace(temporary, target)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write `data` to `path` atomically; `mode` (e.g. 0o600) sets the file's permissions."""
    path = Path(path)
    with atomic_paths(path) as (temporary,):
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
    return path


def atomic_write_text(
    path: str | Path, text: str, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """Write `text` to `path` atomically (see atomic_write_bytes)."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def write_mqc_table(
    out: str | Path,
    *,
    table_id: str,
    section_name: str,
    description: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> Path:
    """A MultiQC custom-content table (`<name>_mqc.tsv`): the YAML header comments (id,
    section name, description, plot type), the column names (the first names the rows:
    "Sample", "pair", ...), one tab-separated line per row (None is an empty cell); written
    atomically."""

    def quoted(text: str) -> str:  # a single-quoted YAML scalar
        return "'" + text.replace("'", "''") + "'"

    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    lines = [
        f"# id: {quoted(table_id)}",
        f"# section_name: {quoted(section_name)}",
        f"# description: {quoted(description)}",
        "# plot_type: 'table'",
        "\t".join(columns),
        *("\t".join(cell(v) for v in row) for row in rows),
    ]
    return atomic_write_text(out, "\n".join(lines) + "\n")


def write_json(data: Any, out: str | Path) -> None:
    Path(out).write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())
