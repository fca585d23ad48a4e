"""helgenom's SV step on real reads with a known deletion: delly's own short-read example
(tests/data/delly-example: a 200 kb contig, 18:100000-108002 deleted; BSD-3, see its README).
The reads go through the pipeline as FASTQ (fastp, bwa, markdup to CRAM) up to
results/sv/S1.vcf.gz with the shipped sv.callers (delly and TIDDIT, merged by SURVIVOR): each
caller finds the deletion and nothing else, and the merged VCF holds it once, made by both."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helgenom.sv import (
    SV_CALLER_OUTPUT,
    SvSettings,
    caller_calls,
    compare_sv,
    read_sv_calls,
    truvari_bench,
)
from workflow_helpers import REPO, snakemake, write_run_dir

DATA = REPO / "tests" / "data" / "delly-example"


def _fastq(bam: Path, outdir: Path) -> tuple[Path, Path]:
    r1, r2 = outdir / "sr_R1.fastq.gz", outdir / "sr_R2.fastq.gz"
    collated = subprocess.run(
        ["samtools", "collate", "-O", "-u", str(bam)], capture_output=True, check=True
    ).stdout
    subprocess.run(
        ["samtools", "fastq", "-1", str(r1), "-2", str(r2), "-0", "/dev/null", "-s", "/dev/null",
         "-n", "-"],
        input=collated, capture_output=True, check=True,
    )  # fmt: skip
    return r1, r2


def test_sv_step_finds_the_example_deletion(tmp_path: Path) -> None:
    r1, r2 = _fastq(DATA / "sr.bam", tmp_path)
    run_dir = tmp_path / "run"
    write_run_dir(
        run_dir,
        samples=[{"sample_id": "S1", "sex": "unknown", "priority": "routine", "indication": "x"}],
        units=[{"sample_id": "S1", "unit_id": "FC1.1", "platform": "ILLUMINA", "library": "L1",
                "fq1": str(r1), "fq2": str(r2)}],
        reference=DATA / "ref.fa",
        build="delly-example",
    )  # fmt: skip
    snakemake(run_dir, "results/sv/S1.vcf.gz", "results/sv/S1.sv.json")

    calls = read_sv_calls(run_dir / "results" / "sv" / "S1.vcf.gz")
    truth = read_sv_calls(DATA / "truth.vcf")
    result = compare_sv(truth, calls)
    assert result.recall == 1.0 and result.precision == 1.0, (calls, result)
    (_, call), = result.matched  # fmt: skip
    assert abs(call.pos - 100000) <= 10 and abs(call.end - 108002) <= 10, call
    assert call.precise and call.callers == ("delly", "tiddit")  # written as delly's record
    for path in (
        run_dir / "results" / "sv" / "S1.vcf.gz",
        *(run_dir / SV_CALLER_OUTPUT[c].format(sample="S1") for c in ("delly", "tiddit")),
    ):
        bench = truvari_bench(DATA / "truth.vcf", path)
        assert bench is not None, "truvari (helgenom[test]) is not installed"
        assert bench["recall"] == 1.0 and bench["precision"] == 1.0, (path, bench)
    (tiddit,) = caller_calls(
        run_dir / SV_CALLER_OUTPUT["tiddit"].format(sample="S1"),
        "tiddit",
        SvSettings(("tiddit",), 50),
    )
    assert compare_sv(truth, [tiddit]).recall == 1.0, tiddit  # --skip_assembly: within 1 bp
    assert abs(tiddit.pos - 100000) <= 10 and abs(tiddit.end - 108002) <= 10, tiddit
    summary = json.loads((run_dir / "results" / "sv" / "S1.sv.json").read_text())
    assert summary["counts"]["DEL"] == 1 and summary["total"] == 1
    assert summary["panel_calls"] == []  # the sample has no panel
    assert (run_dir / "benchmarks" / "sv_delly" / "S1.tsv").is_file()
    assert (run_dir / "benchmarks" / "sv_tiddit" / "S1.tsv").is_file()
    log = (run_dir / "logs" / "sv_vcf" / "S1.log").read_text()
    assert "(delly 1, tiddit 1): 1 SVs, 1 made by several callers" in log, log
