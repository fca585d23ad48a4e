"""Runs of homozygosity (ROH) of one sample: bcftools roh's segments summarised per chromosome,
with the hints a clinician reads from them (workflow/rules/roh.smk).

bcftools roh (an HMM over the sample's PASS SNV genotypes; Narasimhan et al. 2016,
Bioinformatics 32:1749) finds the segments. Without population allele frequencies
(``roh.af_file``) every site is given ``roh.af_default``, the documented fallback of
bcftools roh for single samples; indels are skipped (their genotypes are enriched for errors).

The summary counts the segments of at least ``roh.min_length`` bp and ``roh.min_markers`` sites
over the autosomes (the human autosomes when the reference names them, else every contig
except X, Y and the mitochondrion: male X is hemizygous and would read as one long ROH), and
gives two hints, never a diagnosis (ACMG: Rehder et al. 2013, Genet Med 15:150; one large ROH
confined to one chromosome raises uniparental isodisomy, ROH spread over many chromosomes
identity by descent):

* ``upd`` on a chromosome whose longest segment is at least ``roh.upd_min_length`` while the
  other autosomes together have less than ``roh.consanguinity_fraction`` of their bases in ROH;
* ``consanguinity`` when the autosomes other than those with a UPD hint have at least
  ``roh.consanguinity_fraction`` of their bases in ROH (offspring of first cousins: 1/16 of the
  genome expected autozygous, second cousins 1/64).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helgenom.fileio import write_mqc_table
from helgenom.qc.coverage import autosomes

__all__ = [
    "RohSettings",
    "Segment",
    "analysed_contigs",
    "compare_roh",
    "read_roh_regions",
    "roh_command_options",
    "summarise_roh",
    "write_roh_mqc",
]

_NOT_AUTOSOME = re.compile(r"(?:chr)?(?:X|Y|M|MT)", re.IGNORECASE)


@dataclass(frozen=True)
class RohSettings:
    """The config's ``roh`` section."""

    min_length: int
    min_markers: int
    upd_min_length: int
    consanguinity_fraction: float
    af_default: float
    af_file: str | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RohSettings:
        return cls(
            min_length=int(section["min_length"]),
            min_markers=int(section["min_markers"]),
            upd_min_length=int(section["upd_min_length"]),
            consanguinity_fraction=float(section["consanguinity_fraction"]),
            af_default=float(section["af_default"]),
            af_file=section.get("af_file"),
        )


def roh_command_options(settings: RohSettings) -> str:
    """bcftools roh's options (after the command, before the VCF): PASS SNV genotypes only,
    hom-ref records skipped, allele frequencies from the file or the default."""
    af = f"--AF-file {settings.af_file}" if settings.af_file else f"--AF-dflt {settings.af_default}"
    return f"--GTs-only 30 --skip-indels --ignore-homref --include 'FILTER=\"PASS\"' {af}"


