#!/usr/bin/env python3
"""Benchmark: the GIAB slice through the workflow (local profile) vs a bare shell chain.

Both run the same tool commands with the same thread counts on the same 2 cores; the bare
chain is a bash script with the obvious parallelism (calling chunks two at a time, each with
the workflow's own call_chunk command for the default calling mode and gVCF, the QC
tools side by side). Prints wall and CPU seconds of both and the ratio; target: workflow
wall time <= 1.5 x the bare chain.

    .venv/bin/python scripts/benchmark_workflow.py [--repeats 2] [--chunks 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helgenom.calling import format_call_chunk, soft_filter_pipeline
from helgenom.config import validate_config
from helgenom.runs import snakemake_command
from helgenom.testing import write_giab_run_dir

REPO = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("HELGENOM_TESTDATA", REPO.parent / "shared" / "testdata"))
GIAB = TESTDATA / "giab-na12878-chr20"

BARE_CHAIN = r"""
set -euo pipefail
mkdir -p ref out/qc
gzip -cdf {fasta} > ref/g.fa
samtools faidx ref/g.fa
samtools dict --assembly giab-slice --uri g.fa -o ref/g.dict ref/g.fa
bwa index ref/g.fa 2> /dev/null
fastp --in1 {r1} --in2 {r2} --out1 out/t1.fq.gz --out2 out/t2.fq.gz \
  --detect_adapter_for_pe --disable_quality_filtering --disable_length_filtering \
  --compression 1 --thread 2 {fastp_extra} --json out/qc/fastp.json --html out/qc/fastp.html \
  2> /dev/null
bwa mem -K 100000000 -Y -t 2 -R '{rg}' -H ref/g.dict ref/g.fa out/t1.fq.gz out/t2.fq.gz \
  2> /dev/null | samtools fixmate -m -u - - | samtools sort -@ 2 -m 768M -T out/sort -o out/u.bam -
samtools merge -u -o - out/u.bam \
  | samtools markdup -@ 2 -T out/md -f out/qc/markdup.txt --reference ref/g.fa -O cram \
    --write-index - out/s.cram
{python} -c "
from helgenom.calling import write_chunk_beds
write_chunk_beds('ref/g.fa.fai', ['out/c%04d.bed' % i for i in range({chunks})])"
ls calls/*.sh | xargs -P 2 -n 1 bash
bcftools concat -Ou out/c????.bcf \
  | bcftools norm --fasta-ref ref/g.fa --multiallelics -both -Ou \
  {filters} | bcftools view -Oz -o out/s.vcf.gz
tabix -p vcf out/s.vcf.gz
{gather_gvcf}
samtools stats -@ 2 --reference ref/g.fa out/s.cram > out/qc/stats.txt &
samtools flagstat -@ 2 --input-fmt-option reference=ref/g.fa out/s.cram > out/qc/flagstat.txt &
mosdepth --threads 2 --no-per-base --fast-mode --fasta ref/g.fa out/qc/md out/s.cram &
bcftools stats --fasta-ref ref/g.fa --apply-filters PASS out/s.vcf.gz > out/qc/bcfstats.txt &
wait
multiqc --force --no-ansi --outdir out/qc/multiqc out/qc > /dev/null 2>&1
"""


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and all its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def chunk_scripts(calling: dict, chunks: int) -> dict[str, str]:
    """One bash script per chunk: the workflow's call_chunk command for the default mode."""
    scripts = {}
    for i in range(chunks):
        command = format_call_chunk(
            calling,
            fa="ref/g.fa",
            bed=f"out/c{i:04d}.bed",
            cram="out/s.cram",
            vcf=f"out/c{i:04d}.bcf",
            gvcf=f"out/c{i:04d}.g.bcf",
            tmpdir="out",
            log="/dev/null",
        )
        scripts[f"c{i:04d}.sh"] = f"set -euo pipefail\n{command}\n"
    return scripts


def bare_script(chunks: int) -> tuple[str, dict[str, str]]:
    """The chain (bash) and its per-chunk calling scripts (for calls/), default config."""
    config = validate_config(
        {"samples": "s", "units": "u", "reference": {"fasta": "f", "build": "b"}}
    )
    calling = config["calling"]
    filters = calling["freebayes_filters" if calling["mode"] == "freebayes" else "filters"]
    gather_gvcf = (
        "bcftools concat -Oz -o out/s.g.vcf.gz out/c????.g.bcf && tabix -p vcf out/s.g.vcf.gz"
        if calling["gvcf"]
        else ""
    )
    reads = GIAB / "reads"
    return BARE_CHAIN.format(
        fasta=GIAB / "slice" / "chr20_9995001_11095000.fa",
        r1=reads / "NA12878_chr20_10mb_R1.fastq.gz",
        r2=reads / "NA12878_chr20_10mb_R2.fastq.gz",
        rg=r"@RG\tID:NA12878.C0D8DACXX.1\tSM:NA12878\tPU:C0D8DACXX.1\tLB:NA12878-PG\tPL:ILLUMINA",
        fastp_extra=config["trimming"]["extra"],
        filters=soft_filter_pipeline(filters),
        gather_gvcf=gather_gvcf,
        chunks=chunks,
        python=sys.executable,
    ), chunk_scripts(calling, chunks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=4)
    args = parser.parse_args()
    if not GIAB.exists():
        print(f"GIAB test data not found at {GIAB} (set HELGENOM_TESTDATA)", file=sys.stderr)
        return 2
    rows = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="helgenom-bench-") as tmp:
            bare_dir = Path(tmp) / "bare"
            bare_dir.mkdir()
            chain, scripts = bare_script(args.chunks)
            (bare_dir / "chain.sh").write_text(chain)
            (bare_dir / "calls").mkdir()
            for name, text in scripts.items():
                (bare_dir / "calls" / name).write_text(text)
            bare = timed(["bash", "chain.sh"], bare_dir)
            run_dir = write_giab_run_dir(
                Path(tmp) / "workflow", GIAB, extra_config={"calling": {"chunks": args.chunks}}
            )
            flow = timed(snakemake_command(run_dir, "--quiet", "all", cores=2), run_dir)
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append((i + 1, *bare, *flow))
        print(f"repeat {i + 1}: bare {bare[0]:.1f}s wall, workflow {flow[0]:.1f}s wall", flush=True)
    print()
    print(
        f"{'repeat':>6} {'bare wall':>10} {'bare CPU':>9} {'wf wall':>8} {'wf CPU':>7} "
        f"{'wall ratio':>10} {'CPU ratio':>9}"
    )
    for n, bw, bc, fw, fc in rows:
        print(
            f"{n:>6} {bw:>10.1f} {bc:>9.1f} {fw:>8.1f} {fc:>7.1f} {fw / bw:>10.2f} {fc / bc:>9.2f}"
        )
    bare_wall = statistics.median(r[1] for r in rows)
    flow_wall = statistics.median(r[3] for r in rows)
    print(
        f"\nmedian of {args.repeats}: bare {bare_wall:.1f}s, workflow {flow_wall:.1f}s wall, "
        f"ratio {flow_wall / bare_wall:.2f} (target <= 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
