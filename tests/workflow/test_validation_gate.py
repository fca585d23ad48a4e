"""Bad input stops a run before any job starts, with file, line and fix (real Snakemake runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helgenom.demo import generate_demo
from workflow_helpers import snakemake, write_run_dir


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return generate_demo(tmp_path_factory.mktemp("gate") / "demo", genome_length=40_000, coverage=2)


def _run_dir(tmp_path: Path, demo, **overrides) -> Path:  # noqa: ANN001
    sample = {"sample_id": "S1", "sex": "female", "priority": "acute", "indication": "x"}
    unit = {
        "sample_id": "S1",
        "unit_id": "FC1.1",
        "fq1": str(demo.outdir / "fastq" / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
        "fq2": str(demo.outdir / "fastq" / "DEMO001_HDEMOXX1.1_R2.fastq.gz"),
        "platform": "ILLUMINA",
        "library": "L1",
    }
    sample.update(overrides.pop("sample", {}))
    unit.update(overrides.pop("unit", {}))
    write_run_dir(
        tmp_path,
        samples=[sample],
        units=[unit],
        reference=overrides.pop("reference", demo.reference),
        build="demo",
        extra_config=overrides.pop("extra_config", None),
    )
    return tmp_path


def _assert_stopped_before_jobs(run_dir: Path, *expected: str) -> str:
    proc = snakemake(run_dir, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "input validation failed before any job ran" in out
    for text in expected:
        assert text in out, out
    assert not (run_dir / "results").exists() and not (run_dir / "reference").exists()
    return out


def test_cpr_number_is_rejected_and_not_echoed(tmp_path: Path, demo) -> None:  # noqa: ANN001
    run_dir = _run_dir(
        tmp_path, demo, sample={"sample_id": "010190-1234"}, unit={"sample_id": "010190-1234"}
    )
    out = _assert_stopped_before_jobs(
        run_dir, "samples.tsv:2: column 'sample_id'", "must be pseudonymised"
    )
    assert "010190" not in out and "1234" not in out.replace("******-****", "")


def test_unknown_priority(tmp_path: Path, demo) -> None:  # noqa: ANN001
    run_dir = _run_dir(tmp_path, demo, sample={"priority": "stat"})
    _assert_stopped_before_jobs(run_dir, "samples.tsv:2: column 'priority'", "Fix:")


def test_missing_fastq(tmp_path: Path, demo) -> None:  # noqa: ANN001
    run_dir = _run_dir(tmp_path, demo, unit={"fq2": str(tmp_path / "missing_R2.fastq.gz")})
    _assert_stopped_before_jobs(run_dir, "units.tsv:2: column 'fq2'", "missing_R2.fastq.gz")


def test_reference_not_fasta(tmp_path: Path, demo) -> None:  # noqa: ANN001
    fake = tmp_path / "ref.fa"
    fake.write_text("@read\nACGT\n+\nIIII\n")
    run_dir = _run_dir(tmp_path, demo, reference=fake)
    _assert_stopped_before_jobs(run_dir, f"{fake}:1: not a FASTA file", "Fix:")


def test_config_typo(tmp_path: Path, demo) -> None:  # noqa: ANN001
    run_dir = _run_dir(tmp_path, demo, extra_config={"calling": {"chunk": 3}})
    _assert_stopped_before_jobs(
        run_dir, "config.yaml:", "'chunk' was unexpected", "allowed keys here"
    )


def test_helgenom_validate_command(tmp_path: Path, demo) -> None:  # noqa: ANN001
    run_dir = _run_dir(tmp_path, demo)
    ok = subprocess.run(
        [sys.executable, "-m", "helgenom", "validate"],
        cwd=run_dir,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK: 1 sample(s), 1 unit(s)" in ok.stdout
    (run_dir / "samples.tsv").write_text("sample_id\tsex\tpriority\tindication\nS1\tM\tacute\tx\n")
    bad = subprocess.run(
        [sys.executable, "-m", "helgenom", "validate"],
        cwd=run_dir,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "samples.tsv:2: column 'sex'" in bad.stderr


def test_missing_truth_set(tmp_path: Path, demo) -> None:  # noqa: ANN001
    truth = {"truth_vcf": "truth/missing.vcf.gz", "confident_bed": str(demo.confident_bed)}
    run_dir = _run_dir(tmp_path, demo, extra_config={"validation": {"S1": truth}})
    _assert_stopped_before_jobs(
        run_dir,
        "config.yaml:",
        "'validation.S1.truth_vcf': file truth/missing.vcf.gz does not exist",
        "Fix:",
    )
    bad = subprocess.run(
        [sys.executable, "-m", "helgenom", "validate"],
        cwd=run_dir,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "'validation.S1.truth_vcf'" in bad.stderr


def test_export_without_a_token_stops_before_jobs(tmp_path: Path, demo, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("HELGENOM_GENOMEDB_TOKEN", raising=False)
    monkeypatch.delenv("HELGENOM_GENOMEDB_PUBLIC_KEY", raising=False)
    export = {"enabled": True, "url": "https://genomedb.example"}
    run_dir = _run_dir(tmp_path, demo, extra_config={"export": export})
    _assert_stopped_before_jobs(
        run_dir,
        "'export.token_file': the export is enabled but no token is given",
        "'export.db_public_key': the export is enabled but the database's public key",
    )
