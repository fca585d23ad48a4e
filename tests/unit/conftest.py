"""The unit tier: no subprocess, no network. A test here that starts a process or opens a
network connection fails, naming what it tried; such a test belongs in tests/workflow (real
tools on tiny data) or tests/e2e."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest


class TierViolation(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_subprocess_no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def no_process(self: Any, args: Any, *_: Any, **__: Any) -> None:
        raise TierViolation(
            f"unit tests start no process (tried: {args!r}): move to tests/workflow"
        )

    def no_network(self: socket.socket, address: Any, *_: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise TierViolation(f"unit tests open no network connection (tried: {address!r})")
        return original_connect(self, address)

    original_connect = socket.socket.connect
    monkeypatch.setattr(subprocess.Popen, "__init__", no_process)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    yield
