"""Copy-number variants (CNVs) of one sample from read depth: cnvkit's bins, coverage,
reference and CBS segments (workflow/rules/cnv.smk) turned into copy-number calls, annotated
with the panel genes each touches, and summarised for QC and the clinical report.

Caller: cnvkit (Talevich et al. 2016, PLoS Comput Biol 12:e1004873) in whole-genome mode: the
accessible genome (``cnvkit access``, minus ``cnv.exclude_bed``; the mitochondrial contigs
left out) is cut into bins of ``cnv.bin_size`` bp (:func:`write_bins`), mosdepth reads each
sample's CRAM over them (its mean depth per bin written as cnvkit's coverage table:
:func:`write_coverage_table`; ``cnvkit coverage`` reads the CRAM through pysam's bedcov, many
times slower on a genome), ``cnvkit fix`` divides by a reference and corrects GC and
repeat content, and ``cnvkit segment -m cbs`` (circular binary segmentation, R DNAcopy;
Olshen et al. 2004) joins bins into segments; a segment's level is the median log2 ratio of
its bins (:func:`with_median_log2`).

The reference (``cnv.reference``):

* ``flat``: every bin expected at the same depth (``cnvkit reference`` without normals, GC and
  repeat content from the FASTA). Works for one sample; biases of the library and of
  mappability are not divided out, so small events in hard regions are noisier.
* ``run``: a panel of normals made, for each sample, of the run's samples unrelated to it
  (leave one out, and leave its declared family out: ``Pedigree.unrelated``; at least
  ``cnv.min_normals`` of them). The median over them divides out the lab's biases; a CNV
  shared by most of them (a common CNV) is divided out too and not called. A CNV a child
  inherited is not: its parents are never its normals.
* ``file``: a site's panel of normals, a cnvkit reference ``.cnn`` built from normal samples
  of the same chemistry at the same bins (``cnv.reference_file``; README, Copy-number
  variants).

Copy number (:func:`copy_number`): a germline diploid genome, so a segment's copies are
``2 * 2**log2`` rounded. A segment is a loss when its log2 ratio, relative to the copies the
sample's sex expects on its contig (:func:`expected_copies`: chrX one in a male, chrY none in
a female), is at most ``cnv.loss_log2``, and a gain when at least ``cnv.gain_log2``; it is
called when it spans at least ``cnv.min_bins`` bins. Sex chromosomes of a sample of unknown
sex, and chrY of a female, are not assessed. A sample with reads in fewer than
``cnv.min_covered_fraction`` of its bins (:func:`covered_fraction`: a slice of a genome, a
targeted panel) is not assessed at all: its empty bins would be called deletions.

:func:`compare_cnv` is the truth check (the demo's planted gains and losses): reciprocal
overlap of at least ``min_overlap`` and the same copy number.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysam

from helgenom.fileio import atomic_paths, atomic_write_text, write_mqc_table
from helgenom.sv import GeneInterval

__all__ = [
    "CNV_KINDS",
    "CnvCall",
    "CnvSettings",
    "Segment",
    "call_cnvs",
    "compare_cnv",
    "copy_number",
    "covered_fraction",
    "expected_copies",
    "genes_overlapped",
    "not_assessed",
    "read_cnv_truth",
    "read_cnv_vcf",
    "read_bin_log2",
    "read_segments",
    "summarise_cnv",
    "write_bins",
    "write_cnv_mqc",
    "write_cnv_vcf",
    "write_coverage_table",
    "write_empty_coverage",
    "with_median_log2",
]

#: The kinds of call, in the order the tables show them.
CNV_KINDS: tuple[str, ...] = ("loss", "gain")
REFERENCE_MODES: tuple[str, ...] = ("flat", "run", "file")
#: cnvkit's .cnn/.cnr columns (a coverage file without bins, for the empty antitarget set).
CNN_HEADER = "chromosome\tstart\tend\tgene\tdepth\tlog2\n"
NULL_LOG2 = -20.0  # cnvkit's log2 of a bin without reads (cnvlib.params.NULL_LOG2_COVERAGE)
_X = ("chrX", "X")
_Y = ("chrY", "Y")


@dataclass(frozen=True)
class CnvSettings:
    """The config's ``cnv`` section."""

    enabled: bool
    caller: str
    bin_size: int
    reference: str
    reference_file: str | None
    min_normals: int
    segment_alpha: float
    loss_log2: float
    gain_log2: float
    min_bins: int
    exclude_bed: str | None = None
    min_covered_fraction: float = 0.8

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CnvSettings:
        return cls(
            enabled=bool(section["enabled"]),
            caller=str(section["caller"]),
            bin_size=int(section["bin_size"]),
            reference=str(section["reference"]),
            reference_file=section.get("reference_file"),
            min_normals=int(section["min_normals"]),
            segment_alpha=float(section["segment_alpha"]),
            loss_log2=float(section["loss_log2"]),
            gain_log2=float(section["gain_log2"]),
            min_bins=int(section["min_bins"]),
            exclude_bed=section.get("exclude_bed"),
            min_covered_fraction=float(section.get("min_covered_fraction", 0.8)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "bin_size": self.bin_size,
            "reference": self.reference,
            "min_normals": self.min_normals,
            "segment_alpha": self.segment_alpha,
            "loss_log2": self.loss_log2,
            "gain_log2": self.gain_log2,
            "min_bins": self.min_bins,
            "exclude_bed": self.exclude_bed,
            "min_covered_fraction": self.min_covered_fraction,
        }


# ---- bins ----------------------------------------------------------------------------------
def write_bins(
    access_bed: str | Path, out_bed: str | Path, bin_size: int, skip_contigs: Iterable[str]
) -> int:
    """Cut each accessible interval (``cnvkit access``) into bins of about ``bin_size`` bp (an
    interval of length L into ceil(L / bin_size) equal bins, as ``cnvkit target --split``
    does), leaving out ``skip_contigs`` (the mitochondrial ones). Returns the number of bins."""
    if bin_size < 1:
        raise ValueError("bin_size must be positive")
    skip = set(skip_contigs)
    rows: list[str] = []
    for number, line in enumerate(Path(access_bed).read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise ValueError(f"{access_bed}, line {number}: a BED line needs contig, start, end")
        contig, start, end = fields[0], int(fields[1]), int(fields[2])
        if contig in skip or end <= start:
            continue
        n = max(1, math.ceil((end - start) / bin_size))
        edges = [start + round(i * (end - start) / n) for i in range(n + 1)]
        rows += [f"{contig}\t{a}\t{b}\t-\n" for a, b in zip(edges, edges[1:], strict=False)]
    if not rows:
        raise ValueError(f"{access_bed}: no accessible interval to bin")
    atomic_write_text(Path(out_bed), "".join(rows))
    return len(rows)


def write_coverage_table(mosdepth_regions: str | Path, out_cnn: str | Path) -> int:
    """A sample's coverage over the bins as ``cnvkit coverage`` writes it (chromosome, start,
    end, gene, depth, log2; log2 of a bin without reads -20, cnvkit's floor), from mosdepth's
    mean depth per bin (``<prefix>.regions.bed.gz`` of ``mosdepth --by bins.bed``). Returns
    the number of bins."""
    rows = []
    with gzip.open(mosdepth_regions, "rt") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 4:
                raise ValueError(f"{mosdepth_regions}, line {number}: not a mosdepth region line")
            depth = float(fields[-1])
            log2 = math.log2(depth) if depth > 0 else NULL_LOG2
            rows.append(f"{fields[0]}\t{fields[1]}\t{fields[2]}\t-\t{depth:g}\t{log2:.6g}\n")
    atomic_write_text(Path(out_cnn), CNN_HEADER + "".join(rows))
    return len(rows)


def write_empty_coverage(path: str | Path) -> None:
    """A cnvkit coverage file without bins: the antitarget coverage of whole-genome mode."""
    atomic_write_text(Path(path), CNN_HEADER)


# ---- segments and copy number --------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A cnvkit segment (.cns row): 0-based half-open [start, end), its log2 ratio, bins."""

    contig: str
    start: int
    end: int
    log2: float
    bins: int
    depth: float | None = None


def read_segments(cns: str | Path) -> list[Segment]:
    """The segments of a cnvkit .cns file."""
    with Path(cns).open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"chromosome", "start", "end", "log2", "probes"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{cns}: not a cnvkit segment file (no {', '.join(sorted(missing))})")
        return [
            Segment(
                row["chromosome"],
                int(row["start"]),
                int(row["end"]),
                float(row["log2"]),
                int(row["probes"]),
                float(row["depth"]) if row.get("depth") not in (None, "") else None,
            )
            for row in reader
        ]


def read_bin_log2(cnr: str | Path) -> dict[str, list[tuple[int, float]]]:
    """The bins of a cnvkit .cnr file: contig -> [(start, log2)], in file order."""
    bins: dict[str, list[tuple[int, float]]] = {}
    with Path(cnr).open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if not {"chromosome", "start", "log2"} <= set(reader.fieldnames or []):
            raise ValueError(f"{cnr}: not a cnvkit bin file (chromosome, start, log2)")
        for row in reader:
            bins.setdefault(row["chromosome"], []).append((int(row["start"]), float(row["log2"])))
    return bins


def with_median_log2(
    segments: Sequence[Segment], bins: Mapping[str, Sequence[tuple[int, float]]]
) -> list[Segment]:
    """The segments with the median log2 of their bins as their level instead of cnvkit's
    weighted mean: a few bins of a homozygous deletion (log2 ~ -13 to -20) that CBS leaves
    in a long segment (it does not split off runs of one or two bins) would drag the mean of
    a normal segment to a loss; the median stays at the segment's copy number."""
    out = []
    for seg in segments:
        values = sorted(v for start, v in bins.get(seg.contig, ()) if seg.start <= start < seg.end)
        if not values:
            out.append(seg)
            continue
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        out.append(Segment(seg.contig, seg.start, seg.end, median, seg.bins, seg.depth))
    return out


def covered_fraction(coverage_cnn: str | Path) -> tuple[float, int]:
    """The fraction of a sample's bins with any read (``cnvkit coverage`` depth > 0), and the
    number of bins. A whole genome has reads in nearly every accessible bin; a slice of one or
    a targeted panel does not, and its empty bins would be called homozygous deletions."""
    with Path(coverage_cnn).open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if "depth" not in (reader.fieldnames or []):
            raise ValueError(f"{coverage_cnn}: not a cnvkit coverage file (no depth column)")
        depths = [float(row["depth"]) for row in reader]
    if not depths:
        return 0.0, 0
    return sum(d > 0 for d in depths) / len(depths), len(depths)


def expected_copies(contig: str, sex: str) -> int | None:
    """Copies a germline genome of ``sex`` (female, male, unknown) has of ``contig``; None
    when not assessable (a sex chromosome of a sample of unknown sex)."""
    if contig in _X:
        return {"female": 2, "male": 1}.get(sex)
    if contig in _Y:
        return {"female": 0, "male": 1}.get(sex)
    return 2


def copy_number(log2: float) -> int:
    """The integer copies of a segment of a diploid reference: ``round(2 * 2**log2)``."""
    return max(0, round(2 * 2.0 ** max(log2, -30.0)))


@dataclass(frozen=True)
class CnvCall:
    """A copy-number call: 0-based half-open [start, end) as the segment, its copies and
    the copies the sample is expected to have there."""

    contig: str
    start: int
    end: int
    copies: int
    expected: int
    log2: float
    bins: int
    genes: tuple[str, ...] = field(default=())
    record_id: str = "."

    @property
    def kind(self) -> str:
        return "loss" if self.copies < self.expected else "gain"

    @property
    def svtype(self) -> str:
        return "DEL" if self.kind == "loss" else "DUP"

    @property
    def size(self) -> int:
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "kind": self.kind,
            "contig": self.contig,
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "copy_number": self.copies,
            "expected": self.expected,
            "log2": round(self.log2, 3),
            "bins": self.bins,
            "genes": list(self.genes),
        }


def genes_overlapped(
    contig: str, start: int, end: int, genes: Iterable[GeneInterval]
) -> tuple[str, ...]:
    """The genes (sorted, each once) with an interval overlapping [start, end) of contig."""
    return tuple(
        sorted({g.gene for g in genes if g.contig == contig and g.start < end and start < g.end})
    )


def call_cnvs(
    segments: Sequence[Segment],
    sex: str,
    settings: CnvSettings,
    genes: Sequence[GeneInterval] = (),
) -> list[CnvCall]:
    """The segments called gains or losses (see the module docstring), with the panel genes
    each overlaps. Neighbouring segments of the same copies are joined first (CBS may cut a
    homozygous deletion where its log2 floor changes), then calls of fewer than
    ``settings.min_bins`` bins are dropped."""
    joined: list[CnvCall] = []
    for seg in segments:
        expected = expected_copies(seg.contig, sex)
        if expected is None or expected == 0:
            continue
        relative = seg.log2 - math.log2(expected / 2)
        copies = copy_number(seg.log2)
        if relative <= settings.loss_log2:
            copies = min(copies, expected - 1)
        elif relative >= settings.gain_log2:
            copies = max(copies, expected + 1)
        else:
            continue
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and previous.contig == seg.contig
            and previous.end == seg.start
            and previous.copies == copies
        ):
            bins = previous.bins + seg.bins
            log2 = (previous.log2 * previous.bins + seg.log2 * seg.bins) / bins
            joined[-1] = CnvCall(seg.contig, previous.start, seg.end, copies, expected, log2, bins)
            continue
        joined.append(CnvCall(seg.contig, seg.start, seg.end, copies, expected, seg.log2, seg.bins))
    kept = [c for c in joined if c.bins >= settings.min_bins]
    return [
        CnvCall(
            c.contig,
            c.start,
            c.end,
            c.copies,
            c.expected,
            c.log2,
            c.bins,
            genes_overlapped(c.contig, c.start, c.end, genes),
            f"CNV{i}",
        )
        for i, c in enumerate(kept, 1)
    ]


