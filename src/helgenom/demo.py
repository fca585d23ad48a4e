"""Deterministic synthetic demo data for the helgenom quick start.

``generate_demo`` writes, from nothing but a seed, everything a pipeline run needs:

* ``reference/demo.fa`` (+ ``.fai``): two contigs of random sequence whose GC content varies in
  blocks, with planted tandem repeats (STRs) and segmental duplicates. The repeat intervals are
  written to ``reference/demo.repeats.bed``.
* ``truth/<sample_id>.truth.vcf.gz`` (+ ``.tbi``): per-sample planted SNVs and indels (VCFv4.2,
  left-aligned and normalised like ``bcftools norm -f``), and ``truth/confident.bed``: the
  genome minus padded repeats and contig ends, where every truth variant lies.
* ``fastq/<sample_id>_<unit_id>_R{1,2}.fastq.gz``: Illumina-like paired-end reads simulated
  from the two haplotypes of each sample, with position-dependent substitution errors and
  matching base qualities.
* ``truth/<sample_id>.roh.bed``: the runs of homozygosity planted in the sample (every planted
  variant inside is hom-alt); DEMO002 has one over 60 kb of demo2.
* a mitochondrial contig ``chrM`` in the reference (a 5 kb random stand-in for the 16,569 bp
  of the human chrM, to keep the demo fast), read at 20x the nuclear depth (mtDNA has many
  copies per cell), with planted heteroplasmic SNVs (e.g. 10%, 50% and 100% of the molecules);
  ``truth/<sample_id>.mito.tsv`` lists them (contig, pos, ref, alt, af).
* ``truth/<sample_id>.sv.vcf``: the structural variants planted in the sample (VCFv4.2,
  symbolic alleles; DEMO001: a homozygous 2 kb deletion, a heterozygous 4 kb tandem
  duplication, a heterozygous 4 kb inversion and a heterozygous balanced translocation between
  demo1 and demo2; DEMO002 none). Planted small variants inside a deletion or within
  ``SV_BREAKPOINT_PAD`` bp of a breakpoint are left out of that sample (and its truth).
* a trio: DEMO001 is the child of DEMO003 and DEMO004 (family DEMOFAM1): one haplotype from
  each parent (one crossover per contig), two planted de novo SNVs (one in the panel gene
  DEMOB) and a compound heterozygote in DEMOA (a paternal and a maternal SNV);
  ``truth/<family>.trio.tsv`` lists the child's variants with how each was inherited.
* ``truth/<sample_id>.cnv.bed``: every copy-number change planted in the sample (contig,
  start, end, copies): DEMO002's planted CNVs (a heterozygous 10 kb deletion over the panel
  gene DEMOA, a homozygous 8 kb deletion, a 12 kb duplication on one haplotype and a 10 kb one
  on both: CN1, CN0, CN3, CN4; written to its SV truth too) and DEMO001's SV deletion and
  duplication (2 and 4 kb: below the CNV bins' resolution).
* ``samples.tsv`` (with family, father, mother, affected) and ``units.tsv`` (FASTQ paths
  relative to the directory of ``units.tsv``).

Only numpy and pysam are used. The same seed always gives byte-identical files, and every file
is written to a temporary name in its final directory and then renamed, so an interrupted run
never leaves a half-written file behind.

`helgenom demo-data` writes the data alone; `helgenom demo` runs the pipeline on it.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pysam
from numpy.typing import NDArray

from helgenom.fileio import atomic_paths, atomic_write_text
from helgenom.paths import package_path
from helgenom.report.panels import read_panel_bed

__all__ = [
    "DEFAULT_SAMPLES",
    "DEMO_DATA_VERSION",
    "DemoCNV",
    "DemoData",
    "DemoSample",
    "MitoVariant",
    "generate_demo",
    "read_mito_truth",
    "unit_ids",
]

#: Bases are held as uint8 codes 0..3 = A, C, G, T; the complement of code ``c`` is ``3 - c``.
BASES = b"ACGT"
_CODE_TO_ASCII = np.frombuffer(BASES, dtype=np.uint8)

# What the demo data hold, written to demo/.complete by `helgenom demo`: data of another
# version are generated again. 2: DEMO002 carries a planted run of homozygosity. 3: a chrM
# contig with planted heteroplasmic variants; DEMO001 carries planted structural variants.
# 4: the trio DEMOFAM1 (DEMO001 and its parents DEMO003, DEMO004), the samples drawn from
# one population. 5: DEMO002 carries planted copy-number changes (CN0, CN1, CN3, CN4).
DEMO_DATA_VERSION = "5"
CONTIG_NAMES: tuple[str, str] = ("demo1", "demo2")  # the nuclear contigs
# The mitochondrial contig: after the nuclear ones in the reference, its reads appended to the
# nuclear reads of each unit (the nuclear reads are those of demo data version 2).
MITO_CONTIG = "chrM"
MITO_LENGTH = 5_000
MITO_GC = 0.44  # the human chrM's
MITO_DEPTH_FACTOR = 20  # chrM depth over the nuclear depth (blood WGS: ~30-150x)
MITO_MOLECULES = 20  # distinct mtDNA molecules simulated: AFs are multiples of 1/20
MITO_END_MARGIN = 1_000  # no planted variant this close to an end of the (linear) contig
MITO_SPACING = 200
FASTA_LINE_WIDTH = 60
END_MARGIN = 300  # no variants (and not confident) within this many bp of a contig end
REPEAT_PAD = 150  # repeats are padded by this much when removed from the confident regions
VARIANT_SPACING = 30  # minimum distance between two planted variants
SNV_RATE = 1 / 1000
INDEL_RATE = 1 / 8000
MAX_INDEL = 10
MAX_HOMOPOLYMER = 5  # indels never sit next to (or create) a homopolymer run longer than this
HOM_ALT_FRACTION = 1 / 3
# Allele frequencies of the demo population's variants (uniform): ~36 % of a sample's variants
# hom-alt (het/hom-alt ratio ~1.8).
POPULATION_AF = (0.3, 0.7)
FLOWCELL = "HDEMOXX1"
FRAGMENT_MEAN = 400.0
FRAGMENT_SD = 60.0
FRAGMENT_MIN = 250
FRAGMENT_MAX = 700
ERROR_RATE_START = 0.001  # substitution rate at the first base of a read ...
ERROR_RATE_END = 0.01  # ... rising log-linearly to this at the last base
TAIL_FRACTION = 0.04  # fraction of reads that end in a low-quality tail
MIN_GENOME_LENGTH = 30_000
SV_BREAKPOINT_PAD = 50  # no planted small variant this close to a planted SV's breakpoint


@dataclass(frozen=True)
class DemoSV:
    """A structural variant planted in a demo sample, positions as fractions of the contig's
    length: DEL, DUP (tandem) and INV span [start, end) of ``contig``; a BND is a balanced
    reciprocal translocation joining ``contig`` at ``start`` and ``contig2`` at ``end`` (the
    tails after both breakpoints are swapped). ``haps``: which haplotypes carry it."""

    svtype: str
    contig: int
    start: float
    end: float
    haps: tuple[bool, bool]
    contig2: int | None = None


@dataclass(frozen=True)
class DemoSample:
    """One synthetic sample: its samples.tsv row and how to simulate it."""

    sample_id: str
    priority: str
    sex: str
    indication: str
    units: int
    seed_offset: int
    # Planted runs of homozygosity: (contig index, start, end) as fractions of the contig's
    # length; both haplotypes carry the same alleles there, so every planted variant inside is
    # hom-alt (as in an uniparental isodisomy or an autozygous segment).
    roh: tuple[tuple[int, float, float], ...] = ()
    # samples.tsv's family columns; a sample with both parents among the samples is simulated
    # from them (one haplotype of each, plus planted de novo variants).
    family: str = ""
    father: str = ""
    mother: str = ""
    affected: str = ""
    # Planted mitochondrial SNVs: the fraction of the chrM molecules carrying each (heteroplasmy;
    # 1.0 homoplasmic), at random positions of the sample's own.
    mito: tuple[float, ...] = (0.1, 0.5, 1.0)
    svs: tuple[DemoSV, ...] = ()
    # Planted copy-number changes (issue 14 item 2), each made a DEL or tandem DUP on one or
    # both haplotypes (_cnv_svs): they are structural variants too (truth/<id>.sv.vcf).
    cnvs: tuple[DemoCNV, ...] = ()


@dataclass(frozen=True)
class DemoCNV:
    """A copy-number change planted in a demo sample over [start, end) of ``contig``
    (fractions of its length): ``copies`` 0 (homozygous deletion), 1 (heterozygous deletion),
    3 (tandem duplication on one haplotype) or 4 (on both)."""

    contig: int
    start: float
    end: float
    copies: int


# DEMO002's planted copy-number changes, on demo1 (its run of homozygosity is on demo2), each
# at least 8 bins of the demo's 1 kb CNV bins: a heterozygous 10 kb deletion over the panel
# gene DEMOA (demo1:18,000-28,000, CN1), a homozygous 8 kb deletion (demo1:40,000-48,000,
# CN0), a 12 kb duplication (demo1:60,000-72,000, CN3) and a 10 kb duplication on both
# haplotypes (demo1:100,000-110,000, CN4).
DEMO002_CNVS: tuple[DemoCNV, ...] = (
    DemoCNV(0, 18 / 150, 28 / 150, 1),
    DemoCNV(0, 40 / 150, 48 / 150, 0),
    DemoCNV(0, 60 / 150, 72 / 150, 3),
    DemoCNV(0, 100 / 150, 110 / 150, 4),
)


# DEMO001's planted SVs (on the 250 kb genome: demo1 is 150 kb, demo2 100 kb): a homozygous
# 2 kb deletion (demo1:50,000-52,000), a heterozygous 4 kb tandem duplication over the panel
# gene DEMOB (demo1:79,000-83,000), a heterozygous 4 kb inversion holding DEMOC
# (demo2:29,000-33,000), and a heterozygous translocation demo1:120,000 <-> demo2:65,000.
DEMO001_SVS: tuple[DemoSV, ...] = (
    DemoSV("DEL", 0, 50 / 150, 52 / 150, (True, True)),
    DemoSV("DUP", 0, 79 / 150, 83 / 150, (True, False)),
    DemoSV("INV", 1, 0.29, 0.33, (False, True)),
    DemoSV("BND", 0, 0.8, 0.65, (True, False), contig2=1),
)

DEFAULT_SAMPLES: tuple[DemoSample, ...] = (
    DemoSample(
        "DEMO001", "acute", "female", "demo: synthetic genome", 2, 1, svs=DEMO001_SVS,
        family="DEMOFAM1", father="DEMO003", mother="DEMO004", affected="affected",
    ),
    DemoSample(
        "DEMO002", "routine", "male", "demo: synthetic genome", 1, 2, ((1, 0.2, 0.8),),
        cnvs=DEMO002_CNVS,
    ),
    DemoSample(
        "DEMO003", "acute", "male", "demo: parent (no panel)", 1, 3,
        family="DEMOFAM1", affected="unaffected",
    ),
    DemoSample(
        "DEMO004", "acute", "female", "demo: parent (no panel)", 1, 4,
        family="DEMOFAM1", affected="unaffected",
    ),
)  # fmt: skip
# The planted trio: de novo SNVs in the child (one in the panel gene DEMOB), and a compound
# heterozygote in DEMOA: a paternal SNV in its first exon, a maternal one in its second.
DE_NOVO_GENES = ("DEMOB", None)  # None: anywhere in the genome
COMPOUND_GENE = "DEMOA"


@dataclass(frozen=True)
class MitoVariant:
    """A planted mitochondrial SNV: 1-based position, alleles, fraction of the molecules."""

    pos: int
    ref: str
    alt: str
    af: float


@dataclass(frozen=True)
class DemoData:
    """Paths of the files written by :func:`generate_demo`."""

    outdir: Path
    reference: Path
    samples_tsv: Path
    units_tsv: Path
    truth: dict[str, Path]
    confident_bed: Path
    roh: dict[str, Path]  # sample_id -> BED of its planted runs of homozygosity (maybe empty)
    trio: dict[str, Path]  # family -> TSV of the child's variants and their inheritance
    mito: dict[str, Path]  # sample_id -> TSV of its planted mitochondrial variants
    sv: dict[str, Path]  # sample_id -> VCF of its planted structural variants (maybe none)
    cnv: dict[str, Path]  # sample_id -> BED of its planted copy-number changes (maybe none)


@dataclass(frozen=True)
class _Repeat:
    contig: int  # index into the contig list
    start: int  # 0-based, half-open
    end: int
    name: str


@dataclass(frozen=True)
class _Variant:
    contig: int
    pos0: int  # 0-based position of the first REF base (the anchor base for indels)
    ref: str
    alt: str
    haps: tuple[bool, bool]  # which haplotypes carry the ALT allele

    @property
    def genotype(self) -> str:
        return "1/1" if all(self.haps) else "0/1"

    @property
    def kind(self) -> str:
        if len(self.ref) == len(self.alt):
            return "snv"
        return "ins" if len(self.alt) > len(self.ref) else "del"


@dataclass(frozen=True)
class _ReadPairs:
    """Simulated read pairs (codes and phred scores) plus where each pair came from."""

    seq1: NDArray[np.uint8]  # (n, read_length) base codes
    seq2: NDArray[np.uint8]
    qual1: NDArray[np.uint8]  # (n, read_length) phred scores
    qual2: NDArray[np.uint8]
    err1: NDArray[np.bool_]  # True where a sequencing error was introduced
    err2: NDArray[np.bool_]
    hap: NDArray[np.int64]  # haplotype (0/1) the fragment was drawn from
    contig: NDArray[np.int64]
    start: NDArray[np.int64]  # 0-based fragment start on that haplotype's contig
    frag_len: NDArray[np.int64]
    swapped: NDArray[np.bool_]  # True: R1 reads the reverse strand (fragment end)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible random stream for ``(seed, *stream)``."""
    return np.random.default_rng([seed, *stream])


