from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from helgenom.reference import (
    Contig,
    Interval,
    ReferenceError,
    balanced_chunks,
    check_fasta,
    fasta_basename,
    read_fai,
)


def _flatten(chunks: list[list[Interval]]) -> list[Interval]:
    return [iv for chunk in chunks for iv in chunk]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 16, 100])
def test_chunks_cover_genome_in_order_and_are_balanced(n: int) -> None:
    contigs = [Contig("chr1", 1000), Contig("chr2", 37), Contig("chrM", 16), Contig("chr3", 500)]
    chunks = balanced_chunks(contigs, n)
    assert len(chunks) == n
    sizes = [sum(iv.length for iv in chunk) for chunk in chunks]
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == 1553
    # Concatenated in order, the chunks tile every contig exactly, in genome order.
    flat = _flatten(chunks)
    for contig in contigs:
        pieces = [iv for iv in flat if iv.contig == contig.name]
        assert pieces[0].start == 0 and pieces[-1].end == contig.length
        assert all(a.end == b.start for a, b in zip(pieces, pieces[1:], strict=False))
    order = [iv.contig for iv in flat]
    assert order == sorted(order, key=[c.name for c in contigs].index)


def test_small_contigs_share_a_chunk() -> None:
    contigs = [Contig("chr1", 100)] + [Contig(f"decoy{i}", 1) for i in range(50)]
    chunks = balanced_chunks(contigs, 2)
    assert {iv.contig for iv in chunks[1]} >= {f"decoy{i}" for i in range(50)}


def test_more_chunks_than_bases_is_capped() -> None:
    assert len(balanced_chunks([Contig("c", 3)], 10)) == 3


def test_chunk_count_must_be_positive() -> None:
    with pytest.raises(ValueError):
        balanced_chunks([Contig("c", 3)], 0)


def test_interval_region_is_one_based() -> None:
    assert Interval("chr1", 0, 10).region() == "chr1:1-10"


def test_check_fasta_accepts_plain_and_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "ref.fa"
    plain.write_text(">c1 desc\nACGTNNacgt\n>c2\nAC\n")
    assert check_fasta(plain) == plain
    packed = tmp_path / "ref.fa.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert check_fasta(packed) == packed


def test_check_fasta_real_bgzip_reference(giab: Path) -> None:
    check_fasta(giab / "ref" / "ucsc.hg19.chr20.unittest.fasta.gz")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("ACGT\n", "must start with '>'"),
        ("@read1\nACGT\n+\nIIII\n", "must start with '>'"),
        (">\nACGT\n", "without a sequence name"),
        (">p1\nMKVLAAGIVEEQQPLLF\n", "invalid characters"),
    ],
)
def test_check_fasta_rejects_bad_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.fa"
    path.write_text(content)
    with pytest.raises(ReferenceError, match=expected) as info:
        check_fasta(path)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)


def test_check_fasta_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="does not exist.*Fix: set reference.fasta"):
        check_fasta(tmp_path / "nope.fa")


def test_read_fai(giab: Path) -> None:
    contigs = read_fai(giab / "slice" / "chr20_9995001_11095000.fa.fai")
    assert contigs == [Contig("chr20_9995001_11095000", 1_100_000)]


def test_fasta_basename() -> None:
    assert fasta_basename("/x/ucsc.hg19.chr20.unittest.fasta.gz") == "ucsc.hg19.chr20.unittest"
    assert fasta_basename("GRCh38.fa") == "GRCh38"