# ---- VCF -----------------------------------------------------------------------------------
def _vcf_header(sample: str, contigs: Sequence[tuple[str, int]]) -> list[str]:
    return [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        "##source=helgenom.cnv (cnvkit segments)",
        *(f"##contig=<ID={name},length={length}>" for name, length in contigs),
        '##ALT=<ID=DEL,Description="Copy-number loss">',
        '##ALT=<ID=DUP,Description="Copy-number gain">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="DEL (loss) or DUP (gain)">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="Last base of the segment">',
        '##INFO=<ID=SVLEN,Number=1,Type=Integer,Description="Length (negative for a loss)">',
        '##INFO=<ID=LOG2,Number=1,Type=Float,Description="Segment log2 ratio (cnvkit)">',
        '##INFO=<ID=BINS,Number=1,Type=Integer,Description="Bins in the segment">',
        '##INFO=<ID=EXPECTED_CN,Number=1,Type=Integer,Description="Copies expected from the '
        "sample's sex (helgenom.cnv)\">",
        "##INFO=<ID=PANEL_GENES,Number=.,Type=String,Description=\"Genes of the sample's panel "
        'the segment overlaps (helgenom.cnv)">',
        '##FORMAT=<ID=CN,Number=1,Type=Integer,Description="Copy number">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample]
        ),
    ]