def _decode(codes: NDArray[np.uint8]) -> str:
    return _CODE_TO_ASCII[codes].tobytes().decode("ascii")


def _encode(seq: str) -> NDArray[np.uint8]:
    lut = np.full(256, 255, dtype=np.uint8)
    lut[np.frombuffer(BASES, dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
    codes = lut[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
    if (codes == 255).any():
        raise ValueError(f"non-ACGT base in {seq!r}")
    return codes


def _max_run(seq: str) -> int:
    best = run = 0
    prev = ""
    for base in seq:
        run = run + 1 if base == prev else 1
        prev = base
        best = max(best, run)
    return best


def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text, encoding="ascii")


# --------------------------------------------------------------------------------------------
# reference
# --------------------------------------------------------------------------------------------


def _contig_lengths(genome_length: int) -> list[int]:
    first = round(genome_length * 0.6)
    return [first, genome_length - first]


def _random_bases(rng: np.random.Generator, n: int, gc: float) -> NDArray[np.uint8]:
    cum = np.cumsum([(1 - gc) / 2, gc / 2, gc / 2])
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.uint8)


def _place(
    rng: np.random.Generator,
    length: int,
    contig_len: int,
    taken: list[tuple[int, int]],
    gap: int,
) -> int | None:
    """A random start for an interval of ``length`` that keeps ``gap`` from ends and ``taken``."""
    lo, hi = END_MARGIN + REPEAT_PAD + gap, contig_len - END_MARGIN - REPEAT_PAD - gap - length
    if hi <= lo:
        return None
    for _ in range(1000):
        start = int(rng.integers(lo, hi))
        end = start + length
        if all(end + gap <= s or start >= e + gap for s, e in taken):
            return start
    return None


def _build_reference(
    rng: np.random.Generator, genome_length: int
) -> tuple[list[NDArray[np.uint8]], list[_Repeat]]:
    lengths = _contig_lengths(genome_length)

    # GC blocks of 5-20 kb; the GC values are stratified over [0.35, 0.60] and shuffled, so
    # both ends of the range are always represented.
    blocks: list[tuple[int, int]] = []  # (contig, block length)
    for ci, clen in enumerate(lengths):
        pos = 0
        while pos < clen:
            blen = min(int(rng.integers(5_000, 20_001)), clen - pos)
            blocks.append((ci, blen))
            pos += blen
    n_blocks = len(blocks)
    gcs = 0.35 + 0.25 * (np.arange(n_blocks) + rng.random(n_blocks)) / n_blocks
    gcs = rng.permutation(gcs)
    parts: list[list[NDArray[np.uint8]]] = [[] for _ in lengths]
    for (ci, blen), gc in zip(blocks, gcs, strict=True):
        parts[ci].append(_random_bases(rng, blen, float(gc)))
    contigs = [np.concatenate(p) for p in parts]

    repeats: list[_Repeat] = []
    taken: list[list[tuple[int, int]]] = [[] for _ in lengths]

    # Segmental duplicates: a 1-2 kb segment copied elsewhere with 1-2% substitutions.
    n_segdups = 3 if genome_length >= 150_000 else 2
    for i in range(1, n_segdups + 1):
        seg_len = int(rng.integers(1_000, 2_001))
        src_c = int(rng.integers(len(lengths)))
        src = _place(rng, seg_len, lengths[src_c], taken[src_c], 500)
        if src is None:
            continue
        taken[src_c].append((src, src + seg_len))
        dst_c = int(rng.integers(len(lengths)))
        dst = _place(rng, seg_len, lengths[dst_c], taken[dst_c], 500)
        if dst is None:
            taken[src_c].pop()
            continue
        taken[dst_c].append((dst, dst + seg_len))
        copy = contigs[src_c][src : src + seg_len].copy()
        divergence = float(rng.uniform(0.01, 0.02))
        hit = rng.random(seg_len) < divergence
        copy[hit] = (copy[hit] + rng.integers(1, 4, int(hit.sum()))) % 4
        contigs[dst_c][dst : dst + seg_len] = copy
        repeats.append(_Repeat(src_c, src, src + seg_len, f"SEGDUP{i}:source"))
        repeats.append(_Repeat(dst_c, dst, dst + seg_len, f"SEGDUP{i}:copy"))

    # Tandem repeats: 2-6 bp units (at least two distinct bases), 20-60 copies.
    for ci, clen in enumerate(lengths):
        for _ in range(max(2, round(clen / 40_000))):
            unit_len = int(rng.integers(2, 7))
            unit = rng.integers(0, 4, unit_len).astype(np.uint8)
            while np.all(unit == unit[0]):
                unit = rng.integers(0, 4, unit_len).astype(np.uint8)
            copies = int(rng.integers(20, 61))
            length = unit_len * copies
            start = _place(rng, length, clen, taken[ci], 300)
            if start is None:
                continue
            taken[ci].append((start, start + length))
            contigs[ci][start : start + length] = np.tile(unit, copies)
            repeats.append(_Repeat(ci, start, start + length, f"STR:{_decode(unit)}x{copies}"))

    repeats.sort(key=lambda r: (r.contig, r.start))
    return contigs, repeats


def _confident_masks(lengths: Sequence[int], repeats: Sequence[_Repeat]) -> list[NDArray[np.bool_]]:
    masks = []
    for ci, clen in enumerate(lengths):
        mask = np.zeros(clen, dtype=bool)
        mask[END_MARGIN : clen - END_MARGIN] = True
        for r in repeats:
            if r.contig == ci:
                mask[max(0, r.start - REPEAT_PAD) : r.end + REPEAT_PAD] = False
        masks.append(mask)
    return masks


def _mask_intervals(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


# --------------------------------------------------------------------------------------------
# truth variants
# --------------------------------------------------------------------------------------------


def _indel_candidate(
    rng: np.random.Generator, seq: str, p: int, kind: str
) -> tuple[str, str] | None:
    """REF/ALT for an indel anchored at ``p`` if it is already left-aligned and clean."""
    size = int(rng.integers(1, MAX_INDEL + 1))
    if kind == "del":
        ref, alt = seq[p : p + size + 1], seq[p]
        # A deletion can move left iff its last deleted base equals the anchor base.
        if ref[-1] == ref[0]:
            return None
        edited = seq[p - 10 : p + 1] + seq[p + size + 1 : p + size + 11]
    else:
        ins = _decode(rng.integers(0, 4, size).astype(np.uint8))
        # An insertion can move left iff its last base equals the anchor base.
        if ins[-1] == seq[p]:
            return None
        ref, alt = seq[p], seq[p] + ins
        edited = seq[p - 10 : p + 1] + ins + seq[p + 1 : p + 11]
    context = seq[p - 10 : p + size + 11]
    if max(_max_run(edited), _max_run(context)) > MAX_HOMOPOLYMER:
        return None
    return ref, alt


def _plant_variants(
    rng: np.random.Generator,
    contigs: Sequence[NDArray[np.uint8]],
    masks: Sequence[NDArray[np.bool_]],
    rate_factor: float = 1.0,
) -> list[_Variant]:
    variants: list[_Variant] = []
    for ci, (codes, allowed) in enumerate(zip(contigs, masks, strict=True)):
        seq = _decode(codes)
        positions = np.flatnonzero(allowed)
        occupied = np.zeros(len(seq), dtype=bool)
        n_allowed = len(positions)
        n_indel = max(2, int(rng.poisson(n_allowed * INDEL_RATE * rate_factor)))
        n_snv = max(2, int(rng.poisson(n_allowed * SNV_RATE * rate_factor)))
        first_kind = int(rng.integers(2))
        kinds = [("ins", "del")[(i + first_kind) % 2] for i in range(n_indel)] + ["snv"] * n_snv

        for kind in kinds:
            for _attempt in range(10_000):
                p = int(positions[int(rng.integers(n_allowed))])
                if kind == "snv":
                    ref = seq[p]
                    alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
                    pair: tuple[str, str] | None = (ref, alt)
                else:
                    pair = _indel_candidate(rng, seq, p, kind)
                if pair is None:
                    continue
                span_end = p + len(pair[0])
                if not allowed[p:span_end].all() or occupied[p:span_end].any():
                    continue
                occupied[max(0, p - VARIANT_SPACING) : span_end + VARIANT_SPACING] = True
                if rng.random() < HOM_ALT_FRACTION:
                    haps = (True, True)
                else:
                    haps = (True, False) if rng.integers(2) == 0 else (False, True)
                variants.append(_Variant(ci, p, pair[0], pair[1], haps))
                break
    variants.sort(key=lambda v: (v.contig, v.pos0))
    return variants


def _population(
    rng: np.random.Generator,
    contigs: Sequence[NDArray[np.uint8]],
    masks: Sequence[NDArray[np.bool_]],
) -> list[tuple[_Variant, float]]:
    """The demo population's variant sites, each with an allele frequency in POPULATION_AF:
    the samples share them, as people share common variants (which relatedness estimators
    such as KING rely on), at the per-sample density of SNV_RATE and INDEL_RATE."""
    low, high = POPULATION_AF
    carriers = 1 - ((1 - low) ** 3 - (1 - high) ** 3) / (3 * (high - low))  # mean 1-(1-p)^2
    sites = _plant_variants(rng, contigs, masks, rate_factor=1 / carriers)
    return [(v, float(rng.uniform(low, high))) for v in sites]


def _draw_genotypes(
    rng: np.random.Generator, population: Sequence[tuple[_Variant, float]]
) -> list[_Variant]:
    """One sample's variants: each haplotype carries a site's allele with its frequency."""
    out = []
    for variant, af in population:
        haps = (bool(rng.random() < af), bool(rng.random() < af))
        if any(haps):
            out.append(replace(variant, haps=haps))
    return out


def _autozygous(
    variants: Sequence[_Variant], segments: Sequence[tuple[int, int, int]]
) -> list[_Variant]:
    """`variants` with those inside a planted ROH segment made hom-alt."""

    def inside(v: _Variant) -> bool:
        return any(ci == v.contig and start <= v.pos0 < end for ci, start, end in segments)

    return [replace(v, haps=(True, True)) if inside(v) else v for v in variants]


def _panel_regions() -> list[tuple[int, int, int, str]]:
    """(contig index, start, end, gene) of the demo panel's nuclear regions."""
    return [
        (CONTIG_NAMES.index(r.contig), r.start, r.end, r.gene)
        for r in read_panel_bed(package_path("panels", "demo-synthetic.bed"))
        if r.contig in CONTIG_NAMES
    ]


def _panel_exons(gene: str, contigs: Sequence[NDArray[np.uint8]]) -> list[tuple[int, int, int]]:
    """`gene`'s regions; on a demo genome too short to hold one, its contig's body instead."""
    out = []
    for ci, start, end, name in _panel_regions():
        if name == gene:
            if end > len(contigs[ci]) - END_MARGIN:
                start, end = END_MARGIN, len(contigs[ci]) - END_MARGIN
            out.append((ci, start, end))
    return out


def _free_position(
    rng: np.random.Generator,
    masks: Sequence[NDArray[np.bool_]],
    taken: Sequence[_Variant],
    ci: int,
    start: int,
    end: int,
) -> int:
    """A random confident position in [start, end) of contig `ci` away from `taken`."""
    near = np.zeros(end - start, dtype=bool)
    for v in taken:
        if v.contig == ci:
            a = max(start, v.pos0 - VARIANT_SPACING)
            b = min(end, v.pos0 + len(v.ref) + VARIANT_SPACING)
            if a < b:
                near[a - start : b - start] = True
    free = np.flatnonzero(masks[ci][start:end] & ~near)
    if not len(free):
        raise ValueError(f"no free confident position on contig {ci} in {start}-{end}")
    return start + int(free[int(rng.integers(len(free)))])


def _snv(
    rng: np.random.Generator, contigs: Sequence[NDArray[np.uint8]], ci: int, p: int,
    haps: tuple[bool, bool],
) -> _Variant:  # fmt: skip
    ref = _decode(contigs[ci][p : p + 1])
    alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
    return _Variant(ci, p, ref, alt, haps)


def _simulate_trio(
    rng: np.random.Generator,
    contigs: Sequence[NDArray[np.uint8]],
    masks: Sequence[NDArray[np.bool_]],
    father: Sequence[_Variant],
    mother: Sequence[_Variant],
) -> tuple[list[_Variant], list[_Variant], list[_Variant], list[_Variant]]:
    """The parents' variants (one planted SNV each in COMPOUND_GENE) and the child's: one
    haplotype of each parent (one crossover per contig) plus de novo SNVs. Returns (father,
    mother, child, de novo)."""
    mother = list(mother)
    father = list(father)
    # Which haplotype each parent transmits: per contig, `first` before the crossover.
    crossings = {
        parent: [(int(rng.integers(len(c))), int(rng.integers(2))) for c in contigs]
        for parent in ("father", "mother")
    }

    def transmitted(parent: str, v: _Variant) -> int:
        crossover, first = crossings[parent][v.contig]
        return first if v.pos0 < crossover else 1 - first

    # The compound heterozygote: a paternal SNV in the gene's first region, a maternal one in
    # its second, each on the haplotype its parent transmits.
    exons = _panel_exons(COMPOUND_GENE, contigs)
    for parent, variants, (ci, start, end) in (
        ("father", father, exons[0]),
        ("mother", mother, exons[1]),
    ):
        p = _free_position(rng, masks, father + mother, ci, start, end)
        probe = _Variant(ci, p, "N", "N", (False, False))
        hap = transmitted(parent, probe)
        variants.append(_snv(rng, contigs, ci, p, (hap == 0, hap == 1)))
    father.sort(key=lambda v: (v.contig, v.pos0))
    mother.sort(key=lambda v: (v.contig, v.pos0))
    # Both parents draw from one population: an allele both transmit is the child's twice.
    inherited: dict[tuple[int, int, str, str], _Variant] = {}
    for parent, variants, hap in (("father", father, 0), ("mother", mother, 1)):
        for v in variants:
            if v.haps[transmitted(parent, v)]:
                key = (v.contig, v.pos0, v.ref, v.alt)
                old = inherited.get(key)
                haps = (hap == 0 or (old is not None and old.haps[0]), hap == 1)
                inherited[key] = replace(v, haps=haps)
    child = list(inherited.values())
    de_novo = []
    for gene in DE_NOVO_GENES:
        if gene is None:
            ci = int(rng.integers(len(contigs)))
            start, end = END_MARGIN, len(contigs[ci]) - END_MARGIN
        else:
            ci, start, end = _panel_exons(gene, contigs)[0]
        p = _free_position(rng, masks, father + mother + de_novo, ci, start, end)
        hap = int(rng.integers(2))
        de_novo.append(_snv(rng, contigs, ci, p, (hap == 0, hap == 1)))
    child = sorted(child + de_novo, key=lambda v: (v.contig, v.pos0))
    return father, mother, child, de_novo


def _trio_truth(
    names: Sequence[str],
    father: Sequence[_Variant],
    mother: Sequence[_Variant],
    child: Sequence[_Variant],
) -> str:
    """truth/<family>.trio.tsv: the child's variants, the genotypes and the inheritance."""
    from helgenom.family import inheritance_pattern

    def alt_count(variants: Sequence[_Variant], v: _Variant) -> int:
        match = [
            w
            for w in variants
            if (w.contig, w.pos0, w.ref, w.alt) == (v.contig, v.pos0, v.ref, v.alt)
        ]
        return sum(match[0].haps) if match else 0

    genes = _panel_regions()
    rows = []
    for v in child:
        c, f, m = sum(v.haps), alt_count(father, v), alt_count(mother, v)
        gene = next((g for ci, a, b, g in genes if ci == v.contig and a <= v.pos0 < b), "")
        rows.append(
            [names[v.contig], v.pos0 + 1, v.ref, v.alt, c, f, m, inheritance_pattern(c, f, m), gene]
        )
    paternal = {r[8] for r in rows if r[8] and r[7] == "paternal" and r[4] == 1}
    maternal = {r[8] for r in rows if r[8] and r[7] == "maternal" and r[4] == 1}
    for r in rows:
        if r[8] in paternal & maternal and r[7] in ("paternal", "maternal"):
            r[7] = "compound_heterozygous"
    header = "chrom\tpos\tref\talt\tchild\tfather\tmother\tpattern\tgene\n"
    return header + "".join("\t".join(str(x) for x in r) + "\n" for r in rows)


def _plant_mito(
    rng: np.random.Generator, mito: NDArray[np.uint8], fractions: Sequence[float]
) -> list[MitoVariant]:
    """SNVs at random positions of the mitochondrial contig (away from its ends, apart from
    each other), carried by `fractions` of the molecules (rounded to 1/MITO_MOLECULES)."""
    taken: list[int] = []
    while len(taken) < len(fractions):
        pos0 = int(rng.integers(MITO_END_MARGIN, len(mito) - MITO_END_MARGIN))
        if all(abs(pos0 - t) >= MITO_SPACING for t in taken):
            taken.append(pos0)
    out = []
    for pos0, af in zip(taken, fractions, strict=True):
        ref = int(mito[pos0])
        alt = (ref + int(rng.integers(1, 4))) % 4
        carried = max(1, round(af * MITO_MOLECULES)) / MITO_MOLECULES
        out.append(MitoVariant(pos0 + 1, chr(BASES[ref]), chr(BASES[alt]), carried))
    return sorted(out, key=lambda v: v.pos)


def _mito_molecules(
    mito: NDArray[np.uint8], variants: Sequence[MitoVariant]
) -> list[list[NDArray[np.uint8]]]:
    """MITO_MOLECULES sequences of the contig (as ``[molecule][contig]`` for
    _simulate_pairs): a variant of fraction f is carried by the first f * MITO_MOLECULES."""
    molecules = []
    for k in range(MITO_MOLECULES):
        seq = mito.copy()
        for v in variants:
            if k < round(v.af * MITO_MOLECULES):
                seq[v.pos - 1] = BASES.index(v.alt.encode())
        molecules.append([seq])
    return molecules


def _haplotypes(
    contigs: Sequence[NDArray[np.uint8]], variants: Sequence[_Variant]
) -> list[list[NDArray[np.uint8]]]:
    """``[hap][contig]`` sequences with the ALT alleles of each haplotype applied."""
    haps: list[list[NDArray[np.uint8]]] = []
    for h in (0, 1):
        per_contig = []
        for ci, codes in enumerate(contigs):
            pieces: list[NDArray[np.uint8]] = []
            cursor = 0
            for v in variants:
                if v.contig != ci or not v.haps[h]:
                    continue
                pieces.append(codes[cursor : v.pos0])
                pieces.append(_encode(v.alt))
                cursor = v.pos0 + len(v.ref)
            pieces.append(codes[cursor:])
            per_contig.append(np.concatenate(pieces))
        haps.append(per_contig)
    return haps


# --------------------------------------------------------------------------------------------
# structural variants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlacedSV:
    svtype: str
    contig: int
    start: int  # 0-based: DEL/DUP/INV span [start, end); BND: the breakpoint on `contig` ...
    end: int  # ... and on `contig2` (the tails from these positions on are swapped)
    haps: tuple[bool, bool]
    contig2: int | None = None

    @property
    def genotype(self) -> str:
        return "1/1" if all(self.haps) else "0/1"

    def breakpoints(self) -> list[tuple[int, int]]:
        if self.svtype == "BND":
            assert self.contig2 is not None
            return [(self.contig, self.start), (self.contig2, self.end)]
        return [(self.contig, self.start), (self.contig, self.end)]


def _sv_coordinates(sample: DemoSample, lengths: Sequence[int]) -> list[_PlacedSV]:
    """A sample's planted SVs in bases, checked: on the contigs, clear of the contig ends and
    of each other, and at most one translocation, with the other SVs before its breakpoints."""
    placed: list[_PlacedSV] = []
    for sv in sample.svs:
        where = f"{sample.sample_id}: {sv.svtype} {sv}"
        if sv.svtype not in ("DEL", "DUP", "INV", "BND") or not any(sv.haps):
            raise ValueError(f"{where}: the type must be DEL, DUP, INV or BND, on a haplotype")
        c2 = sv.contig2 if sv.svtype == "BND" else sv.contig
        if c2 is None or not (0 <= sv.contig < len(lengths) and 0 <= c2 < len(lengths)):
            raise ValueError(f"{where}: not on the demo contigs")
        start = round(sv.start * lengths[sv.contig])
        end = round(sv.end * lengths[c2])
        if sv.svtype == "BND" and c2 == sv.contig:
            raise ValueError(f"{where}: a translocation joins two contigs")
        if sv.svtype != "BND" and end - start < 50:
            raise ValueError(f"{where}: shorter than 50 bp")
        placed.append(_PlacedSV(sv.svtype, sv.contig, start, end, sv.haps, sv.contig2))
    for sv in placed:
        for ci, pos in sv.breakpoints():
            if not END_MARGIN <= pos <= lengths[ci] - END_MARGIN:
                raise ValueError(f"{sample.sample_id}: {sv} is within {END_MARGIN} bp of an end")
    spans = sorted((s.contig, s.start, s.end) for s in placed if s.svtype != "BND")
    for a, b in zip(spans, spans[1:], strict=False):
        if a[0] == b[0] and b[1] < a[2] + 2 * SV_BREAKPOINT_PAD:
            raise ValueError(f"{sample.sample_id}: planted SVs {a} and {b} overlap")
    bnds = [s for s in placed if s.svtype == "BND"]
    if len(bnds) > 1:
        raise ValueError(f"{sample.sample_id}: at most one translocation can be planted")
    for bnd in bnds:
        for ci, pos in bnd.breakpoints():
            if any(c == ci and e + SV_BREAKPOINT_PAD > pos for c, _, e in spans):
                raise ValueError(
                    f"{sample.sample_id}: SVs on a translocated contig must lie before the "
                    "translocation's breakpoint"
                )
    return placed


def _clear_sv_breakpoints(variants: Sequence[_Variant], svs: Sequence[_PlacedSV]) -> list[_Variant]:
    """`variants` without those inside a planted deletion or near a planted breakpoint."""

    def clear(v: _Variant) -> bool:
        v_end = v.pos0 + len(v.ref)
        for sv in svs:
            if (
                sv.svtype == "DEL"
                and sv.contig == v.contig
                and v_end > sv.start
                and v.pos0 < sv.end
            ):
                return False
            for ci, pos in sv.breakpoints():
                if (
                    ci == v.contig
                    and pos - SV_BREAKPOINT_PAD < v_end
                    and v.pos0 < pos + SV_BREAKPOINT_PAD
                ):
                    return False
        return True

    return [v for v in variants if clear(v)]


def _apply_svs(
    haplotypes: list[list[NDArray[np.uint8]]],
    variants: Sequence[_Variant],
    svs: Sequence[_PlacedSV],
) -> list[list[NDArray[np.uint8]]]:
    """The haplotypes (small variants applied) with the planted SVs applied: the translocation
    first (it swaps the tails after its breakpoints), then the other SVs from right to left, so
    each one's haplotype coordinates (reference ones shifted by the small indels before them)
    stay valid."""

    def hap_pos(h: int, ci: int, pos: int) -> int:
        return pos + sum(
            len(v.alt) - len(v.ref)
            for v in variants
            if v.contig == ci and v.haps[h] and v.pos0 < pos
        )

    out = [list(hap) for hap in haplotypes]
    for h in (0, 1):
        mine = [sv for sv in svs if sv.haps[h]]
        for sv in (s for s in mine if s.svtype == "BND"):
            assert sv.contig2 is not None
            a, b = sv.contig, sv.contig2
            x, y = hap_pos(h, a, sv.start), hap_pos(h, b, sv.end)
            seq_a, seq_b = out[h][a], out[h][b]
            out[h][a] = np.concatenate([seq_a[:x], seq_b[y:]])
            out[h][b] = np.concatenate([seq_b[:y], seq_a[x:]])
        spans = sorted((s for s in mine if s.svtype != "BND"), key=lambda s: -s.start)
        for sv in spans:
            seq = out[h][sv.contig]
            s, e = hap_pos(h, sv.contig, sv.start), hap_pos(h, sv.contig, sv.end)
            if sv.svtype == "DEL":
                new = np.concatenate([seq[:s], seq[e:]])
            elif sv.svtype == "DUP":
                new = np.concatenate([seq[:e], seq[s:e], seq[e:]])
            else:  # INV: the segment's reverse complement
                new = np.concatenate([seq[:s], (3 - seq[s:e])[::-1], seq[e:]])
            out[h][sv.contig] = new.astype(np.uint8)
    return out


def _write_sv_truth(
    path: Path,
    sample_id: str,
    names: Sequence[str],
    contigs: Sequence[NDArray[np.uint8]],
    svs: Sequence[_PlacedSV],
) -> None:
    """The planted SVs as VCFv4.2 records with symbolic alleles (POS: the base before the
    event, as delly writes them); a translocation as its two junctions (breakend notation,
    with CHR2/POS2 as delly writes them)."""
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        "##source=helgenom.demo",
        "##reference=demo.fa",
        *(f"##contig=<ID={n},length={len(c)}>" for n, c in zip(names, contigs, strict=True)),
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=DUP,Description="Tandem duplication">',
        '##ALT=<ID=INV,Description="Inversion">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant">',
        '##INFO=<ID=SVLEN,Number=1,Type=Integer,Description="Length of the variant">',
        '##INFO=<ID=CHR2,Number=1,Type=String,Description="Contig of the other breakpoint">',
        '##INFO=<ID=POS2,Number=1,Type=Integer,Description="Position of the other breakpoint">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample_id]
        ),
    ]
    rows: list[tuple[int, int, str]] = []
    for i, sv in enumerate(svs, 1):
        name = f"{sv.svtype}{i}"
        if sv.svtype == "BND":
            assert sv.contig2 is not None
            a, b = sv.contig, sv.contig2
            # junctions: a[..x] joined to b[y+1..], and b[..y] joined to a[x+1..] (1-based)
            for (c, p, other, p2), suffix in (
                ((a, sv.start, b, sv.end), "_1"),
                ((b, sv.end, a, sv.start), "_2"),
            ):
                base = _decode(contigs[c][p - 1 : p])
                alt = f"{base}[{names[other]}:{p2 + 1}["
                info = f"SVTYPE=BND;CHR2={names[other]};POS2={p2}"
                rows.append(
                    (
                        c,
                        p,
                        f"{names[c]}\t{p}\t{name}{suffix}\t{base}\t{alt}\t.\tPASS\t"
                        f"{info}\tGT\t{sv.genotype}",
                    )
                )
            continue
        base = _decode(contigs[sv.contig][sv.start - 1 : sv.start])
        svlen = sv.end - sv.start
        info = f"SVTYPE={sv.svtype};END={sv.end};SVLEN={-svlen if sv.svtype == 'DEL' else svlen}"
        rows.append(
            (
                sv.contig,
                sv.start,
                f"{names[sv.contig]}\t{sv.start}\t{name}\t{base}\t<{sv.svtype}>\t.\tPASS\t{info}"
                f"\tGT\t{sv.genotype}",
            )
        )
    rows.sort()
    _write_text(path, "\n".join(header + [r for *_, r in rows]) + "\n")


