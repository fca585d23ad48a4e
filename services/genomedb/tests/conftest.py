"""The genome database's own tests, in two tiers by folder:

- `unit/`: no subprocess, no network, no service (a guard below refuses both);
- `service/`: a real service (genomedb.testing: uvicorn subprocesses), the command line, and
  PostgreSQL when its test cluster runs (scripts/genomedb/pg_start.sh; skipped otherwise,
  unless HELGENOM_PG_REQUIRED=1).

Each test gets its tier's marker from its folder (unit, or e2e for service/), so `-m unit`
selects the fast tier, alone or in a run together with the pipeline's tests.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TIERS = {"unit": "unit", "service": "e2e"}  # folder -> marker


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: no subprocess, no network, no service")
    config.addinivalue_line("markers", "e2e: a real service, subprocesses, databases (slow)")


def _folder(path: Path) -> str | None:
    """The tier folder of a test file of ours; None for a test elsewhere."""
    try:
        parts = path.resolve().relative_to(HERE).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else ""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = _folder(Path(str(item.path)))
        if folder is None:
            continue  # the pipeline's tests, in a run of both
        if folder not in TIERS:
            raise pytest.UsageError(
                f"{item.nodeid}: the genome database's tests live in {HERE}/unit or {HERE}/service"
            )
        item.add_marker(getattr(pytest.mark, TIERS[folder]))
        # In parallel runs (pytest-xdist --dist loadgroup) a module's tests share one worker,
        # so its module fixtures (running services) start once.
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if item.module else ""))


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """A unit test that starts a process or connects anywhere fails: it belongs in service/."""
    if _folder(Path(str(request.node.path))) != "unit":
        return

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(
            "a unit test may not start a process or open a network connection: move it to "
            "tests/service"
        )

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