def read_fai(fai: str | Path) -> list[tuple[str, int]]:
    """(contig, length) of a FASTA index."""
    rows = []
    for line in Path(fai).read_text().splitlines():
        name, length = line.split("\t")[:2]
        rows.append((name, int(length)))
    return rows


def write_cnv_vcf(
    calls: Sequence[CnvCall],
    out_vcf: str | Path,
    sample: str,
    contigs: Sequence[tuple[str, int]],
) -> None:
    """The calls as VCF records (bgzipped, tabix-indexed, in the reference's contig order):
    symbolic <DEL>/<DUP>, POS the base before the segment (REF N), FORMAT CN."""
    order = {name: i for i, (name, _) in enumerate(contigs)}
    rows = []
    for c in sorted(calls, key=lambda c: (order.get(c.contig, len(order)), c.start)):
        info = [
            f"SVTYPE={c.svtype}",
            f"END={c.end}",
            f"SVLEN={-c.size if c.kind == 'loss' else c.size}",
            f"LOG2={c.log2:.4f}",
            f"BINS={c.bins}",
            f"EXPECTED_CN={c.expected}",
        ]
        if c.genes:
            info.append(f"PANEL_GENES={','.join(c.genes)}")
        rows.append(
            f"{c.contig}\t{max(c.start, 1)}\t{c.record_id}\tN\t<{c.svtype}>\t.\tPASS\t"
            f"{';'.join(info)}\tCN\t{c.copies}"
        )
    out_vcf = Path(out_vcf)
    tbi = out_vcf.with_name(out_vcf.name + ".tbi")
    with atomic_paths(out_vcf, tbi) as (tmp, tmp_tbi):
        plain = tmp.with_name(tmp.name + ".vcf")
        plain.write_text("\n".join(_vcf_header(sample, contigs) + rows) + "\n")
        pysam.tabix_compress(str(plain), str(tmp), force=True)
        plain.unlink()
        pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_tbi))