def _cnv_svs(sample: DemoSample) -> tuple[DemoSV, ...]:
    """A sample's planted copy-number changes as the deletions and tandem duplications that
    make them: CN0 a deletion on both haplotypes, CN1 on one, CN3 a duplication on one, CN4
    on both."""
    haps = {0: (True, True), 1: (True, False), 3: (True, False), 4: (True, True)}
    out = []
    for cnv in sample.cnvs:
        if cnv.copies not in haps:
            raise ValueError(f"{sample.sample_id}: {cnv}: copies must be 0, 1, 3 or 4")
        kind = "DEL" if cnv.copies < 2 else "DUP"
        out.append(DemoSV(kind, cnv.contig, cnv.start, cnv.end, haps[cnv.copies]))
    return tuple(out)


def _write_cnv_truth(path: Path, names: Sequence[str], svs: Sequence[_PlacedSV]) -> None:
    """Every planted copy-number change of a sample (its deletions and tandem duplications,
    planted as SVs or as CNVs) as BED: contig, start, end, copy number."""
    rows = sorted(
        (sv.contig, sv.start, sv.end, 2 + (1 if sv.svtype == "DUP" else -1) * sum(sv.haps))
        for sv in svs
        if sv.svtype in ("DEL", "DUP")
    )
    _write_text(path, "".join(f"{names[c]}\t{s}\t{e}\t{cn}\n" for c, s, e, cn in rows))


