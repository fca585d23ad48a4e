"""Small real BAM/CRAM files and references (pysam, in-process) for the re-analysis tests of
several tiers (tests/unit/test_aligned.py, tests/workflow/test_reanalysis_dag.py)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pysam


def write_fasta(path: Path, lengths: dict[str, int], seed: int = 1) -> Path:
    rng = random.Random(seed)
    with path.open("w") as handle:
        for name, length in lengths.items():
            seq = "".join(rng.choice("ACGT") for _ in range(length))
            handle.write(f">{name}\n" + "\n".join(seq[i : i + 60] for i in range(0, length, 60)))
            handle.write("\n")
    pysam.faidx(str(path))
    return path


def write_dict(fasta: Path) -> Path:
    """The sequence dictionary samtools dict writes (SN, LN, M5), without running samtools."""
    lines = ["@HD\tVN:1.0\tSO:unsorted"]
    with pysam.FastaFile(str(fasta)) as fa:
        for name in fa.references:
            md5 = hashlib.md5(fa.fetch(name).upper().encode()).hexdigest()
            lines.append(f"@SQ\tSN:{name}\tLN:{fa.get_reference_length(name)}\tM5:{md5}")
    path = fasta.with_suffix(".dict")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_aligned(
    path: Path,
    fasta: Path,
    samples: dict[str, str] | None = None,
    pairs: int = 20,
) -> Path:
    """A coordinate-sorted, indexed BAM or CRAM (by suffix) of read pairs on `fasta`'s first
    contig; `samples`: read group ID -> SM (None: no @RG)."""
    header: dict[str, Any] = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": []}
    with pysam.FastaFile(str(fasta)) as fa:
        for name in fa.references:
            md5 = hashlib.md5(fa.fetch(name).upper().encode()).hexdigest()
            header["SQ"].append({"SN": name, "LN": fa.get_reference_length(name), "M5": md5})
        contig = fa.fetch(fa.references[0])
    rgs = list(samples or {})
    if samples:
        header["RG"] = [
            {"ID": rg, "SM": sm, "LB": "L1", "PL": "ILLUMINA"} for rg, sm in samples.items()
        ]
    header["PG"] = [{"ID": "bwa", "PN": "bwa", "VN": "0.7.17"}]
    records = []
    ah = pysam.AlignmentHeader.from_dict(header)
    for i in range(pairs):
        start, mate = 100 + 7 * i, 300 + 7 * i
        for first, pos, mpos in ((True, start, mate), (False, mate, start)):
            read = pysam.AlignedSegment(ah)
            read.query_name = f"r{i}"
            read.query_sequence = contig[pos : pos + 50]
            read.flag = 1 | 2 | (64 if first else 128) | (32 if first else 16)
            read.reference_id, read.reference_start = 0, pos
            read.mapping_quality, read.cigarstring = 60, "50M"
            read.next_reference_id, read.next_reference_start = 0, mpos
            read.template_length = (mate + 50 - start) * (1 if first else -1)
            read.query_qualities = pysam.qualitystring_to_array("I" * 50)
            if rgs:
                read.set_tag("RG", rgs[i % len(rgs)])
            records.append(read)
    records.sort(key=lambda r: r.reference_start)
    mode = "wc" if path.suffix == ".cram" else "wb"
    with pysam.AlignmentFile(str(path), mode, header=header, reference_filename=str(fasta)) as out:
        for read in records:
            out.write(read)
    pysam.index(str(path))
    return path
