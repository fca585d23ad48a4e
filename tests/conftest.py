"""Shared fixtures and the test tiers.

Tiers are folders (tests/unit, tests/workflow, tests/e2e, tests/slurm; the genome database's
own tests under services/genomedb/tests/unit and .../service): every test gets its tier's
marker from its folder, so `-m unit` or `scripts/test.sh unit` selects a tier.

Parallel runs (pytest-xdist, `--dist loadgroup`): tests of one module stay on one worker so
that its module fixtures (pipeline runs) are made once; a module may put itself into a larger
group with `XDIST_GROUP = "name"` (the tests on one Slurm cluster share the cluster's queue,
accounts and accounting, so they run one after the other on one worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from helgenom.demo import DemoData, generate_demo
from helgenom.testing import write_giab_run_dir
from workflow_helpers import GIAB_CHUNKS, giab_validation, shared_run, snakemake

REPO = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("HELGENOM_TESTDATA", REPO.parent / "shared" / "testdata"))
GIAB = TESTDATA / "giab-na12878-chr20"

# Folder name -> tier marker (the service's tests of a running server are end to end).
TIERS = {"unit": "unit", "workflow": "workflow", "e2e": "e2e", "slurm": "slurm", "service": "e2e"}


def pytest_configure(config: pytest.Config) -> None:
    """SIGINT handled again when the suite was started with it ignored. A non-interactive
    shell ignores SIGINT in what it starts in the background (`bash scripts/test.sh &`,
    nohup), exec keeps an ignored signal ignored, and Snakemake started by a test then ignores
    the operator's Ctrl-C the test sends (seen: test_scancel_mid_run_then_rerun waited 120 s
    for a Snakemake that never stopped). A handled signal is reset to its default on exec, so
    the processes the tests start get SIGINT's default again. (`helgenom run` does the same
    for its Snakemake: helgenom.watchdog.)"""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        with contextlib.suppress(ValueError):  # not the main thread: left as it is
            signal.signal(signal.SIGINT, signal.default_int_handler)


def tier_of(path: Path) -> str | None:
    """The tier of a test file: the first folder below a `tests` folder that names one."""
    parts = path.parts
    for index, part in enumerate(parts[:-1]):
        if part == "tests" and index + 1 < len(parts) - 1:
            return TIERS.get(parts[index + 1])
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its hook is registered later)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(Path(str(item.path)))
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: a test must live in a tier folder ({', '.join(TIERS)})"
            )
        item.add_marker(getattr(pytest.mark, tier))
        if item.get_closest_marker("xdist_group") is None:
            module = item.module
            group = getattr(module, "XDIST_GROUP", None) or (module.__name__ if module else tier)
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def giab() -> Path:
    if not (GIAB / "slice" / "chr20_9995001_11095000.fa").exists():
        message = f"GIAB test data not found under {GIAB} (set HELGENOM_TESTDATA)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the real-data tests")
        pytest.skip(message)
    return GIAB


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """The default demo set (250 kb, 30x, two samples; helgenom.demo), made once per worker."""
    return generate_demo(tmp_path_factory.mktemp("demo"))


# ---- pipeline runs shared by the whole test session (helpers: workflow_helpers) ---------


@pytest.fixture(scope="session")
def giab_run(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GIAB slice through the pipeline as configured for small data (4 calling chunks),
    2 cores: read it, or copy_run() it to change it."""

    def build(run_dir: Path) -> None:
        write_giab_run_dir(run_dir, giab)
        snakemake(run_dir, cores=2)

    return shared_run(tmp_path_factory, "giab", build)


@pytest.fixture(scope="session")
def giab_validated(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GIAB slice called over GIAB_CHUNKS chunks (boundaries inside the covered 100 kb)
    and validated against the truth set, 2 cores: read it, or copy_run() it to change it."""

    def build(run_dir: Path) -> None:
        config = {"calling": {"chunks": GIAB_CHUNKS}, **giab_validation(giab)}
        write_giab_run_dir(run_dir, giab, extra_config=config)
        snakemake(run_dir, cores=2)

    return shared_run(tmp_path_factory, "giab-validated", build)