# --------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------


def _error_profile(read_length: int) -> NDArray[np.float64]:
    frac = np.arange(read_length) / max(1, read_length - 1)
    return ERROR_RATE_START * (ERROR_RATE_END / ERROR_RATE_START) ** frac


def _sequence_errors(
    rng: np.random.Generator, reads: NDArray[np.uint8]
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.bool_]]:
    """Add substitution errors; return (reads, phred qualities, error mask)."""
    n, length = reads.shape
    frac = np.arange(length) / max(1, length - 1)
    err = rng.random((n, length)) < _error_profile(length)[None, :]

    # Good bases: high quality that drifts down along the read. Error bases: Q2-12.
    good_q = np.rint(rng.normal(38.0 - 6.0 * frac, 2.0, (n, length)))
    qual = np.clip(good_q, 20, 41).astype(np.uint8)
    qual[err] = rng.integers(2, 13, int(err.sum())).astype(np.uint8)

    # A few reads end in a low-quality tail (Q5-15) whose errors follow their quality.
    has_tail = rng.random(n) < TAIL_FRACTION
    tail_start = rng.integers(int(0.7 * length), length, n)
    tail = has_tail[:, None] & (np.arange(length)[None, :] >= tail_start[:, None])
    n_tail = int(tail.sum())
    tail_q = rng.integers(5, 16, n_tail).astype(np.uint8)
    qual[tail] = tail_q
    err[tail] = rng.random(n_tail) < 10.0 ** (-tail_q / 10.0)

    out = reads.copy()
    n_err = int(err.sum())
    out[err] = (out[err] + rng.integers(1, 4, n_err)) % 4
    return out.astype(np.uint8), qual, err


