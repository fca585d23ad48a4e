from __future__ import annotations

import subprocess
from pathlib import Path

import pysam

from helgenom.calling import filter_header_lines, soft_filter_pipeline, write_chunk_beds

FILTERS = [
    {"name": "LowQual", "expression": "QUAL<20", "description": "Variant quality below 20"},
    {"name": "LowDepth", "expression": "INFO/DP<8", "description": 'Fewer than 8 "reads"'},
]


def test_write_chunk_beds(tmp_path: Path) -> None:
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t100\t6\t60\t61\nchr2\t50\t200\t60\t61\n")
    beds = [tmp_path / f"{i}.bed" for i in range(3)]
    write_chunk_beds(fai, beds)
    rows = [b.read_text().splitlines() for b in beds]
    assert rows == [["chr1\t0\t50"], ["chr1\t50\t100"], ["chr2\t0\t50"]]


def test_write_chunk_beds_too_many_chunks(tmp_path: Path) -> None:
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t2\t6\t60\t61\n")
    try:
        write_chunk_beds(fai, [tmp_path / f"{i}.bed" for i in range(3)])
    except ValueError as error:
        assert "lower calling.chunks" in str(error)
    else:
        raise AssertionError("expected a ValueError")


def test_filter_header_lines_escape_quotes() -> None:
    lines = filter_header_lines(FILTERS).splitlines()
    assert lines[1] == "##FILTER=<ID=LowDepth,Description=\"Fewer than 8 'reads' (INFO/DP<8)\">"


def test_no_filters_no_stages() -> None:
    assert soft_filter_pipeline([]) == ""


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
