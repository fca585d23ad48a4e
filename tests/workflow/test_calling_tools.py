"""Calling commands run with the real tools (bcftools, awk) on tiny VCFs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
from calling_examples import FILTERS

from helgenom.calling import (
    GAP_FILLER,
    soft_filter_pipeline,
)


def test_soft_filters_with_real_bcftools(tmp_path: Path) -> None:
    vcf = tmp_path / "in.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=c1,length=1000>\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "c1\t10\t.\tA\tG\t50\t.\tDP=30\tGT\t0/1\n"
        "c1\t20\t.\tA\tG\t10\t.\tDP=30\tGT\t0/1\n"
        "c1\t30\t.\tA\tG\t10\t.\tDP=3\tGT\t0/1\n"
        "c1\t40\t.\tA\tG\t99\t.\tDP=3\tGT\t1/1\n"
    )
    out = tmp_path / "out.vcf"
    cmd = f"bcftools view -Ou {vcf} {soft_filter_pipeline(FILTERS)} | bcftools view -o {out}"
    subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], check=True)
    with pysam.VariantFile(str(out)) as handle:
        assert "Variant quality below 20 (QUAL<20)" in handle.header.filters["LowQual"].description
        filters = [sorted(r.filter.keys()) for r in handle]
    assert filters == [["PASS"], ["LowQual"], ["LowDepth", "LowQual"], ["LowDepth"]]


# ---- calling modes and the gVCF ------------------------------------------------------------
GVCF_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=c1,length=100>\n##contig=<ID=c2,length=30>\n"
    '##ALT=<ID=*,Description="Represents allele(s) other than observed.">\n'
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">\n'
    '##INFO=<ID=MinDP,Number=1,Type=Integer,Description="Minimum depth in the block">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)
C1 = "ACGTTGCAAC" * 10


def _fill_gaps(tmp_path: Path, bed_text: str, records: list[str]) -> list[tuple[str, int, int]]:
    fa = tmp_path / "ref.fa"
    fa.write_text(f">c1\n{C1}\n>c2\n{'GATTACA' * 4}GA\n")
    pysam.faidx(str(fa))
    gvcf, bed, out = tmp_path / "in.g.vcf", tmp_path / "chunk.bed", tmp_path / "out.g.vcf"
    gvcf.write_text(GVCF_HEADER + "".join(r + "\n" for r in records))
    bed.write_text(bed_text)
    cmd = (
        f"awk -v mindp=MinDP -v alt=. -f {GAP_FILLER} {bed} {gvcf}"
        f" | bcftools norm --do-not-normalize --check-ref s --fasta-ref {fa} -o {out}"
    )
    subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], check=True, capture_output=True)
    with pysam.VariantFile(str(out)) as handle, pysam.FastaFile(str(fa)) as ref:
        spans = []
        for rec in handle:
            assert rec.ref[0].upper() == ref.fetch(rec.contig, rec.start, rec.start + 1)
            spans.append((rec.contig, rec.pos, rec.stop))
            if rec.samples[0]["GT"] == (None, None):
                assert rec.samples[0]["DP"] == 0 and rec.info["MinDP"] == 0
    return spans


def test_gvcf_gaps_become_no_data_blocks(tmp_path: Path) -> None:
    records = [
        "c1\t11\t.\tA\t.\t.\t.\tEND=20;MinDP=12\tGT:DP\t0/0:12",
        "c1\t25\t.\tTGC\tT\t50\t.\t.\tGT:DP\t0/1:20",  # a deletion reaching to 27
        "c1\t26\t.\tG\t.\t.\t.\tEND=40;MinDP=15\tGT:DP\t0/0:15",
        "c1\t70\t.\tC\tG\t50\t.\t.\tGT:DP\t1/1:9",
    ]
    assert C1[10] == "A" and C1[24:27] == "TGC" and C1[69] == "C"
    bed = "c1\t0\t50\nc1\t60\t100\nc2\t0\t30\n"
    spans = _fill_gaps(tmp_path, bed, records)
    assert spans == [
        ("c1", 1, 10),  # gap before the first block
        ("c1", 11, 20),
        ("c1", 21, 24),  # gap between the block and the deletion
        ("c1", 25, 27),
        ("c1", 26, 40),
        ("c1", 41, 50),  # to the end of the first interval
        ("c1", 61, 69),  # the second interval starts with a gap
        ("c1", 70, 70),
        ("c1", 71, 100),
        ("c2", 1, 30),  # an interval without any record
    ]


def test_gvcf_chunk_without_records_is_one_block_per_interval(tmp_path: Path) -> None:
    assert _fill_gaps(tmp_path, "c1\t10\t20\n", []) == [("c1", 11, 20)]
