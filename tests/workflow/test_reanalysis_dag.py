"""Re-analysis from an aligned file in the workflow's DAG (dry runs): realign and reuse pick
their rules, a reused unit skips fastp and the aligner, and an aligned file that cannot be
used as configured stops the run before any job, with units.tsv's line and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aligned_helpers import write_aligned, write_fasta

from helgenom.demo import DemoData, generate_demo
from workflow_helpers import snakemake, write_run_dir


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return generate_demo(tmp_path_factory.mktemp("reanalysis") / "demo", genome_length=40_000,
                         coverage=2)  # fmt: skip


@pytest.fixture(scope="module")
def cram(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CRAM of an earlier run on the demo reference (its @SQ lines: the run's reference)."""
    return write_aligned(tmp_path_factory.mktemp("old") / "OLD1.cram", demo.reference,
                         {"OLD1.FC0.1": "OLD1"})  # fmt: skip


def _run_dir(tmp_path: Path, demo: DemoData, aligned: Path, mode: str) -> Path:
    fq = demo.outdir / "fastq"
    write_run_dir(
        tmp_path,
        samples=[{"sample_id": "S1", "sex": "female", "priority": "acute", "indication": "x"}],
        units=[
            {"sample_id": "S1", "unit_id": "OLD.1", "fq1": "", "fq2": "", "aligned": str(aligned),
             "platform": "ILLUMINA", "library": "L1"},
            {"sample_id": "S1", "unit_id": "FC1.1", "aligned": "", "platform": "ILLUMINA",
             "fq1": str(fq / "DEMO001_HDEMOXX1.1_R1.fastq.gz"), "library": "L1",
             "fq2": str(fq / "DEMO001_HDEMOXX1.1_R2.fastq.gz")},
        ],
        reference=demo.reference,
        build="demo",
        extra_config={"reanalysis": {"mode": mode}},
    )  # fmt: skip
    return tmp_path


def _job_counts(run_dir: Path) -> dict[str, int]:
    """The jobs of a dry run of the whole workflow, by rule."""
    out = snakemake(run_dir, "--dry-run").stdout
    table = out[out.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_realign_takes_the_reads_out_and_aligns_them_as_fastq(
    tmp_path: Path, demo: DemoData, cram: Path
) -> None:
    jobs = _job_counts(_run_dir(tmp_path, demo, cram, "realign"))
    assert jobs["aligned_fastq"] == 1
    assert jobs["fastp"] == 2 and jobs["align_bwa"] == 2  # both units trimmed and aligned
    assert "aligned_reuse" not in jobs and "aligned_reuse_header" not in jobs
    assert jobs["aligned_record"] == 1 and jobs["input_record"] == 1 and jobs["input_mqc"] == 1
    assert jobs["markdup_cram"] == 1


def test_reuse_keeps_the_alignments(tmp_path: Path, demo: DemoData, cram: Path) -> None:
    jobs = _job_counts(_run_dir(tmp_path, demo, cram, "reuse"))
    assert jobs["aligned_reuse"] == 1 and jobs["aligned_reuse_header"] == 1
    assert jobs["fastp"] == 1 and jobs["align_bwa"] == 1  # the FASTQ unit only
    assert "aligned_fastq" not in jobs
    assert jobs["aligned_record"] == 1 and jobs["markdup_cram"] == 1


def _stopped(run_dir: Path, *expected: str) -> None:
    proc = snakemake(run_dir, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "input validation failed before any job ran" in out
    for text in expected:
        assert text in out, out
    assert not (run_dir / "results").exists() and not (run_dir / "reference").exists()


def test_reuse_of_another_reference_stops_before_any_job(tmp_path: Path, demo: DemoData) -> None:
    (tmp_path / "old").mkdir()
    other = write_fasta(tmp_path / "old" / "GRCh37.fa", {"chr1": 5000})
    bam = write_aligned(tmp_path / "old" / "OLD1.bam", other, {"a": "OLD1"})
    run_dir = _run_dir(tmp_path / "run", demo, bam, "reuse")
    _stopped(run_dir, "units.tsv:2: column 'aligned'", "cannot be reused",
             "Fix: Set reanalysis.mode: realign")  # fmt: skip


def test_a_unit_with_fastq_and_aligned_file_stops_before_any_job(
    tmp_path: Path, demo: DemoData, cram: Path
) -> None:
    run_dir = _run_dir(tmp_path, demo, cram, "realign")
    units = (
        (run_dir / "units.tsv").read_text().replace("\t\t\t" + str(cram), "\ta.fq\t\t" + str(cram))
    )
    (run_dir / "units.tsv").write_text(units)
    _stopped(run_dir, "units.tsv:2: column 'fq1'", "both FASTQ files and an aligned file")
