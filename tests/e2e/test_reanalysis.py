"""Re-analysis from a CRAM on real data: the CRAM of the session's GIAB run (giab_run)
re-analysed in both reanalysis modes gives the VCF records of the original run.

Each re-analysis is a run of its own that names the CRAM in units.tsv (column aligned) and
makes the VCF and the input record only; it starts from a copy of the GIAB run's prepared
reference (the same FASTA: preparing it again would only cost time)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pysam
import pytest

from helgenom.aligned import MODES
from helgenom.testing import GIAB_SAMPLE as SAMPLE
from workflow_helpers import snakemake, write_run_dir


def _reanalyse(giab_run: Path, giab: Path, run_dir: Path, mode: str) -> Path:
    write_run_dir(
        run_dir,
        samples=[{"sample_id": SAMPLE, "sex": "female", "priority": "acute",
                  "indication": "validation: GIAB reference material"}],
        units=[{"sample_id": SAMPLE, "unit_id": "DB.1", "platform": "ILLUMINA",
                "library": "NA12878-PG",
                "aligned": str(giab_run / "results" / "cram" / f"{SAMPLE}.cram")}],
        reference=giab / "slice" / "chr20_9995001_11095000.fa",
        build="giab-slice",
        extra_config={"reanalysis": {"mode": mode}},
    )  # fmt: skip
    shutil.copytree(giab_run / "reference", run_dir / "reference")  # mtimes kept: not redone
    snakemake(run_dir, f"results/vcf/{SAMPLE}.vcf.gz", f"results/qc/input/{SAMPLE}.json")
    return run_dir


@pytest.fixture(scope="module")
def reanalysed(
    giab_run: Path, giab: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    return {
        mode: _reanalyse(giab_run, giab, tmp_path_factory.mktemp(f"reanalysis-{mode}"), mode)
        for mode in MODES
    }


def _records(vcf: Path, passing: bool = False) -> list[tuple]:
    """(CHROM, POS, REF, ALT, GT) of the records (PASS only with `passing`), or the whole
    records."""
    with pysam.VariantFile(str(vcf)) as handle:
        if passing:
            return [
                (r.chrom, r.pos, r.ref, r.alts, r.samples[SAMPLE]["GT"])
                for r in handle
                if list(r.filter) == ["PASS"]
            ]
        return [(str(r),) for r in handle]


@pytest.mark.parametrize("mode", MODES)
def test_reanalysis_of_the_cram_gives_the_original_calls(
    giab_run: Path, reanalysed: dict[str, Path], mode: str
) -> None:
    original = giab_run / "results" / "vcf" / f"{SAMPLE}.vcf.gz"
    again = reanalysed[mode] / "results" / "vcf" / f"{SAMPLE}.vcf.gz"
    expected = _records(original, passing=True)
    assert len(expected) > 100
    assert _records(again, passing=True) == expected
    if mode == "reuse":  # the same alignments: every record the same, to the last annotation
        assert _records(again) == _records(original)


def test_realign_trims_and_aligns_every_read_of_the_cram(
    giab_run: Path, reanalysed: dict[str, Path]
) -> None:
    run_dir = reanalysed["realign"]
    (report,) = (run_dir / "results" / "qc" / "fastp" / SAMPLE).glob("*.fastp.json")
    (first,) = (giab_run / "results" / "qc" / "fastp" / SAMPLE).glob("*.fastp.json")
    reads = json.loads(report.read_text())["summary"]["before_filtering"]["total_reads"]
    assert reads == json.loads(first.read_text())["summary"]["before_filtering"]["total_reads"]
    record = json.loads((run_dir / "results" / "qc" / "input" / f"{SAMPLE}.json").read_text())
    assert record["units"][0]["unpaired_reads_dropped"] == 0


def test_reuse_runs_neither_fastp_nor_the_aligner(reanalysed: dict[str, Path]) -> None:
    benchmarks = reanalysed["reuse"] / "benchmarks"
    assert (benchmarks / "aligned_reuse").is_dir() and (benchmarks / "markdup_cram").is_dir()
    assert not (benchmarks / "fastp").exists() and not (benchmarks / "align_bwa").exists()
    header = pysam.AlignmentFile(
        str(reanalysed["reuse"] / "results" / "cram" / f"{SAMPLE}.cram")
    ).header.to_dict()
    assert [rg["ID"] for rg in header["RG"]] == [f"{SAMPLE}.DB.1"]  # the run's read group


@pytest.mark.parametrize("mode", MODES)
def test_the_input_record_names_the_cram_by_checksum(
    giab_run: Path, reanalysed: dict[str, Path], mode: str
) -> None:
    cram = giab_run / "results" / "cram" / f"{SAMPLE}.cram"
    path = reanalysed[mode] / "results" / "qc" / "input" / f"{SAMPLE}.json"
    record = json.loads(path.read_text())
    assert (record["source"], record["mode"]) == ("aligned", mode)
    (unit,) = record["units"]
    assert unit["sha256"] == hashlib.sha256(cram.read_bytes()).hexdigest()
    assert unit["reference_match"] is True and unit["format"] == "CRAM"
    assert unit["previous_samples"] == [SAMPLE] and "bwa" in unit["previous_programs"]
