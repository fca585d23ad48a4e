"""Small-variant calling helpers: chunk BED files and the soft-filter command line."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from helgenom.reference import balanced_chunks, read_fai, write_bed


def write_chunk_beds(fai: str | Path, beds: Sequence[str | Path]) -> None:
    """Write one BED per chunk; the genome is split into len(beds) length-balanced chunks."""
    chunks = balanced_chunks(read_fai(fai), len(beds))
    if len(chunks) < len(beds):
        raise ValueError(
            f"{fai}: the genome has fewer bases than calling.chunks ({len(beds)}); "
            "lower calling.chunks in config.yaml"
        )
    for intervals, bed in zip(chunks, beds, strict=True):
        write_bed(intervals, bed)


def filter_header_lines(filters: Sequence[Mapping[str, str]]) -> str:
    """##FILTER header lines carrying each filter's documented description."""
    lines = []
    for f in filters:
        description = f["description"].replace('"', "'")
        lines.append(f'##FILTER=<ID={f["name"]},Description="{description} ({f["expression"]})">')
    return "\n".join(lines)


def soft_filter_pipeline(filters: Sequence[Mapping[str, str]]) -> str:
    """Shell pipeline stages (each starting with '| ') applying the soft filters in order.

    The first stage adds the ##FILTER header lines with the documented descriptions (bash
    process substitution). Records are kept; failing ones get the filter's name in FILTER
    (several names are joined with ';', a record failing none stays PASS).
    """
    if not filters:
        return ""
    header = shlex.quote(filter_header_lines(filters))
    stages = [f"| bcftools annotate --header-lines <(printf '%s\\n' {header}) -Ou"]
    for f in filters:
        stages.append(
            "| bcftools filter --mode + --soft-filter "
            f"{shlex.quote(f['name'])} --exclude {shlex.quote(f['expression'])} -Ou"
        )
    return " ".join(stages)
