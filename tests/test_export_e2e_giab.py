"""End to end: the GIAB run deposits into a running genome database (SQLite and PostgreSQL),
and every deposited file, fetched back and decrypted by an authorised reader, is
byte-identical to the pipeline's output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_genomedb_support import BACKENDS, deployment

from helgenom.export import standard_files
from helgenom.runs import GIAB_SAMPLE as SAMPLE
from helgenom.runs import REPO, write_giab_run_dir
from workflow_helpers import snakemake

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def giab_run(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = write_giab_run_dir(tmp_path_factory.mktemp("giab-export"), giab)
    snakemake(run_dir, cores=2)
    return run_dir


def _override(run_dir: Path) -> list[str]:
    """The GIAB slice fails the coverage gate (reads cover 100 kb of 1.1 Mb): override it."""
    gate = json.loads((run_dir / "results" / "qc" / "gate" / f"{SAMPLE}.json").read_text())
    if gate["decision"] != "fail":
        return []
    return ["--qc-override-by", "validation-lead", "--qc-override-reason", "GIAB slice"]


def _export(run_dir: Path, db_url: str, token: Path, public_key: Path, out: Path) -> dict:
    cmd = [
        sys.executable, "-m", "helgenom.export",
        "--sample", SAMPLE,
        "--results", "results",
        "--config", "config.yaml",
        "--versions", "results/versions.yaml",
        "--qc-gate", f"results/qc/gate/{SAMPLE}.json",
        *_override(run_dir),
        "--url", db_url, "--token-file", str(token), "--db-public-key", str(public_key),
        "--out", str(out / "receipt.json"), "--manifest-out", str(out / "manifest.json"),
        "--register-sample",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "receipt.json").read_text())


@pytest.mark.parametrize("backend", BACKENDS)
def test_giab_run_deposits_and_reads_back_byte_identical(
    giab_run: Path, backend: str, tmp_path: Path
) -> None:
    with deployment(tmp_path / "db", backend) as db:
        token = tmp_path / "token"
        token.write_text(db.principals["submitter"].token)
        receipt = _export(giab_run, db.url, token, db.public_key, tmp_path)
        outputs = standard_files(giab_run / "results", SAMPLE)
        assert {"cram", "crai", "vcf", "vcf_tbi", "gvcf", "gvcf_tbi"} <= set(outputs)
        assert set(receipt["files"]) == set(outputs)
        assert (receipt["sample_id"], receipt["version"]) == (SAMPLE, 1)

        # Provenance: what ran, on what.
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        provenance = manifest["provenance"]
        versions = yaml.safe_load((giab_run / "results" / "versions.yaml").read_text())
        assert provenance["tools"] == {k: str(v) for k, v in versions.items()}
        fasta = Path(yaml.safe_load((giab_run / "config.yaml").read_text())["reference"]["fasta"])
        assert provenance["reference"]["sha256"] == hashlib.sha256(fasta.read_bytes()).hexdigest()
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert provenance["pipeline"]["commit"] == head
        gate = json.loads((giab_run / "results/qc/gate" / f"{SAMPLE}.json").read_text())
        expected = "override" if gate["decision"] == "fail" else gate["decision"]
        assert manifest["qc_gate"]["decision"] == expected
        assert manifest["qc_gate"].get("failed_checks", []) == gate["failed_checks"]

        # Every file back, decrypted by a reader allowed to read it, equals the output.
        with db.client("admin") as admin:
            admin.request(
                "POST",
                "/api/v1/projects/cohort-a/samples",
                json={"accession": receipt["accession"]},
            )
        clinical = {"vcf", "vcf_tbi", "gvcf", "gvcf_tbi"}
        assert any(key.startswith("report_") for key in outputs)  # the report renderings
        for key, path in outputs.items():
            reader = "clinician" if key in clinical or key.startswith("report_") else "researcher"
            got = db.fetch(reader, receipt["files"][key]["drs_id"], tmp_path / f"back-{key}")
            assert got.read_bytes() == path.read_bytes(), key

        # The export step again: same receipt, nothing stored twice.
        before = db.counts()
        again = _export(giab_run, db.url, token, db.public_key, tmp_path / "again")
        assert again == receipt
        assert db.counts() == before
        verify = subprocess.run(
            [sys.executable, "-m", "helgenom.genomedb", "--home", str(db.home), "verify-audit"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
