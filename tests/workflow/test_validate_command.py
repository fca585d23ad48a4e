"""`helgenom validate` as a command: overrides and panels checked before any job."""

from __future__ import annotations

from pathlib import Path

HEADER = "sample_id\tmetrics\twho\twhy\twhen\n"


def test_helgenom_validate_checks_overrides_and_panels(tmp_path: Path) -> None:
    import subprocess
    import sys

    from helgenom.demo import generate_demo
    from helgenom.testing import write_run_dir

    data = generate_demo(tmp_path / "demo", genome_length=40_000, coverage=2)
    fastq = data.outdir / "fastq"
    write_run_dir(
        tmp_path,
        samples=[{"sample_id": "S1", "sex": "female", "priority": "acute",
                  "indication": "neonatal epilepsy"}],
        units=[{"sample_id": "S1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L1",
                "fq1": str(fastq / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
                "fq2": str(fastq / "DEMO001_HDEMOXX1.1_R2.fastq.gz")}],
        reference=data.reference,
        build="demo",
        extra_config={"qc": {"overrides": "overrides.tsv"}},
    )  # fmt: skip
    overrides = tmp_path / "overrides.tsv"
    overrides.write_text(HEADER + "S1\tmean_coverage\tkbj\tpanel genes fully covered\t2026-11-25\n")

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "helgenom", "validate"],
            cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip

    ok = validate()
    assert ok.returncode == 0, ok.stderr
    assert "sample S1: no gene panel" in ok.stderr  # QC only, said before the run
    overrides.write_text(HEADER + "S1\tmean_coverage\t\tpanel genes fully covered\t2026-11-25\n")
    bad = validate()
    assert bad.returncode == 1
    assert "overrides.tsv:2: column 'who': the value is empty" in bad.stderr