def _simulate_pairs(
    rng: np.random.Generator,
    haplotypes: Sequence[Sequence[NDArray[np.uint8]]],
    n_pairs: int,
    read_length: int,
) -> _ReadPairs:
    """Simulate ``n_pairs`` read pairs from ``haplotypes[hap][contig]`` (vectorised)."""
    n_haps, n_contigs = len(haplotypes), len(haplotypes[0])
    flat = np.concatenate([c for hap in haplotypes for c in hap])
    lens = np.array([[len(c) for c in hap] for hap in haplotypes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens.ravel())[:-1]]).reshape(lens.shape)

    hap = rng.integers(0, n_haps, n_pairs)
    contig = rng.choice(n_contigs, size=n_pairs, p=lens[0] / lens[0].sum())
    lo, hi = max(FRAGMENT_MIN, read_length), max(FRAGMENT_MAX, read_length)
    frag = np.clip(np.rint(rng.normal(FRAGMENT_MEAN, FRAGMENT_SD, n_pairs)), lo, hi)
    frag = np.minimum(frag.astype(np.int64), lens[hap, contig])
    start = (rng.random(n_pairs) * (lens[hap, contig] - frag + 1)).astype(np.int64)
    swapped = rng.random(n_pairs) < 0.5

    base = offsets[hap, contig] + start
    cols = np.arange(read_length)
    fwd = flat[base[:, None] + cols[None, :]]
    rev = 3 - flat[(base + frag - read_length)[:, None] + cols[None, ::-1]]
    r1 = np.where(swapped[:, None], rev, fwd).astype(np.uint8)
    r2 = np.where(swapped[:, None], fwd, rev).astype(np.uint8)
    seq1, qual1, err1 = _sequence_errors(rng, r1)
    seq2, qual2, err2 = _sequence_errors(rng, r2)
    return _ReadPairs(
        seq1, seq2, qual1, qual2, err1, err2, hap, contig.astype(np.int64), start, frag, swapped
    )