def read_cnv_vcf(path: str | Path) -> list[CnvCall]:
    """The calls of a results/cnv/<sample>.vcf.gz."""
    calls = []
    with pysam.VariantFile(str(path)) as vcf:
        for r in vcf:
            genes = tuple(r.info["PANEL_GENES"]) if "PANEL_GENES" in r.info else ()
            calls.append(
                CnvCall(
                    r.contig,
                    r.pos if r.pos > 1 else 0,
                    int(r.stop),
                    int(r.samples[0]["CN"]),
                    int(r.info["EXPECTED_CN"]),
                    float(r.info["LOG2"]),
                    int(r.info["BINS"]),
                    genes,
                    r.id or ".",
                )
            )
    return calls


# ---- summary and QC ------------------------------------------------------------------------
def summarise_cnv(
    sample: str,
    calls: Sequence[CnvCall],
    segments: Sequence[Segment],
    settings: CnvSettings,
    *,
    normals: int | None = None,
) -> dict[str, Any]:
    """The per-sample summary (results/cnv/<sample>.cnv.json): counts of losses and gains,
    the calls (each with the panel genes it overlaps), a one-line interpretation, the spread
    of the bins' noise (median absolute deviation of the segments' log2, weighted by bins) and
    the settings."""
    counts = {k: sum(c.kind == k for c in calls) for k in CNV_KINDS}
    in_panel = [c for c in calls if c.genes]
    if in_panel:
        genes = sorted({g for c in in_panel for g in c.genes})
        interpretation = (
            f"{len(in_panel)} copy-number variant(s) overlap panel genes ({', '.join(genes)})"
        )
    else:
        interpretation = "No copy-number variant overlaps a panel gene"
    return {
        "sample_id": sample,
        "assessed": True,
        "interpretation": interpretation,
        "counts": counts,
        "total": len(calls),
        "calls": [c.as_dict() for c in calls],
        "panel_calls": [c.as_dict() for c in in_panel],
        "segments": len(segments),
        "bins": sum(s.bins for s in segments),
        "normals": normals,
        "settings": settings.as_dict(),
    }


