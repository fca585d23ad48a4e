"""The demo data with the real tools: bcftools norm keeps the truth, bwa maps the reads."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from helgenom.demo import DemoData

# --------------------------------------------------------------------------------------------
# truth variants
# --------------------------------------------------------------------------------------------


def test_truth_unchanged_by_bcftools_norm(demo_data: DemoData) -> None:
    if shutil.which("bcftools") is None:
        pytest.skip("bcftools not installed")
    for vcf in demo_data.truth.values():
        proc = subprocess.run(
            ["bcftools", "norm", "-f", str(demo_data.reference), str(vcf)],
            check=True,
            capture_output=True,
            text=True,
        )
        normed = [ln.split("\t") for ln in proc.stdout.splitlines() if not ln.startswith("#")]
        original = [
            ln.split("\t")
            for ln in gzip.decompress(vcf.read_bytes()).decode().splitlines()
            if not ln.startswith("#")
        ]
        assert [r[:5] + r[9:] for r in normed] == [r[:5] + r[9:] for r in original]
        counts = re.search(r"(\d+)/(\d+)/(\d+)/(\d+)", proc.stderr)  # total/split/realigned/skipped
        assert counts and int(counts[1]) == len(original) and counts.groups()[1:] == ("0", "0", "0")


# --------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------


def test_bwa_maps_reads(demo_data: DemoData, tmp_path: Path) -> None:
    if shutil.which("bwa") is None:
        pytest.skip("bwa not installed")
    fa = tmp_path / "ref.fa"
    shutil.copy(demo_data.reference, fa)
    subprocess.run(["bwa", "index", str(fa)], check=True, capture_output=True)
    fqs = []
    for mate in (1, 2):
        path = demo_data.outdir / "fastq" / f"DEMO001_HDEMOXX1.1_R{mate}.fastq.gz"
        out = tmp_path / f"R{mate}.fq"
        with gzip.open(path, "rt") as src, open(out, "w") as dst:
            for i, line in enumerate(src):
                if i >= 4 * 2_000:
                    break
                dst.write(line)
        fqs.append(str(out))
    sam = tmp_path / "out.sam"
    with open(sam, "w") as fh:
        subprocess.run(
            ["bwa", "mem", "-t", "1", str(fa), *fqs],
            check=True,
            stdout=fh,
            stderr=subprocess.DEVNULL,
        )
    with pysam.AlignmentFile(str(sam)) as aln:
        primary = [r for r in aln if not (r.is_secondary or r.is_supplementary)]
    assert len(primary) == 4_000
    mapped = sum(not r.is_unmapped for r in primary)
    assert mapped / len(primary) > 0.98
    proper = sum(r.is_proper_pair for r in primary)
    assert proper / len(primary) > 0.95