def _fastq_bytes(
    names: Sequence[bytes], seqs: NDArray[np.uint8], quals: NDArray[np.uint8], comment: bytes
) -> bytes:
    n, length = seqs.shape
    width = length + 1
    seq_rows = np.empty((n, width), dtype=np.uint8)
    seq_rows[:, :length] = _CODE_TO_ASCII[seqs]
    seq_rows[:, length] = ord("\n")
    qual_rows = np.empty((n, width), dtype=np.uint8)
    qual_rows[:, :length] = quals + 33
    qual_rows[:, length] = ord("\n")
    sb, qb = seq_rows.tobytes(), qual_rows.tobytes()
    parts: list[bytes] = []
    for i, name in enumerate(names):
        parts += [b"@", name, comment, sb[i * width : (i + 1) * width], b"+\n"]
        parts.append(qb[i * width : (i + 1) * width])
    return b"".join(parts)


def _write_gzip(path: Path, data: bytes) -> None:
    with atomic_paths(path) as (tmp,), open(tmp, "wb") as raw:
        # filename="" and mtime=0 keep the gzip header free of names and times.
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=4, mtime=0)
        with gz:
            gz.write(data)


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def _write_fasta(path: Path, names: Sequence[str], contigs: Sequence[NDArray[np.uint8]]) -> None:
    lines: list[str] = []
    for name, codes in zip(names, contigs, strict=True):
        seq = _decode(codes)
        lines.append(f">{name}")
        lines += [seq[i : i + FASTA_LINE_WIDTH] for i in range(0, len(seq), FASTA_LINE_WIDTH)]
    fai = path.with_name(path.name + ".fai")
    with atomic_paths(path, fai) as (tmp, tmp_fai):
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")
        pysam.faidx(str(tmp))  # writes <tmp>.fai
        os.replace(tmp.with_name(tmp.name + ".fai"), tmp_fai)


