"""`helgenom demo` without the genome database service installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helgenom import cli


def test_demo_without_the_genome_database_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline does not depend on the service (distribution genomedb), its demo does:
    without it, `helgenom demo` stops before making anything and says what to install."""
    # As if it were not installed (also when another test imported some of it already).
    for name in {
        "genomedb",
        "genomedb.service",
        *(n for n in sys.modules if n.startswith("genomedb.")),
    }:
        monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(["demo", "--directory", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "genome database service (distribution genomedb) is not installed" in error
    assert "pip install -e ./contract -e ./services/genomedb" in error
    assert "helgenom demo --no-export" in error
    assert not (tmp_path / "demo").exists()
