"""End to end: the GIAB run deposits into a running genome database (SQLite and PostgreSQL),
and every deposited file, fetched back and decrypted by an authorised reader, is
byte-identical to the pipeline's output."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from genomedb.catalog import deposits
from genomedb.testing import BACKENDS, deployment
from helgenom.export.provenance import standard_files
from helgenom.runs import REPO
from helgenom.testing import GIAB_SAMPLE as SAMPLE
from workflow_helpers import copy_run, snakemake


@pytest.fixture(scope="module")
def export_run(giab_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's GIAB run: the export step is added to it."""
    return copy_run(giab_run, tmp_path_factory.mktemp("giab-export") / "run")


def _export_config(run_dir: Path, db: Any, tmp_path: Path, *, override: bool) -> Path:
    """A config overlay enabling the workflow's export step (and, with `override`, a recorded
    QC override: the GIAB slice fails the coverage gate, as its reads cover 100 kb of 1.1 Mb)."""
    token = tmp_path / "submitter.token"
    token.write_text(db.principals["submitter"].token)
    overlay: dict[str, Any] = {
        "export": {
            "enabled": True,
            "url": db.url,
            "token_file": str(token),
            "db_public_key": str(db.public_key),
            "register_sample": True,
        }
    }
    if override:
        gate = json.loads((run_dir / "results" / "qc" / "gate" / f"{SAMPLE}.json").read_text())
        metrics = ",".join(gate["failed"]) or "mean_coverage"
        overrides = tmp_path / "overrides.tsv"
        overrides.write_text(
            "sample_id\tmetrics\twho\twhy\twhen\n"
            f"{SAMPLE}\t{metrics}\tvalidation.lead\tGIAB slice covers 100 kb\t2026-11-01\n"
        )
        overlay["qc"] = {"overrides": str(overrides)}
    path = tmp_path / f"export-{'override' if override else 'plain'}.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


def _manifest(db: Any, receipt: dict) -> dict:
    """The manifest the database keeps for a committed deposit (its catalog)."""
    with db.ctx.engine.connect() as conn:
        text = conn.execute(
            select(deposits.c.manifest).where(deposits.c.id == receipt["deposit_id"])
        ).scalar_one()
    return json.loads(text)


def _run_export(run_dir: Path, overlay: Path, *extra: str) -> dict:
    snakemake(run_dir, "--configfile", "config.yaml", str(overlay), *extra)
    return json.loads((run_dir / "results" / "export" / f"{SAMPLE}.receipt.json").read_text())


@pytest.mark.parametrize("backend", BACKENDS)
def test_giab_run_deposits_and_reads_back_byte_identical(
    export_run: Path, backend: str, tmp_path: Path
) -> None:
    with deployment(tmp_path / "db", backend) as db:
        shutil.rmtree(export_run / "results" / "export", ignore_errors=True)
        # The gate fails and nothing overrides it: the export step records "not deposited"
        # and the run goes on; the database stays empty.
        skipped = _run_export(export_run, _export_config(export_run, db, tmp_path, override=False))
        gate = json.loads((export_run / "results/qc/gate" / f"{SAMPLE}.json").read_text())
        assert gate["decision"] == "fail" and "override" not in gate
        assert skipped["deposited"] is False and "QC gate failed" in skipped["reason"]
        assert db.counts()["committed"] == 0

        # A recorded override reruns the gate, the report and the export: deposited.
        overlay = _export_config(export_run, db, tmp_path, override=True)
        receipt = _run_export(export_run, overlay)
        outputs = standard_files(export_run / "results", SAMPLE)
        assert {"cram", "crai", "vcf", "vcf_tbi", "gvcf", "gvcf_tbi"} <= set(outputs)
        assert set(receipt["files"]) == set(outputs)
        assert (receipt["sample_id"], receipt["version"]) == (SAMPLE, 1)

        # Provenance: what ran, on what.
        manifest = _manifest(db, receipt)
        provenance = manifest["provenance"]
        versions = yaml.safe_load((export_run / "results" / "versions.yaml").read_text())
        assert provenance["tools"] == {k: str(v) for k, v in versions.items()}
        fasta = Path(yaml.safe_load((export_run / "config.yaml").read_text())["reference"]["fasta"])
        assert provenance["reference"]["sha256"] == hashlib.sha256(fasta.read_bytes()).hexdigest()
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert provenance["pipeline"]["commit"] == head
        gate = json.loads((export_run / "results/qc/gate" / f"{SAMPLE}.json").read_text())
        expected = "override" if gate["decision"] == "fail" else gate["decision"]
        assert manifest["qc_gate"]["decision"] == expected
        assert manifest["qc_gate"].get("failed_checks", []) == gate["failed_checks"]

        # Every file back, decrypted by a reader allowed to read it, equals the output.
        with db.client("admin") as admin:
            link = admin.request(
                "POST",
                "/api/v1/projects/cohort-a/samples",
                json={"accession": receipt["accession"]},
            )
        # Researchers read through the project's own object IDs (genomedb.research).
        with db.client("researcher") as researcher:
            listing = researcher.request("GET", "/api/v1/projects/cohort-a/samples")
        (entry,) = [s for s in listing["samples"] if s["pseudonym"] == link["pseudonym"]]
        clinical = {"vcf", "vcf_tbi", "gvcf", "gvcf_tbi"}
        assert any(key.startswith("report_") for key in outputs)  # the report renderings
        for key, path in outputs.items():
            if key in clinical or key.startswith("report_"):
                reader, object_id = "clinician", receipt["files"][key]["drs_id"]
            else:
                reader, object_id = "researcher", entry["objects"][key]
            got = db.fetch(reader, object_id, tmp_path / f"back-{key}")
            assert got.read_bytes() == path.read_bytes(), key

        # The export step again: same receipt, nothing stored twice.
        before = db.counts()
        assert (
            "Nothing to be done"
            in snakemake(export_run, "--configfile", "config.yaml", str(overlay)).stderr
        )
        again = _run_export(export_run, overlay, "--forcerun", "export")
        assert again == receipt
        assert db.counts() == before
        verify = subprocess.run(
            [sys.executable, "-m", "genomedb", "--home", str(db.home), "verify-audit"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
