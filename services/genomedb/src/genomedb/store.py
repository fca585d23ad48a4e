"""Stored objects: crypt4gh files on disk, addressed by the SHA-256 of their plaintext.

An object file is the deposited crypt4gh file as it came (its header holds the session key
for the database's key only), so content is encrypted at rest. Objects appear only by an
atomic rename of a verified, fsynced file; a file without a catalog row is an orphan left by
an interrupted commit or deletion, invisible to readers and removed by `gc`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ObjectStore", "fsync_dir"]

_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """The content-addressed object folder: <root>/ab/cd/<sha256>.c4gh."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256_RE.fullmatch(sha256):
            raise ValueError("an object address is a lower-case hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.c4gh"

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, staged: Path, sha256: str) -> None:
        """Place a verified, fsynced staged file (replacing an orphan copy of it).

        The staged file stays where it is (hard link, or copy across file systems), so a
        commit whose transaction fails can simply be retried.
        """
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.unlink(missing_ok=True)
        try:
            os.link(staged, temporary)
        except OSError:
            shutil.copyfile(staged, temporary)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, target)
        fsync_dir(target.parent)

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def addresses(self) -> Iterator[str]:
        """The address of every object file in the store."""
        for path in self.root.glob("??/??/*.c4gh"):
            if _SHA256_RE.fullmatch(path.stem):
                yield path.stem
