"""The service's home folder and its settings.

```
<home>/config.json        database URL and limits (mode 0600: a URL may hold a password)
<home>/keys/genomedb.sec  the database's crypt4gh secret key (0400; passphrase optional)
<home>/keys/genomedb.pub  its public key: submitters encrypt to it
<home>/keys/audit.key     the key of the audit log's hash chain (HMAC-SHA256)
<home>/keys/checkpoint.sec/.pub  signs the audit checkpoints (genomedb.checkpoint)
<home>/keys/research.key  makes the project-scoped object IDs of researchers (genomedb.research)
<home>/catalog.sqlite     the embedded catalog (when no other database URL is set)
<home>/objects/           stored objects, crypt4gh, named by the SHA-256 of their content
<home>/staging/           deposits being received (never visible to readers)
```

Environment: HELGENOM_GENOMEDB_HOME (the home), HELGENOM_GENOMEDB_DATABASE_URL (overrides
config.json), HELGENOM_GENOMEDB_PASSPHRASE (the secret key's passphrase, if it has one).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_FILE_BYTES", "Settings", "default_home"]

DEFAULT_MAX_FILE_BYTES = 1 << 40  # 1 TiB of plaintext per file: a 30x WGS CRAM is ~15-30 GB
DEFAULT_MAX_MANIFEST_BYTES = 1 << 20


CATALOG_FILE = "catalog.sqlite"
# config.json's URL of the embedded catalog: inside the home, wherever the home is.
HOME_SQLITE_URL = "sqlite:///{home}/" + CATALOG_FILE


def _resolve_url(url: str, home: Path, config: Path) -> str:
    """The catalog URL of `home`: the home's own SQLite file for HOME_SQLITE_URL; an absolute
    SQLite path must lie inside the home (else the home was copied and would write into the
    original's catalog: refused)."""
    if url == HOME_SQLITE_URL:
        return Settings.sqlite_url(home)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).resolve()
        if path.parent != home:
            raise ValueError(
                f"{config}: the catalog {path} is not in this home ({home}): the home was copied "
                f"or moved, and would write into another home's catalog. Fix: if this home is "
                f'the one to use, set "database_url": "{HOME_SQLITE_URL}" in {config.name} '
                "(after copying the catalog file in); otherwise use the original home"
            )
    return url


def _new_secret(path: Path, nbytes: int) -> None:
    """A new random key of `nbytes` (hex, mode 0400) at `path`, unless one is there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(nbytes) + "\n")


def default_home() -> Path:
    return Path(os.environ.get("HELGENOM_GENOMEDB_HOME", "genomedb")).resolve()


@dataclass(frozen=True)
class Settings:
    """Where everything lives and the limits the service enforces."""

    home: Path
    database_url: str
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES
    staging_max_age_hours: float = 24.0

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def secret_key(self) -> Path:
        return self.keys_dir / "genomedb.sec"

    @property
    def public_key(self) -> Path:
        return self.keys_dir / "genomedb.pub"

    @property
    def audit_key(self) -> Path:
        return self.keys_dir / "audit.key"

    @property
    def research_key(self) -> Path:
        """Makes the project-scoped object IDs researchers see (genomedb.research)."""
        return self.keys_dir / "research.key"

    @property
    def checkpoint_secret_key(self) -> Path:
        """Signs audit checkpoints (genomedb.checkpoint); move it to the audit account."""
        return self.keys_dir / "checkpoint.sec"

    @property
    def checkpoint_public_key(self) -> Path:
        return self.keys_dir / "checkpoint.pub"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def passphrase(self) -> str | None:
        return os.environ.get("HELGENOM_GENOMEDB_PASSPHRASE") or None

    @staticmethod
    def sqlite_url(home: Path) -> str:
        return f"sqlite:///{home / CATALOG_FILE}"

    @classmethod
    def load(cls, home: Path | None = None) -> Settings:
        """The settings of an initialised home (see `init`)."""
        home = (home or default_home()).resolve()
        path = home / "config.json"
        if not path.exists():
            raise FileNotFoundError(
                f"{home} is not a genome database home (no config.json): run "
                f"'python -m genomedb --home {home} init' first"
            )
        data: dict[str, Any] = json.loads(path.read_text())
        url = os.environ.get("HELGENOM_GENOMEDB_DATABASE_URL") or data.pop("database_url")
        data.pop("database_url", None)
        return cls(home=home, database_url=_resolve_url(url, home, path), **data)

    def save(self) -> None:
        data = asdict(self)
        data.pop("home")
        if data["database_url"] == self.sqlite_url(self.home):
            data["database_url"] = HOME_SQLITE_URL  # relative: a moved home finds its catalog
        path = self.home / "config.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")

    def create_dirs(self) -> None:
        for folder in (self.home, self.objects_dir, self.staging_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)  # the catalog, objects and staged uploads: the service's only
        self.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _new_secret(self.audit_key, 32)
        _new_secret(self.research_key, 64)

    def read_research_key(self) -> bytes:
        """The research ID key (made on first use in a home from before it existed)."""
        _new_secret(self.research_key, 64)
        return bytes.fromhex(self.research_key.read_text().strip())

    def read_audit_key(self) -> bytes:
        return bytes.fromhex(self.audit_key.read_text().strip())