def _write_truth_vcf(
    path: Path,
    sample_id: str,
    names: Sequence[str],
    lengths: Sequence[int],
    variants: Sequence[_Variant],
) -> None:
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        "##source=helgenom.demo",
        "##reference=demo.fa",
        *(f"##contig=<ID={n},length={ln}>" for n, ln in zip(names, lengths, strict=True)),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample_id]
        ),
    ]
    records = [
        f"{names[v.contig]}\t{v.pos0 + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t.\tGT\t{v.genotype}"
        for v in variants
    ]
    tbi = path.with_name(path.name + ".tbi")
    with atomic_paths(path, tbi) as (tmp_gz, tmp_tbi):
        plain = tmp_gz.with_name(tmp_gz.name + ".vcf")
        try:
            plain.write_text("\n".join(header + records) + "\n", encoding="ascii")
            pysam.tabix_compress(str(plain), str(tmp_gz), force=True)
            pysam.tabix_index(str(tmp_gz), preset="vcf", force=True, index=str(tmp_tbi))
        finally:
            plain.unlink(missing_ok=True)


def _bed_text(rows: Sequence[tuple[str, int, int] | tuple[str, int, int, str]]) -> str:
    return "".join("\t".join(str(x) for x in row) + "\n" for row in rows)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def unit_ids(sample: DemoSample) -> list[str]:
    """Unit ids (flowcell.lane) of a demo sample, e.g. ``["HDEMOXX1.1", "HDEMOXX1.2"]``."""
    return [f"{FLOWCELL}.{lane}" for lane in range(1, sample.units + 1)]


def demo_paths(outdir: Path, samples: Sequence[DemoSample] = DEFAULT_SAMPLES) -> DemoData:
    """The paths of a demo data set under ``outdir`` (written or not), without generating it."""
    outdir = Path(outdir)
    return DemoData(
        outdir=outdir,
        reference=outdir / "reference" / "demo.fa",
        samples_tsv=outdir / "samples.tsv",
        units_tsv=outdir / "units.tsv",
        truth={s.sample_id: outdir / "truth" / f"{s.sample_id}.truth.vcf.gz" for s in samples},
        confident_bed=outdir / "truth" / "confident.bed",
        roh={s.sample_id: outdir / "truth" / f"{s.sample_id}.roh.bed" for s in samples},
        trio={
            s.family: outdir / "truth" / f"{s.family}.trio.tsv"
            for s in samples
            if s.father and s.mother
        },
        mito={s.sample_id: outdir / "truth" / f"{s.sample_id}.mito.tsv" for s in samples},
        sv={s.sample_id: outdir / "truth" / f"{s.sample_id}.sv.vcf" for s in samples},
        cnv={s.sample_id: outdir / "truth" / f"{s.sample_id}.cnv.bed" for s in samples},
    )


