"""Running the genome database service as a subprocess on this machine: the embedded
(SQLite) database the demo deposits into, and the service the tests start.

    with embedded_database(Path("demo/genomedb"), department="demo-lab") as db:
        ...  # db.url, db.token_file, db.public_key: what the export step needs

The production service runs under a process supervisor (`genomedb serve`,
README "Running the database"); this module is for a database living next to a run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["EmbeddedDatabase", "Service", "embedded_database", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """`python -m genomedb --home HOME serve` on 127.0.0.1 as a subprocess."""

    def __init__(self, home: Path, port: int | None = None):
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"serve-{self.port}.log"

    def start(self, timeout: float = 60) -> Service:
        """Start it and wait until /health answers; RuntimeError with its log if it exits."""
        cmd = [sys.executable, "-m", "genomedb", "--home", str(self.home), "serve"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*cmd, "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the service did not answer in {timeout} s (log: {self.log})")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM (uvicorn finishes open requests), SIGKILL after 30 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class EmbeddedDatabase:
    """A running embedded database: what a depositing run needs."""

    home: Path
    url: str
    token_file: Path  # a submitter token of `department`
    public_key: Path  # the database's crypt4gh public key


@contextmanager
def embedded_database(home: Path, *, department: str) -> Iterator[EmbeddedDatabase]:
    """An embedded genome database (SQLite catalog, no server to install) in `home`, made on
    first use with a submitter token for `department` (kept in home/submitter.token, mode
    0600), served on 127.0.0.1 at a free port while the context is open."""
    from genomedb import tokens
    from genomedb.context import init_home

    home = home.resolve()
    ctx = init_home(home, passphrase=os.environ.get("HELGENOM_GENOMEDB_PASSPHRASE") or None)
    token_file = home / "submitter.token"
    if not token_file.is_file() or not token_file.read_text().strip():
        with ctx.engine.begin() as conn:
            principal, token = tokens.issue(
                conn, name=f"{department}-pipeline", role="submitter", department=department
            )
        ctx.record("token.issue", {"principal": principal.id, "role": "submitter"})
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
    public_key = ctx.settings.public_key
    ctx.engine.dispose()
    service = Service(home).start()
    try:
        yield EmbeddedDatabase(home, service.url, token_file, public_key)
    finally:
        service.stop()
