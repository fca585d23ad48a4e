"""Export steps that need a process or the network: provenance asks git for the commit, the
deposit refuses before it connects."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from genomedb.testing import PASS, PROVENANCE
from genomedb_contract.client import deposit
from genomedb_contract.manifest import build_manifest
from helgenom import __version__
from helgenom.export import ExportError
from helgenom.export.provenance import collect_provenance, standard_files
from helgenom.runs import REPO
from workflow_helpers import export_results


def test_provenance(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("samples: samples.tsv\n")
    reference = tmp_path / "ref.fa"
    reference.write_text(">chr1\nACGT\n")
    moment = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    provenance = collect_provenance(
        config_files=[config],
        parameters={"samples": "samples.tsv", "calling": {"chunks": 4}},
        versions={"bwa": "0.7.17", "bcftools": 1.16},
        reference=reference,
        build="test",
        started=moment,
        finished=moment,
    )
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert provenance["pipeline"]["version"] == __version__
    assert provenance["pipeline"]["commit"] == (head or "unknown")
    assert provenance["reference"]["sha256"] == hashlib.sha256(b">chr1\nACGT\n").hexdigest()
    assert provenance["tools"] == {"bcftools": "1.16", "bwa": "0.7.17"}
    assert provenance["run"] == {
        "started": "2026-11-26T08:30:00Z",
        "finished": "2026-11-26T08:30:00Z",
    }
    other = collect_provenance(
        config_files=[config], parameters={"calling": {"chunks": 8}}, versions={"bwa": "1"},
        reference=reference, build="test", started=moment, finished=moment,
    )  # fmt: skip
    assert other["parameters_sha256"] != provenance["parameters_sha256"]
    assert other["config_sha256"] == provenance["config_sha256"]


def test_deposit_checks_before_connecting(tmp_path: Path) -> None:
    files = standard_files(export_results(tmp_path), "S1")
    manifest = build_manifest("S1", files, PROVENANCE, qc_gate=PASS)
    unreachable = "http://127.0.0.1:9"
    with pytest.raises(ExportError, match="not the files of the manifest"):
        deposit(unreachable, "t", manifest, {"cram": files["cram"]}, b"k" * 32)
    with pytest.raises(ExportError, match="cannot reach the genome database"):
        deposit(unreachable, "t", manifest, files, b"k" * 32, retries=0, log=lambda _m: None)
