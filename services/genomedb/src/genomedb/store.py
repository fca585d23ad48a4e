"""Stored objects: crypt4gh files on disk, addressed by the SHA-256 of their plaintext.

An object file is the deposited crypt4gh file as it came (its header holds the session key
for the database's key only), so content is encrypted at rest. Objects appear only by an
atomic rename of a verified, fsynced file; a file without a catalog row is an orphan left by
an interrupted commit or deletion, invisible to readers and removed by `gc`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ObjectStore", "fsync_dir", "hash_file"]

CHUNK = 1 << 20

_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def hash_file(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            digest.update(data)
    return digest.hexdigest()


class ObjectStore:
    """The content-addressed object folder: <root>/ab/cd/<sha256>.c4gh."""

    def __init__(self, root: Path):
        self.root = root
        # address -> (size, mtime_ns, ctime_ns) of the file when its checksum last held
        self._verified: dict[str, tuple[int, int, int]] = {}

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

    def damage(self, sha256: str, stored_sha256: str, stored_size: int) -> str | None:
        """What is wrong with an object's file (missing, wrong size, checksum of its
        encrypted bytes not the one recorded at ingest), or None if it is intact."""
        path = self.path(sha256)
        try:
            size = path.stat().st_size
            if size != stored_size:
                return f"its file has {size} bytes, {stored_size} were stored"
            if hash_file(path) != stored_sha256:
                return "its file's checksum is not the one recorded when it was stored"
        except FileNotFoundError:
            return "its file is missing"
        except OSError as error:
            return f"its file cannot be read ({error.strerror})"
        return None

    def damage_before_serving(
        self, sha256: str, stored_sha256: str, stored_size: int
    ) -> str | None:
        """`damage`, re-reading the file only when it changed (size, mtime, ctime) since its
        checksum last held in this process: a file written to after it was stored is checked
        again before a reader gets it; bit rot that leaves no trace is the scrub's to find."""
        path = self.path(sha256)
        try:
            st = path.stat()
        except OSError:
            return "its file is missing"
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if self._verified.get(sha256) == stamp:
            return None
        problem = self.damage(sha256, stored_sha256, stored_size)
        if problem is None:
            self._verified[sha256] = stamp
        else:
            self._verified.pop(sha256, None)
        return problem

    def addresses(self) -> Iterator[str]:
        """The address of every object file in the store."""
        for path in self.root.glob("??/??/*.c4gh"):
            if _SHA256_RE.fullmatch(path.stem):
                yield path.stem