@dataclass(frozen=True)
class Segment:
    """One ROH segment as bcftools roh reports it (1-based, inclusive)."""

    contig: str
    start: int
    end: int
    markers: int
    quality: float

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def read_roh_regions(path: str | Path, sample: str) -> list[Segment]:
    """The RG lines of `sample` in bcftools roh's output (``-O r`` or ``-O sr``)."""
    segments = []
    with Path(path).open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.startswith("RG\t"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 8:
                raise ValueError(f"{path}, line {number}: an RG line needs 8 fields")
            if fields[1] != sample:
                continue
            segments.append(
                Segment(fields[2], int(fields[3]), int(fields[4]), int(fields[6]), float(fields[7]))
            )
    return segments


def analysed_contigs(contigs: Iterable[str]) -> list[str]:
    """The contigs the summary counts: the human autosomes, else all but X, Y and chrM."""
    names = list(contigs)
    return autosomes(names) or [c for c in names if not _NOT_AUTOSOME.fullmatch(c)]


def summarise_roh(
    sample: str,
    segments: Sequence[Segment],
    acgt: Mapping[str, tuple[int, int]],
    settings: RohSettings,
) -> dict[str, Any]:
    """The sample's ROH summary: per analysed chromosome (non-N length, counted segments, bases
    in ROH, fraction, longest, hint) and genome-wide, with the hints (module docstring)."""
    contigs = analysed_contigs(acgt)
    counted = [
        s
        for s in segments
        if s.contig in contigs
        and s.length >= settings.min_length
        and s.markers >= settings.min_markers
    ]
    per: dict[str, list[Segment]] = {c: [] for c in contigs}
    for segment in counted:
        per[segment.contig].append(segment)
    rows = []
    for contig in contigs:
        acgt_bases = acgt[contig][1]
        in_roh = sum(s.length for s in per[contig])
        rows.append({
            "contig": contig,
            "acgt_bases": acgt_bases,
            "segments": len(per[contig]),
            "roh_bases": in_roh,
            "fraction": round(in_roh / acgt_bases, 4) if acgt_bases else 0.0,
            "longest": max((s.length for s in per[contig]), default=0),
            "hint": "",
        })  # fmt: skip

    def fraction(rows_: Sequence[Mapping[str, Any]]) -> float:
        bases = sum(r["acgt_bases"] for r in rows_)
        return sum(r["roh_bases"] for r in rows_) / bases if bases else 0.0

    for row in rows:
        others = [r for r in rows if r is not row]
        if row["longest"] >= settings.upd_min_length and (
            fraction(others) < settings.consanguinity_fraction
        ):
            row["hint"] = "upd"
    rest = [r for r in rows if r["hint"] != "upd"]
    rest_fraction = fraction(rest)
    hints = [f"upd:{r['contig']}" for r in rows if r["hint"] == "upd"]
    if rest and rest_fraction >= settings.consanguinity_fraction:
        hints.append("consanguinity")
    return {
        "sample_id": sample,
        "settings": {
            "min_length": settings.min_length,
            "min_markers": settings.min_markers,
            "upd_min_length": settings.upd_min_length,
            "consanguinity_fraction": settings.consanguinity_fraction,
            "allele_frequencies": settings.af_file or f"default {settings.af_default}",
        },
        "chromosomes": rows,
        "segments": [
            {
                "contig": s.contig,
                "start": s.start,
                "end": s.end,
                "length": s.length,
                "markers": s.markers,
                "quality": s.quality,
            }
            for s in counted
        ],
        "total": {
            "segments": len(counted),
            "roh_bases": sum(r["roh_bases"] for r in rows),
            "acgt_bases": sum(r["acgt_bases"] for r in rows),
            "fraction": round(fraction(rows), 4),
            "longest": max((r["longest"] for r in rows), default=0),
        },
        "hints": hints,
        "interpretation": _interpretation(hints),
    }


def _interpretation(hints: Sequence[str]) -> str:
    if not hints:
        return "No ROH pattern suggesting uniparental disomy or consanguinity"
    parts = []
    upd = [h.split(":", 1)[1] for h in hints if h.startswith("upd:")]
    if upd:
        parts.append(
            f"Long ROH confined to {', '.join(upd)}: consider uniparental isodisomy "
            "(confirm with parental samples or a targeted test)"
        )
    if "consanguinity" in hints:
        parts.append(
            "ROH over several chromosomes above the configured fraction: parental relatedness "
            "(consanguinity) likely; recessive conditions in ROH genes gain weight"
        )
    return "; ".join(parts)


def compare_roh(
    planted: Sequence[tuple[str, int, int]], found: Sequence[Mapping[str, Any]]
) -> tuple[float | None, float | None]:
    """Base-pair recall and precision of the counted segments `found` (a summary's
    "segments", 1-based inclusive) against `planted` intervals (BED: 0-based, half-open);
    None where there is nothing to divide by."""

    def overlap(contig: str, start: int, end: int) -> int:
        return sum(
            max(0, min(end, f["end"]) - max(start, f["start"] - 1))
            for f in found
            if f["contig"] == contig
        )

    planted_bp = sum(e - s for _, s, e in planted)
    found_bp = sum(f["end"] - f["start"] + 1 for f in found)
    shared = sum(overlap(c, s, e) for c, s, e in planted)
    recall = shared / planted_bp if planted_bp else None
    precision = shared / found_bp if found_bp else None
    return recall, precision


def write_roh_mqc(summaries: Sequence[Mapping[str, Any]], out: str | Path) -> None:
    """A MultiQC custom-content table of the run's ROH summaries (one row per sample)."""
    write_mqc_table(
        out,
        table_id="helgenom_roh",
        section_name="Runs of homozygosity (helgenom)",
        description="bcftools roh segments counted by the roh settings: bases in ROH over the "
        "autosomes, the longest segment and the hints (UPD, consanguinity).",
        columns=["Sample", "roh_segments", "roh_mb", "roh_pct", "longest_kb", "hints"],
        rows=(
            [
                s["sample_id"],
                s["total"]["segments"],
                f"{s['total']['roh_bases'] / 1e6:.3f}",
                f"{100 * s['total']['fraction']:.2f}",
                f"{s['total']['longest'] / 1e3:.1f}",
                ",".join(s["hints"]) or "none",
            ]
            for s in summaries
        ),
    )