def not_assessed(sample: str, reason: str, settings: CnvSettings) -> dict[str, Any]:
    """The summary of a sample whose copy number was not assessed (cnv.enabled false)."""
    return {
        "sample_id": sample,
        "assessed": False,
        "interpretation": f"Copy number not assessed: {reason}",
        "counts": {k: 0 for k in CNV_KINDS},
        "total": 0,
        "calls": [],
        "panel_calls": [],
        "segments": 0,
        "bins": 0,
        "normals": None,
        "settings": settings.as_dict(),
    }


def write_cnv_mqc(summaries: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """A MultiQC custom-content table: each sample's losses, gains and panel hits."""
    write_mqc_table(
        path,
        table_id="helgenom_cnv",
        section_name="Copy-number variants",
        description="Copy-number losses and gains per sample from read depth (helgenom.cnv; "
        "cnvkit bins, CBS segments), and those overlapping the sample panel genes",
        columns=["Sample", "assessed", "losses", "gains", "total", "in panel genes", "segments"],
        rows=(
            [
                s["sample_id"],
                "yes" if s["assessed"] else "no",
                s["counts"]["loss"],
                s["counts"]["gain"],
                s["total"],
                len(s["panel_calls"]),
                s["segments"],
            ]
            for s in summaries
        ),  # fmt: skip
    )


# ---- truth ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TruthCnv:
    """A planted copy-number change: 0-based half-open [start, end), its copies."""

    contig: str
    start: int
    end: int
    copies: int


def read_cnv_truth(path: str | Path) -> list[TruthCnv]:
    """A truth file (BED: contig, start, end, copy number)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        contig, start, end, copies = line.split("\t")[:4]
        rows.append(TruthCnv(contig, int(start), int(end), int(copies)))
    return rows


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    shared = min(a_end, b_end) - max(a_start, b_start)
    return max(shared, 0) / max(a_end - a_start, b_end - b_start, 1)


@dataclass(frozen=True)
class CnvComparison:
    """Truth vs calls: each truth event with the call that found it (or None) and whether
    the copies agree; the calls overlapping no truth event."""

    found: list[tuple[TruthCnv, CnvCall | None]]
    extra: list[CnvCall]
    below_resolution: list[TruthCnv]

    @property
    def right_copies(self) -> int:
        return sum(c is not None and c.copies == t.copies for t, c in self.found)


def compare_cnv(
    truth: Sequence[TruthCnv],
    calls: Sequence[CnvCall],
    *,
    min_size: int = 0,
    min_overlap: float = 0.5,
) -> CnvComparison:
    """Match each truth event of at least ``min_size`` bp (the smaller ones are below the
    bins' resolution: listed, not required) to the call of most reciprocal overlap (at least
    ``min_overlap``); a call overlapping no truth event at all is extra (a false call)."""
    found: list[tuple[TruthCnv, CnvCall | None]] = []
    small: list[TruthCnv] = []
    for t in truth:
        if t.end - t.start < min_size:
            small.append(t)
            continue
        best = max(
            (c for c in calls if c.contig == t.contig),
            key=lambda c: _overlap(t.start, t.end, c.start, c.end),
            default=None,
        )
        if best is None or _overlap(t.start, t.end, best.start, best.end) < min_overlap:
            best = None
        found.append((t, best))
    extra = [
        c
        for c in calls
        if not any(t.contig == c.contig and t.start < c.end and c.start < t.end for t in truth)
    ]
    return CnvComparison(found, extra, small)
