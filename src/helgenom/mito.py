"""Mitochondrial variants with heteroplasmy (workflow/rules/mito.smk).

The mitochondrial contig (the first of ``mito.contigs`` the reference has: chrM or MT) is
called apart from the nuclear genome, without a diploid assumption: a cell holds hundreds to
thousands of mtDNA copies, and a variant may be carried by any share of them (heteroplasmy).
The nuclear calling leaves the contig out (helgenom.calling.write_chunk_beds), so a diploid
genotype is never given to it.

``bcftools mpileup`` counts the reads of every allele at every position of the contig
(FORMAT/AD, and ADF/ADR per strand; duplicates, secondary and QC-failed reads skipped; reads
below ``mito.min_mapq`` and bases below ``mito.min_baseq`` not counted; BAQ on; the depth caps
raised to ``mito.max_depth`` so the high chrM depth is not subsampled and indels are not
skipped). This module turns the counts into allele fractions, AF = AD[allele] / sum(AD),
and keeps an allele at ``mito.min_af`` or above (the heteroplasmy threshold) with:

* ``heteroplasmic`` below ``mito.homoplasmic_af``, ``homoplasmic`` from it;
* FILTER ``low_depth`` when the site has fewer than ``mito.min_depth`` counted reads or the
  allele fewer than ``mito.min_alt_reads``, ``strand_bias`` when all of the allele's reads
  come from one strand (a typical artefact); such records stay in the VCF but are not
  reported or counted.

A reference without any of ``mito.contigs`` (e.g. a test slice of chr20) is not an error: the
analysis is "not assessed", which the summary, the MultiQC table and the report say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helgenom.fileio import atomic_write_text, write_mqc_table

__all__ = [
    "MitoCall",
    "MitoSettings",
    "allele_fractions",
    "classify",
    "compare_mito",
    "mito_contig",
    "not_assessed",
    "pileup_options",
    "read_mito_region",
    "read_pileup",
    "summarise_mito",
    "write_mito_mqc",
    "write_mito_region",
    "write_mito_vcf",
]

HETEROPLASMIC = "heteroplasmic"
HOMOPLASMIC = "homoplasmic"


@dataclass(frozen=True)
class MitoSettings:
    """The config's ``mito`` section."""

    contigs: tuple[str, ...]
    min_af: float
    homoplasmic_af: float
    min_depth: int
    min_alt_reads: int
    min_mapq: int
    min_baseq: int
    max_depth: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> MitoSettings:
        return cls(
            contigs=tuple(section["contigs"]),
            min_af=float(section["min_af"]),
            homoplasmic_af=float(section["homoplasmic_af"]),
            min_depth=int(section["min_depth"]),
            min_alt_reads=int(section["min_alt_reads"]),
            min_mapq=int(section["min_mapq"]),
            min_baseq=int(section["min_baseq"]),
            max_depth=int(section["max_depth"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_af": self.min_af,
            "homoplasmic_af": self.homoplasmic_af,
            "min_depth": self.min_depth,
            "min_alt_reads": self.min_alt_reads,
            "min_mapq": self.min_mapq,
            "min_baseq": self.min_baseq,
        }


def mito_contig(contigs: Iterable[str], settings: MitoSettings) -> str | None:
    """The first of the configured mitochondrial names that the reference has, or None."""
    names = set(contigs)
    return next((c for c in settings.contigs if c in names), None)


def write_mito_region(
    fai: str | Path, out: str | Path, settings: MitoSettings
) -> tuple[str, int] | None:
    """Write the mitochondrial contig as a one-line BED (empty when the reference has none)
    and return (contig, length) or None."""
    from helgenom.reference import read_fai

    lengths = {c.name: c.length for c in read_fai(fai)}
    contig = mito_contig(lengths, settings)
    atomic_write_text(out, f"{contig}\t0\t{lengths[contig]}\n" if contig else "")
    return (contig, lengths[contig]) if contig else None


def read_mito_region(path: str | Path) -> tuple[str, int] | None:
    """(contig, length) from write_mito_region's BED, or None when it is empty."""
    text = Path(path).read_text().strip()
    if not text:
        return None
    contig, _, end = text.split("\t")
    return contig, int(end)


def pileup_options(settings: MitoSettings) -> str:
    """bcftools mpileup's options (besides -f, -R, -o): per-allele read counts (in all and by
    strand) at every position, the quality thresholds, the depth caps raised."""
    return (
        "-a FORMAT/AD,FORMAT/ADF,FORMAT/ADR,FORMAT/DP"
        f" -q {settings.min_mapq} -Q {settings.min_baseq}"
        f" -d {settings.max_depth} -L {settings.max_depth} -Ob"
    )


def allele_fractions(ad: Sequence[int]) -> list[float]:
    """The fraction of the counted reads of each allele (REF first): AD[i] / sum(AD); all 0.0
    without reads."""
    total = sum(ad)
    return [n / total if total else 0.0 for n in ad]


def classify(af: float, settings: MitoSettings) -> str | None:
    """homoplasmic from mito.homoplasmic_af, heteroplasmic from mito.min_af, else None."""
    if af >= settings.homoplasmic_af:
        return HOMOPLASMIC
    if af >= settings.min_af:
        return HETEROPLASMIC
    return None


@dataclass(frozen=True)
class MitoCall:
    """One allele at or above the heteroplasmy threshold."""

    contig: str
    pos: int  # 1-based
    ref: str
    alt: str
    af: float
    depth: int  # reads counted at the site (sum of AD)
    alt_reads: int
    alt_forward: int
    alt_reverse: int
    kind: str  # heteroplasmic | homoplasmic
    filter: str  # PASS | low_depth | strand_bias

    @property
    def reported(self) -> bool:
        return self.filter == "PASS"

    def as_dict(self) -> dict[str, Any]:
        return {
            "contig": self.contig,
            "pos": self.pos,
            "ref": self.ref,
            "alt": self.alt,
            "af": round(self.af, 4),
            "depth": self.depth,
            "alt_reads": self.alt_reads,
            "class": self.kind,
            "filter": self.filter,
        }


@dataclass(frozen=True)
class Pileup:
    """What read_pileup gathers: the calls, and the depth at each position (SNV records)."""

    calls: list[MitoCall]
    depths: dict[int, int]


def _filter(depth: int, alt_reads: int, forward: int, reverse: int, s: MitoSettings) -> str:
    if depth < s.min_depth or alt_reads < s.min_alt_reads:
        return "low_depth"
    if forward == 0 or reverse == 0:
        return "strand_bias"
    return "PASS"


def read_pileup(path: str | Path, settings: MitoSettings) -> Pileup:
    """The alleles at or above mito.min_af in bcftools mpileup's output (one sample), and the
    counted depth at each position."""
    import pysam

    calls: list[MitoCall] = []
    depths: dict[int, int] = {}
    with pysam.VariantFile(str(path)) as vcf:
        if len(vcf.header.samples) != 1:
            raise ValueError(f"{path}: expected one sample, found {len(vcf.header.samples)}")
        for rec in vcf:
            sample = rec.samples[0]
            ad = [n or 0 for n in sample["AD"]]
            adf = [n or 0 for n in sample["ADF"]]
            adr = [n or 0 for n in sample["ADR"]]
            depth = sum(ad)
            indel = "INDEL" in rec.info
            if not indel:
                depths[rec.pos] = depth
            if rec.ref.upper() == "N":
                continue
            for i, alt in enumerate(rec.alts or (), start=1):
                if alt in ("<*>", "*"):
                    continue
                af = allele_fractions(ad)[i]
                kind = classify(af, settings)
                if kind is None:
                    continue
                verdict = _filter(depth, ad[i], adf[i], adr[i], settings)
                calls.append(
                    MitoCall(
                        rec.chrom, rec.pos, rec.ref, alt, af, depth, ad[i], adf[i], adr[i],
                        kind, verdict,
                    )
                )  # fmt: skip
    return Pileup(calls, depths)


_VCF_HEADER = """##fileformat=VCFv4.2
##source=helgenom.mito
##reference={reference}
##contig=<ID={contig},length={length}>
##helgenom_mito=<min_af={min_af},homoplasmic_af={homoplasmic_af},min_depth={min_depth},\
min_alt_reads={min_alt_reads},min_mapq={min_mapq},min_baseq={min_baseq}>
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=low_depth,Description="Fewer than min_depth reads at the site or min_alt_reads \
reads of the allele">
##FILTER=<ID=strand_bias,Description="Every read of the allele is from one strand">
##INFO=<ID=PLASMY,Number=1,Type=String,Description="heteroplasmic (min_af <= AF < \
homoplasmic_af) or homoplasmic (AF >= homoplasmic_af)">
##FORMAT=<ID=GT,Number=1,Type=String,Description="1: homoplasmic, 0/1: heteroplasmic (a \
mixture of molecules, not a diploid genotype; the fraction is AF)">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction: AD of the allele over \
the reads counted at the site">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads of REF and ALT (bcftools mpileup, \
quality thresholds applied)">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Reads counted at the site (sum over all \
alleles)">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}
"""


def write_mito_vcf(
    calls: Sequence[MitoCall],
    out: str | Path,
    sample: str,
    settings: MitoSettings,
    region: tuple[str, int] | None,
    reference: str = ".",
) -> None:
    """A bgzipped, tabix-indexed VCF of the calls (one record per allele; header only when
    the reference has no mitochondrial contig)."""
    import pysam

    from helgenom.fileio import atomic_paths

    contig, length = region or ("chrM", 16569)
    header = _VCF_HEADER.format(
        reference=reference, contig=contig, length=length, sample=sample, **settings.as_dict()
    )
    if not region:
        header = header.replace(f"##contig=<ID={contig},length={length}>\n", "")
    records = []
    for c in sorted(calls, key=lambda c: (c.pos, c.ref, c.alt)):
        gt = "1" if c.kind == HOMOPLASMIC else "0/1"
        records.append(
            f"{c.contig}\t{c.pos}\t.\t{c.ref}\t{c.alt}\t.\t{c.filter}\tPLASMY={c.kind}\t"
            f"GT:AF:AD:DP\t{gt}:{c.af:.4f}:{c.depth - c.alt_reads},{c.alt_reads}:{c.depth}"
        )
    out = Path(out)
    tbi = out.with_name(out.name + ".tbi")
    with atomic_paths(out, tbi) as (tmp_gz, tmp_tbi):
        plain = tmp_gz.with_name(tmp_gz.name + ".vcf")
        try:
            plain.write_text(header + "".join(r + "\n" for r in records), encoding="ascii")
            pysam.tabix_compress(str(plain), str(tmp_gz), force=True)
            pysam.tabix_index(str(tmp_gz), preset="vcf", force=True, index=str(tmp_tbi))
        finally:
            plain.unlink(missing_ok=True)


def not_assessed(settings: MitoSettings) -> str:
    names = " or ".join(settings.contigs)
    return f"Not assessed: the reference has no mitochondrial contig ({names}; config mito.contigs)"


def summarise_mito(
    sample: str,
    pileup: Pileup | None,
    settings: MitoSettings,
    region: tuple[str, int] | None,
) -> dict[str, Any]:
    """The sample's mitochondrial summary: depth over the contig, the reported (PASS) variants
    with their class, counts, and an interpretation line; "not assessed" without a contig."""
    base: dict[str, Any] = {"sample_id": sample, "settings": settings.as_dict()}
    if region is None or pileup is None:
        return base | {
            "assessed": False,
            "contig": None,
            "length": None,
            "mean_depth": None,
            "pct_ge_min_depth": None,
            "variants": [],
            "filtered": [],
            "counts": {"reported": 0, HETEROPLASMIC: 0, HOMOPLASMIC: 0},
            "interpretation": not_assessed(settings),
        }
    contig, length = region
    depths = pileup.depths
    mean_depth = sum(depths.values()) / length
    at_min = sum(1 for d in depths.values() if d >= settings.min_depth)
    reported = [c for c in pileup.calls if c.reported]
    counts = {
        "reported": len(reported),
        HETEROPLASMIC: sum(c.kind == HETEROPLASMIC for c in reported),
        HOMOPLASMIC: sum(c.kind == HOMOPLASMIC for c in reported),
    }
    return base | {
        "assessed": True,
        "contig": contig,
        "length": length,
        "mean_depth": round(mean_depth, 1),
        "pct_ge_min_depth": round(100 * at_min / length, 2),
        "variants": [c.as_dict() for c in reported],
        "filtered": [c.as_dict() for c in pileup.calls if not c.reported],
        "counts": counts,
        "interpretation": _interpretation(counts, settings),
    }


def _interpretation(counts: Mapping[str, int], settings: MitoSettings) -> str:
    if not counts["reported"]:
        return f"No mitochondrial variant at an allele fraction of {settings.min_af:.0%} or more"
    return (
        f"{counts['reported']} mitochondrial variant(s) at an allele fraction of "
        f"{settings.min_af:.0%} or more: {counts[HETEROPLASMIC]} heteroplasmic, "
        f"{counts[HOMOPLASMIC]} homoplasmic (from {settings.homoplasmic_af:.0%})"
    )


def compare_mito(
    planted: Sequence[tuple[str, int, str, str, float]], found: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[tuple[str, int, str, str, float], float | None]], list[Mapping[str, Any]]]:
    """Each planted variant (contig, pos, ref, alt, af) with the AF it was found at (None:
    not reported), and the reported variants that were not planted."""
    by_key = {(f["contig"], f["pos"], f["ref"], f["alt"]): f for f in found}
    matched = [(p, by_key[p[:4]]["af"] if p[:4] in by_key else None) for p in planted]
    keys = {p[:4] for p in planted}
    extra = [f for f in found if (f["contig"], f["pos"], f["ref"], f["alt"]) not in keys]
    return matched, extra


def write_mito_mqc(summaries: Sequence[Mapping[str, Any]], out: str | Path) -> None:
    """A MultiQC custom-content table of the run's mitochondrial summaries (a row per sample)."""

    def row(s: Mapping[str, Any]) -> list[Any]:
        if not s["assessed"]:
            return [s["sample_id"], "none", *["NA"] * 5]
        counts = s["counts"]
        return [
            s["sample_id"], s["contig"], f"{s['mean_depth']:.1f}", f"{s['pct_ge_min_depth']:.2f}",
            counts["reported"], counts[HETEROPLASMIC], counts[HOMOPLASMIC],
        ]  # fmt: skip

    write_mqc_table(
        out,
        table_id="helgenom_mito",
        section_name="Mitochondrial variants (helgenom)",
        description="chrM called without a diploid assumption (bcftools mpileup read counts): "
        "mean depth, and the variants at or above the heteroplasmy threshold (mito.min_af).",
        columns=[
            "Sample",
            "mito_contig",
            "mito_mean_depth",
            "mito_pct_ge_min_depth",
            "mito_variants",
            "heteroplasmic",
            "homoplasmic",
        ],  # fmt: skip
        rows=(row(s) for s in summaries),
    )
