"""Copy-number variants in the workflow's DAG (dry runs): each cnv.reference mode picks its
reference jobs (flat: one for the run; run: one per sample over the coverage of the run's
samples unrelated to it, its family left out; file: none), cnv.enabled false runs no cnvkit
job, and a reference mode that cannot work stops the run before any job with the config key
and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helgenom.demo import DemoData, generate_demo
from workflow_helpers import snakemake, write_run_dir

SAMPLES = ("S1", "S2", "S3")
UNITS = ("DEMO001_HDEMOXX1.1", "DEMO001_HDEMOXX1.2", "DEMO002_HDEMOXX1.1")  # a FASTQ pair each
# a run with a family: S1 and its parents S4 and S5 (the demo trio's FASTQ pairs)
FAMILY = {"S1": ("DEMOFAM", "S4", "S5"), "S4": ("DEMOFAM", "", ""), "S5": ("DEMOFAM", "", "")}
FAMILY_UNITS = {"S4": "DEMO003_HDEMOXX1.1", "S5": "DEMO004_HDEMOXX1.1"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return generate_demo(tmp_path_factory.mktemp("cnv") / "demo", genome_length=40_000,
                         coverage=2)  # fmt: skip


def _run_dir(tmp_path: Path, demo: DemoData, cnv: dict[str, Any], family: bool = False) -> Path:
    fq = demo.outdir / "fastq"
    units = dict(zip(SAMPLES, UNITS, strict=True)) | (FAMILY_UNITS if family else {})
    sex = {"S4": "male", "S5": "female"}
    samples = [
        {"sample_id": s, "sex": sex.get(s, "female"), "priority": "routine", "indication": "x"}
        for s in units
    ]
    if family:
        for row in samples:
            fam, father, mother = FAMILY.get(row["sample_id"], ("", "", ""))
            row |= {"family": fam, "father": father, "mother": mother}
    write_run_dir(
        tmp_path,
        samples=samples,
        units=[{"sample_id": s, "unit_id": "FC1.1", "platform": "ILLUMINA", "library": f"L{s}",
                "fq1": str(fq / f"{unit}_R1.fastq.gz"), "fq2": str(fq / f"{unit}_R2.fastq.gz")}
               for s, unit in units.items()],
        reference=demo.reference,
        build="demo",
        extra_config={"cnv": cnv},
    )  # fmt: skip
    return tmp_path


def _dry_run(run_dir: Path) -> tuple[dict[str, int], str]:
    out = snakemake(run_dir, "--dry-run", "--printshellcmds").stdout
    table = out[out.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}, out


def test_flat_reference_is_made_once_for_the_run(tmp_path: Path, demo: DemoData) -> None:
    jobs, out = _dry_run(_run_dir(tmp_path, demo, {"reference": "flat"}))
    assert jobs["cnv_access"] == 1 and jobs["cnv_bins"] == 1 and jobs["cnv_reference_flat"] == 1
    assert jobs["cnv_coverage"] == 3 and jobs["cnv_segment"] == 3 and jobs["cnv_vcf"] == 3
    assert jobs["cnv_mqc"] == 1 and "cnv_reference_run" not in jobs
    assert "results/cnv/reference/flat.cnn" in out


def test_run_reference_is_a_leave_one_out_panel_of_normals(tmp_path: Path, demo: DemoData) -> None:
    jobs, out = _dry_run(_run_dir(tmp_path, demo, {"reference": "run", "min_normals": 2}))
    assert jobs["cnv_reference_run"] == 3 and "cnv_reference_flat" not in jobs
    command = next(line for line in out.splitlines() if "-o results/cnv/reference/S2.cnn" in line)
    assert "results/cnv/coverage/S1.targetcoverage.cnn" in command
    assert "results/cnv/coverage/S3.targetcoverage.cnn" in command
    assert "results/cnv/coverage/S2.targetcoverage.cnn" not in command  # not its own normal


def test_run_reference_leaves_the_samples_family_out(tmp_path: Path, demo: DemoData) -> None:
    """A child's inherited CNV is in its parents: they are not its normals, nor it theirs."""
    cnv = {"reference": "run", "min_normals": 2}
    jobs, out = _dry_run(_run_dir(tmp_path, demo, cnv, family=True))
    assert jobs["cnv_reference_run"] == 5
    normals = {}
    for sample in ("S1", "S2", "S4"):
        command = next(line for line in out.splitlines()
                       if f"-o results/cnv/reference/{sample}.cnn" in line)  # fmt: skip
        normals[sample] = set(re.findall(r"coverage/(S\d)\.targetcoverage", command))
    assert normals == {"S1": {"S2", "S3"}, "S2": {"S1", "S3", "S4", "S5"}, "S4": {"S2", "S3"}}


def test_too_few_unrelated_normals_stop_the_run(tmp_path: Path, demo: DemoData) -> None:
    run_dir = _run_dir(tmp_path, demo, {"reference": "run", "min_normals": 3}, family=True)
    proc = snakemake(run_dir, "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "input validation failed before any job ran" in out
    assert "sample 'S1' has 2 unrelated other(s) as its panel of normals" in out
    assert "(2 relative(s) of its family left out)" in out and "Fix:" in out


def test_file_reference_is_the_sites_panel(tmp_path: Path, demo: DemoData) -> None:
    pon = tmp_path / "pon.cnn"
    pon.write_text("chromosome\tstart\tend\tgene\tlog2\tdepth\tgc\tspread\n")
    jobs, out = _dry_run(
        _run_dir(tmp_path, demo, {"reference": "file", "reference_file": str(pon)})
    )
    assert "cnv_reference_flat" not in jobs and "cnv_reference_run" not in jobs
    assert str(pon) in out and jobs["cnv_segment"] == 3


def test_disabled_cnv_runs_no_cnvkit_job(tmp_path: Path, demo: DemoData) -> None:
    jobs, out = _dry_run(_run_dir(tmp_path, demo, {"enabled": False}))
    cnvkit_jobs = [r for r in jobs if r.startswith("cnv_") and r not in ("cnv_vcf", "cnv_mqc")]
    assert cnvkit_jobs == [] and jobs["cnv_vcf"] == 3 and jobs["cnv_mqc"] == 1
    assert "results/versions/cnvkit.txt" not in out  # its version is not asked either


def test_too_few_normals_stop_the_run_before_any_job(tmp_path: Path, demo: DemoData) -> None:
    proc = snakemake(_run_dir(tmp_path, demo, {"reference": "run"}), "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "input validation failed before any job ran" in out
    assert "'cnv.reference' is run, but the run has 3 sample(s)" in out and "Fix:" in out
