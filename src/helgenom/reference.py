"""Reference genome checks, contig facts and balanced genome chunks for scatter/gather calling."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helgenom.problems import ProblemsError

_FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
_VALID_SEQUENCE = set(b"ACGTNacgtnRYKMSWBDHVrykmswbdhv-*\r\n\t ")


class ReferenceError(ProblemsError):
    """A reference FASTA (or its .fai) that cannot be used: one problem, with the file and the
    fix. The checks stop at the first problem, so str() is that problem alone."""

    subject = "the reference FASTA"

    def __init__(self, problem: str):
        super().__init__([problem])

    def message(self) -> str:
        return str(self.problems[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.problems[0],), self.__dict__


@dataclass(frozen=True)
class Contig:
    name: str
    length: int


@dataclass(frozen=True)
class Interval:
    """A 0-based, half-open genomic interval."""

    contig: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def region(self) -> str:
        """samtools/bcftools region string (1-based, inclusive)."""
        return f"{self.contig}:{self.start + 1}-{self.end}"


def _open_bytes(path: Path):  # noqa: ANN202 - returns a binary file object
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def check_fasta(path: str | Path, *, sample_bytes: int = 1 << 20) -> Path:
    """Check that `path` is a readable (optionally gzip/bgzip-compressed) nucleotide FASTA.

    Reads at most `sample_bytes` of sequence, so it is cheap on a 3 Gb genome. Raises
    ReferenceError naming the file, the line and the fix.
    """
    path = Path(path)
    fix_hint = (
        "set reference.fasta in config.yaml to an existing FASTA (.fa/.fasta, optionally .gz)"
    )
    if not path.exists():
        raise ReferenceError(f"{path}: reference FASTA does not exist. Fix: {fix_hint}.")
    if not path.is_file():
        raise ReferenceError(f"{path}: reference FASTA is not a regular file. Fix: {fix_hint}.")
    try:
        with _open_bytes(path) as handle:
            data = handle.read(sample_bytes)
    except (OSError, EOFError) as exc:
        raise ReferenceError(
            f"{path}: cannot read reference FASTA ({exc}). Fix: {fix_hint}."
        ) from exc
    if not data.strip():
        raise ReferenceError(f"{path}: reference FASTA is empty. Fix: {fix_hint}.")
    lines = data.split(b"\n")
    if len(data) == sample_bytes and len(lines) > 1:
        lines = lines[:-1]  # last line may be cut off by the sample size
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    if not lines[first].startswith(b">"):
        raise ReferenceError(
            f"{path}:{first + 1}: not a FASTA file: the first record must start with '>' "
            f"(found {lines[first][:30]!r}). Fix: {fix_hint}."
        )
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.startswith(b">"):
            if not line[1:].strip():
                raise ReferenceError(
                    f"{path}:{number}: FASTA header without a sequence name. "
                    "Fix: give every record a name after '>'."
                )
            continue
        bad = set(line) - _VALID_SEQUENCE
        if bad:
            shown = "".join(sorted(chr(b) for b in bad))[:10]
            raise ReferenceError(
                f"{path}:{number}: invalid characters {shown!r} in sequence line; this does "
                "not look like a nucleotide FASTA. Fix: use a nucleotide FASTA reference."
            )
    return path


def read_fai(path: str | Path) -> list[Contig]:
    """Contigs in order from a samtools .fai index."""
    contigs: list[Contig] = []
    with Path(path).open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[1].isdigit():
                raise ReferenceError(f"{path}:{number}: malformed .fai line. Fix: re-run faidx.")
            contigs.append(Contig(fields[0], int(fields[1])))
    if not contigs:
        raise ReferenceError(f"{path}: .fai index lists no contigs. Fix: re-run samtools faidx.")
    return contigs


def balanced_chunks(contigs: Sequence[Contig], n: int) -> list[list[Interval]]:
    """Split the genome into `n` chunks of near-equal total length, in genome order.

    A chunk may cover several small contigs, and a large contig may be split across chunks.
    Chunk i gets the bases [floor(i*G/n), floor((i+1)*G/n)) of the concatenated genome G,
    so chunk sizes differ by at most one base and concatenating the chunks in order gives
    back the genome in order (which makes the gathered VCF sorted).
    """
    if n < 1:
        raise ValueError("the number of chunks must be at least 1")
    total = sum(c.length for c in contigs)
    if total == 0:
        raise ValueError("the reference has no bases")
    n = min(n, total)
    bounds = [i * total // n for i in range(n + 1)]
    chunks: list[list[Interval]] = [[] for _ in range(n)]
    offset = 0
    chunk = 0
    for contig in contigs:
        pos = 0
        while pos < contig.length:
            while bounds[chunk + 1] <= offset + pos:
                chunk += 1
            end = min(contig.length, bounds[chunk + 1] - offset)
            chunks[chunk].append(Interval(contig.name, pos, end))
            pos = end
        offset += contig.length
    return chunks


def write_bed(intervals: Iterable[Interval], path: str | Path) -> None:
    with Path(path).open("w") as handle:
        for iv in intervals:
            handle.write(f"{iv.contig}\t{iv.start}\t{iv.end}\n")


def fasta_basename(path: str | Path) -> str:
    """Name of a reference without its FASTA/compression suffixes ("ucsc.hg19.chr20")."""
    name = Path(path).name
    for suffix in sorted(_FASTA_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
