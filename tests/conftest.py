"""Shared fixtures: paths to the repository and to the real GIAB test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("HELGENOM_TESTDATA", REPO.parent / "shared" / "testdata"))
GIAB = TESTDATA / "giab-na12878-chr20"


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