def generate_demo(
    outdir: Path,
    *,
    seed: int = 20261126,
    genome_length: int = 250_000,
    coverage: float = 30.0,
    samples: Sequence[DemoSample] = DEFAULT_SAMPLES,
    read_length: int = 150,
) -> DemoData:
    """Write the synthetic demo data set under ``outdir`` and return its paths."""
    if seed < 0:
        raise ValueError("seed must be non-negative")
    if genome_length < MIN_GENOME_LENGTH:
        raise ValueError(f"genome_length must be at least {MIN_GENOME_LENGTH}")
    if coverage <= 0:
        raise ValueError("coverage must be positive")
    if not 30 <= read_length <= FRAGMENT_MAX:
        raise ValueError(f"read_length must be between 30 and {FRAGMENT_MAX}")
    if not samples:
        raise ValueError("at least one sample is needed")
    ids = [s.sample_id for s in samples]
    if len(set(ids)) != len(ids):
        raise ValueError("sample ids must be unique")
    if any(s.units < 1 for s in samples):
        raise ValueError("every sample needs at least one unit")
    for s in samples:
        for ci, start, end in s.roh:
            if not (0 <= ci < len(CONTIG_NAMES) and 0 <= start < end <= 1):
                raise ValueError(f"{s.sample_id}: ROH ({ci}, {start}, {end}) is not on a contig")
        if bool(s.father) != bool(s.mother) or (s.father and not {s.father, s.mother} <= set(ids)):
            raise ValueError(
                f"{s.sample_id}: a simulated child needs both parents among the samples"
            )
        if s.father and s.roh:
            raise ValueError(f"{s.sample_id}: a simulated child cannot carry a planted ROH")

        if not all(0 < af <= 1 for af in s.mito):
            raise ValueError(f"{s.sample_id}: a mitochondrial variant's fraction is not in (0, 1]")

    outdir = Path(outdir)
    names = list(CONTIG_NAMES)
    contigs, repeats = _build_reference(_rng(seed, 0), genome_length)
    lengths = [len(c) for c in contigs]
    mito = _random_bases(_rng(seed, 0, 1), MITO_LENGTH, MITO_GC)

    reference = outdir / "reference" / "demo.fa"
    _write_fasta(reference, [*names, MITO_CONTIG], [*contigs, mito])
    _write_text(
        outdir / "reference" / "demo.repeats.bed",
        _bed_text([(names[r.contig], r.start, r.end, r.name) for r in repeats]),
    )

    masks = _confident_masks(lengths, repeats)
    confident_bed = outdir / "truth" / "confident.bed"
    _write_text(
        confident_bed,
        _bed_text([(names[ci], s, e) for ci, m in enumerate(masks) for s, e in _mask_intervals(m)]),
    )

    truth: dict[str, Path] = {}
    unit_rows: list[str] = []
    n_pairs_total = round(coverage * genome_length / (2 * read_length))
    n_mito_total = round(coverage * MITO_DEPTH_FACTOR * MITO_LENGTH / (2 * read_length))
    variants_of: dict[str, list[_Variant]] = {}
    population = _population(_rng(seed, 0, 2), contigs, masks)
    for sample in samples:
        roh = [(ci, round(a * lengths[ci]), round(b * lengths[ci])) for ci, a, b in sample.roh]
        variants_of[sample.sample_id] = _autozygous(
            _draw_genotypes(_rng(seed, sample.seed_offset, 1), population), roh
        )
        _write_text(
            outdir / "truth" / f"{sample.sample_id}.roh.bed",
            _bed_text([(names[ci], start, end) for ci, start, end in roh]),
        )
    children = [s for s in samples if s.father]
    for child in children:
        father, mother, variants, _ = _simulate_trio(
            _rng(seed, child.seed_offset, 5),
            contigs,
            masks,
            variants_of[child.father],
            variants_of[child.mother],
        )
        variants_of.update({child.father: father, child.mother: mother, child.sample_id: variants})
    placed_svs = {}
    for sample in samples:
        svs = _sv_coordinates(replace(sample, svs=sample.svs + _cnv_svs(sample)), lengths)
        placed_svs[sample.sample_id] = svs
        _write_cnv_truth(demo_paths(outdir, [sample]).cnv[sample.sample_id], names, svs)
        variants_of[sample.sample_id] = _clear_sv_breakpoints(variants_of[sample.sample_id], svs)
        _write_sv_truth(
            outdir / "truth" / f"{sample.sample_id}.sv.vcf", sample.sample_id, names, contigs, svs
        )
    for child in children:
        _write_text(
            outdir / "truth" / f"{child.family}.trio.tsv",
            _trio_truth(
                names,
                variants_of[child.father],
                variants_of[child.mother],
                variants_of[child.sample_id],
            ),
        )
    for sample in samples:
        variants, svs = variants_of[sample.sample_id], placed_svs[sample.sample_id]
        vcf = outdir / "truth" / f"{sample.sample_id}.truth.vcf.gz"
        _write_truth_vcf(vcf, sample.sample_id, names, lengths, variants)
        truth[sample.sample_id] = vcf

        mito_variants = _plant_mito(_rng(seed, sample.seed_offset, 3), mito, sample.mito)
        _write_text(
            demo_paths(outdir, [sample]).mito[sample.sample_id],
            "contig\tpos\tref\talt\taf\n"
            + "".join(f"{MITO_CONTIG}\t{v.pos}\t{v.ref}\t{v.alt}\t{v.af}\n" for v in mito_variants),
        )
        molecules = _mito_molecules(mito, mito_variants)

        haplotypes = _apply_svs(_haplotypes(contigs, variants), variants, svs)
        base, extra = divmod(n_pairs_total, sample.units)
        mito_base, mito_extra = divmod(n_mito_total, sample.units)
        for i, unit_id in enumerate(unit_ids(sample)):
            n_pairs = base + (1 if i < extra else 0)
            pairs = _simulate_pairs(
                _rng(seed, sample.seed_offset, 2, i), haplotypes, n_pairs, read_length
            )
            n_mito = mito_base + (1 if i < mito_extra else 0)
            mito_pairs = _simulate_pairs(
                _rng(seed, sample.seed_offset, 4, i), molecules, n_mito, read_length
            )
            lane = unit_id.rsplit(".", 1)[1]
            read_names = [
                f"{sample.sample_id}:{FLOWCELL}:{lane}:{n}".encode()
                for n in range(1, n_pairs + n_mito + 1)
            ]
            fq = {}
            for mate, seqs, quals in (
                (1, (pairs.seq1, mito_pairs.seq1), (pairs.qual1, mito_pairs.qual1)),
                (2, (pairs.seq2, mito_pairs.seq2), (pairs.qual2, mito_pairs.qual2)),
            ):
                rel = f"fastq/{sample.sample_id}_{unit_id}_R{mate}.fastq.gz"
                comment = f" {mate}:N:0:1\n".encode()
                data = _fastq_bytes(
                    read_names, np.concatenate(seqs), np.concatenate(quals), comment
                )
                _write_gzip(outdir / rel, data)
                fq[mate] = rel
            unit_rows.append(
                "\t".join(
                    [
                        sample.sample_id,
                        unit_id,
                        fq[1],
                        fq[2],
                        "ILLUMINA",
                        f"{sample.sample_id}-LIB1",
                    ]
                )
            )

    samples_tsv = outdir / "samples.tsv"
    family_columns = any(s.family for s in samples)
    _write_text(
        samples_tsv,
        "sample_id\tsex\tpriority\tindication"
        + ("\tfamily\tfather\tmother\taffected" if family_columns else "")
        + "\n"
        + "".join(
            f"{s.sample_id}\t{s.sex}\t{s.priority}\t{s.indication}"
            + (f"\t{s.family}\t{s.father}\t{s.mother}\t{s.affected}" if family_columns else "")
            + "\n"
            for s in samples
        ),
    )
    units_tsv = outdir / "units.tsv"
    _write_text(
        units_tsv,
        "sample_id\tunit_id\tfq1\tfq2\tplatform\tlibrary\n" + "".join(r + "\n" for r in unit_rows),
    )
    return demo_paths(outdir, samples)


def read_mito_truth(path: str | Path) -> list[tuple[str, int, str, str, float]]:
    """The planted mitochondrial variants of a ``truth/<sample_id>.mito.tsv``: (contig, pos,
    ref, alt, af)."""
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        contig, pos, ref, alt, af = line.split("\t")
        rows.append((contig, int(pos), ref, alt, float(af)))
    return rows
