"""Structural variants (SVs) of one sample: the callers' calls written to one VCF, annotated
with the panel genes each touches, and summarised for QC and the clinical report
(workflow/rules/sv.smk).

Callers: delly (Rausch et al. 2012, Bioinformatics 28:i333; paired-end and split reads,
germline ``delly call`` per sample). The callers' PASS calls of at least ``sv.min_size`` bp
(translocations always) go through one merge step, :func:`merge_sv_calls`, which writes
``results/sv/<sample>.vcf.gz`` with two INFO fields of its own: ``SVCALLERS`` (the callers
that made the call) and ``PANEL_GENES`` (the genes of the sample's panel it touches). With one
caller the step copies its calls; a second caller (tiddit; its local assembly needs fermi2,
which Debian 12 does not ship) is to be merged here, by SURVIVOR, when it is added.

A call touches a gene when its span (deletions, duplications, inversions, insertions: POS to
END) overlaps one of the gene's intervals, or, for a translocation (BND), when either of its
breakpoints lies in one.

:func:`compare_sv` is the truth check (the demo's planted SVs, delly's example deletion):
same type, and for spans a reciprocal overlap of at least ``min_overlap``; a translocation
matches when both breakpoints lie within ``bnd_distance`` bp (in either order).
:func:`truvari_bench` runs truvari (English et al. 2022, Genome Biol 23:271) on the spanning
SVs when it is installed; it matches a breakend only with a record written from the same side
of the junction, and delly writes each junction from one side of its own choosing, so
translocations are left to :func:`compare_sv`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysam

from helgenom.fileio import atomic_paths, write_mqc_table

__all__ = [
    "SV_TYPES",
    "SvCall",
    "SvSettings",
    "compare_sv",
    "genes_touched",
    "merge_sv_calls",
    "read_gene_intervals",
    "read_sv_calls",
    "summarise_sv",
    "truvari_bench",
    "write_sv_mqc",
]

#: The SV types counted, in the order the tables show them.
SV_TYPES: tuple[str, ...] = ("DEL", "DUP", "INV", "INS", "BND")
_BND_MATE = re.compile(r"[\[\]]([^:\[\]]+):(\d+)[\[\]]")


@dataclass(frozen=True)
class SvSettings:
    """The config's ``sv`` section."""

    callers: tuple[str, ...]
    min_size: int
    exclude_bed: str | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SvSettings:
        return cls(
            callers=tuple(section["callers"]),
            min_size=int(section["min_size"]),
            exclude_bed=section.get("exclude_bed"),
        )


@dataclass(frozen=True)
class SvCall:
    """One SV record: 1-based POS and END (END = POS for a breakend); a translocation's second
    breakpoint in ``chr2``/``pos2``."""

    contig: str
    pos: int
    end: int
    svtype: str
    genotype: str = "./."
    record_id: str = "."
    chr2: str | None = None
    pos2: int | None = None
    precise: bool = False
    callers: tuple[str, ...] = ()
    genes: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int | None:
        """bp spanned (None for a translocation or an insertion without a length)."""
        if self.svtype == "BND":
            return None
        return self.end - self.pos

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.record_id,
            "type": self.svtype,
            "contig": self.contig,
            "pos": self.pos,
            "end": self.end,
            "size": self.size,
            "genotype": self.genotype,
            "precise": self.precise,
            "callers": list(self.callers),
            "genes": list(self.genes),
        }
        if self.svtype == "BND":
            out["chr2"], out["pos2"] = self.chr2, self.pos2
        return out


def _svtype(record: pysam.VariantRecord) -> str:
    svtype = str(record.info.get("SVTYPE", ""))
    if svtype in ("TRA", "CTX"):
        return "BND"
    if svtype.startswith("DUP"):
        return "DUP"
    if svtype not in SV_TYPES:
        alt = (record.alts or ("",))[0]
        raise ValueError(
            f"{record.contig}:{record.pos}: SV type {svtype or alt!r} is none of {SV_TYPES}"
        )
    return svtype


def _mate(record: pysam.VariantRecord) -> tuple[str | None, int | None]:
    """A breakend's other breakpoint: INFO CHR2/POS2 (delly), else the ALT's t[p[ notation."""
    if "CHR2" in record.info and "POS2" in record.info:
        return str(record.info["CHR2"]), int(record.info["POS2"])
    match = _BND_MATE.search((record.alts or ("",))[0])
    if match:
        return match.group(1), int(match.group(2))
    return None, None


def _to_call(record: pysam.VariantRecord, caller: str | None) -> SvCall:
    svtype = _svtype(record)
    genotype = "./."
    if record.samples:
        gt = record.samples[0].get("GT")
        if gt is not None:
            genotype = "/".join("." if a is None else str(a) for a in gt)
    chr2, pos2 = _mate(record) if svtype == "BND" else (None, None)
    end = record.pos if svtype == "BND" else int(record.stop)
    if svtype == "INS" and "SVLEN" in record.info:
        end = record.pos + abs(int(_first(record.info["SVLEN"])))
    callers = tuple(record.info["SVCALLERS"]) if "SVCALLERS" in record.info else ()
    genes = tuple(record.info["PANEL_GENES"]) if "PANEL_GENES" in record.info else ()
    return SvCall(
        record.contig,
        record.pos,
        end,
        svtype,
        genotype,
        record.id or ".",
        chr2,
        pos2,
        "PRECISE" in record.info and bool(record.info["PRECISE"]),
        (caller,) if caller else callers,
        genes,
    )


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


def _keep(record: pysam.VariantRecord, min_size: int) -> bool:
    if list(record.filter.keys()) not in (["PASS"], []):
        return False
    call = _to_call(record, None)
    return call.svtype == "BND" or (call.size or 0) >= min_size


def read_sv_calls(path: str | Path, caller: str | None = None) -> list[SvCall]:
    """Every record of an SV VCF/BCF (single sample or sites only) as :class:`SvCall`."""
    with pysam.VariantFile(str(path)) as vcf:
        return [_to_call(record, caller) for record in vcf]


@dataclass(frozen=True)
class GeneInterval:
    contig: str
    start: int  # 0-based, half-open (BED)
    end: int
    gene: str


def read_gene_intervals(bed: str | Path) -> list[GeneInterval]:
    """A panel BED (contig, start, end, gene[, region]); comment and track lines skipped."""
    intervals = []
    for number, line in enumerate(Path(bed).read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        if len(fields) < 4:
            raise ValueError(
                f"{bed}, line {number}: a panel BED line needs contig, start, end, gene"
            )
        intervals.append(GeneInterval(fields[0], int(fields[1]), int(fields[2]), fields[3]))
    return intervals


def genes_touched(call: SvCall, genes: Iterable[GeneInterval]) -> tuple[str, ...]:
    """The genes (sorted, each once) whose intervals the call touches (see the module doc)."""
    if call.svtype == "BND":
        points = [(call.contig, call.pos)]
        if call.chr2 is not None and call.pos2 is not None:
            points.append((call.chr2, call.pos2))
        hit = {g.gene for g in genes for c, p in points if g.contig == c and g.start < p <= g.end}
    else:
        # 1-based inclusive [pos, end] vs 0-based half-open [start, end)
        hit = {
            g.gene
            for g in genes
            if g.contig == call.contig and g.start < call.end and call.pos <= g.end
        }
    return tuple(sorted(hit))


_HEADER_LINES = (
    '##INFO=<ID=SVCALLERS,Number=.,Type=String,Description="SV callers that made the call '
    '(helgenom.sv)">',
    "##INFO=<ID=PANEL_GENES,Number=.,Type=String,Description=\"Genes of the sample's panel "
    'the SV touches: its span, or a translocation breakpoint, overlaps them (helgenom.sv)">',
)


def merge_sv_calls(
    caller_vcfs: Mapping[str, str | Path],
    out_vcf: str | Path,
    genes: Sequence[GeneInterval],
    settings: SvSettings,
) -> list[SvCall]:
    """Write the callers' PASS calls (at least ``settings.min_size`` bp; translocations always)
    to ``out_vcf`` (bgzipped, tabix-indexed, sorted as the reference's contigs) with INFO
    SVCALLERS and PANEL_GENES, and return them. One caller: its calls are copied."""
    if len(caller_vcfs) != 1:
        raise ValueError(
            f"merging {len(caller_vcfs)} SV callers is not implemented; give exactly one "
            "(sv.callers)"
        )
    ((caller, path),) = caller_vcfs.items()
    out_vcf = Path(out_vcf)
    calls: list[SvCall] = []
    with pysam.VariantFile(str(path)) as vcf:
        header = vcf.header.copy()
        for line in _HEADER_LINES:
            header.add_line(line)
        order = {name: i for i, name in enumerate(header.contigs)}
        records = [r for r in vcf if _keep(r, settings.min_size)]
        records.sort(key=lambda r: (order.get(r.contig, len(order)), r.pos, r.id or ""))
        tbi = out_vcf.with_name(out_vcf.name + ".tbi")
        with atomic_paths(out_vcf, tbi) as (tmp, tmp_tbi):
            with pysam.VariantFile(str(tmp), "wz", header=header) as out:
                for record in records:
                    new = record.copy()
                    new.translate(header)
                    call = _to_call(record, caller)
                    touched = genes_touched(call, genes)
                    new.info["SVCALLERS"] = (caller,)
                    if touched:
                        new.info["PANEL_GENES"] = touched
                    out.write(new)
                    calls.append(SvCall(**{**call.__dict__, "genes": touched}))
            pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_tbi))
    return calls


def summarise_sv(sample: str, calls: Sequence[SvCall], settings: SvSettings) -> dict[str, Any]:
    """The per-sample summary (results/sv/<sample>.sv.json): counts by type, the calls that
    touch panel genes, a one-line interpretation and the settings."""
    counts = {t: sum(c.svtype == t for c in calls) for t in SV_TYPES}
    in_panel = [c.as_dict() for c in calls if c.genes]
    if in_panel:
        genes = sorted({g for c in calls for g in c.genes})
        interpretation = (
            f"{len(in_panel)} structural variant(s) touch panel genes ({', '.join(genes)})"
        )
    else:
        interpretation = "No structural variant touches a panel gene"
    return {
        "sample_id": sample,
        "interpretation": interpretation,
        "counts": counts,
        "total": len(calls),
        "panel_calls": in_panel,
        "settings": {
            "callers": list(settings.callers),
            "min_size": settings.min_size,
            "exclude_bed": settings.exclude_bed,
        },
    }


def write_sv_mqc(summaries: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """A MultiQC custom-content table: each sample's SV counts by type and panel hits."""
    write_mqc_table(
        path,
        table_id="helgenom_sv",
        section_name="Structural variants",
        description="PASS structural variants per sample by type (helgenom.sv; delly), and "
        "those touching the sample panel genes",
        columns=["Sample", *SV_TYPES, "total", "in panel genes"],
        rows=(
            [s["sample_id"], *(s["counts"][t] for t in SV_TYPES), s["total"], len(s["panel_calls"])]
            for s in summaries
        ),
    )


@dataclass(frozen=True)
class SvComparison:
    """Truth vs calls: which truth SVs were found, which calls match none."""

    matched: list[tuple[SvCall, SvCall]]  # (truth SV, one call that found it)
    missed: list[SvCall]
    extra: list[SvCall]  # calls that match no truth SV
    n_calls: int

    @property
    def recall(self) -> float | None:
        n = len(self.matched) + len(self.missed)
        return len(self.matched) / n if n else None

    @property
    def precision(self) -> float | None:
        if not self.n_calls:
            return None
        return (self.n_calls - len(self.extra)) / self.n_calls


def _matches(truth: SvCall, call: SvCall, min_overlap: float, bnd_distance: int) -> bool:
    if truth.svtype != call.svtype:
        return False
    if truth.svtype == "BND":
        a = (truth.contig, truth.pos, truth.chr2, truth.pos2)
        for b in (
            (call.contig, call.pos, call.chr2, call.pos2),
            (call.chr2, call.pos2, call.contig, call.pos),
        ):
            if (
                a[0] == b[0]
                and a[2] == b[2]
                and None not in (a[3], b[1], b[3])
                and abs(a[1] - b[1]) <= bnd_distance  # type: ignore[operator]
                and abs(a[3] - b[3]) <= bnd_distance  # type: ignore[operator]
            ):
                return True
        return False
    if truth.contig != call.contig:
        return False
    overlap = min(truth.end, call.end) - max(truth.pos, call.pos)
    longest = max(truth.end - truth.pos, call.end - call.pos, 1)
    return overlap / longest >= min_overlap


def compare_sv(
    truth: Sequence[SvCall],
    calls: Sequence[SvCall],
    *,
    min_overlap: float = 0.5,
    bnd_distance: int = 500,
) -> SvComparison:
    """Match truth SVs to calls (see the module docstring); a truth SV's matching calls all
    count as found (delly writes an inversion's, and a reciprocal translocation's, two
    junctions)."""
    matched: list[tuple[SvCall, SvCall]] = []
    missed: list[SvCall] = []
    used: set[int] = set()
    for t in truth:
        hits = [c for c in calls if _matches(t, c, min_overlap, bnd_distance)]
        if hits:
            matched.append((t, hits[0]))
            used.update(id(c) for c in hits)
        else:
            missed.append(t)
    extra = [c for c in calls if id(c) not in used]
    return SvComparison(matched, missed, extra, len(calls))


def _spanning_vcf(source: str | Path, out: Path) -> Path:
    """`source` without breakends, bgzipped and indexed (truvari's input)."""
    with (
        pysam.VariantFile(str(source)) as vcf,
        pysam.VariantFile(str(out), "wz", header=vcf.header) as dest,
    ):
        for record in vcf:
            if _svtype(record) != "BND":
                dest.write(record)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def truvari_bench(truth_vcf: str | Path, calls_vcf: str | Path) -> dict[str, Any] | None:
    """truvari bench of the spanning SVs (DEL, DUP, INV, INS; breakends left out, see the
    module docstring): symbolic alleles compared by position and size only (--pctseq 0), PASS
    calls, and several calls may match one truth SV (--pick multi: delly writes an inversion's
    two junctions). truvari's summary (recall, precision, TP-base, FP, FN, ...); None when
    truvari is not installed."""
    if importlib.util.find_spec("truvari") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="helgenom-truvari-") as tmp:
        base = _spanning_vcf(truth_vcf, Path(tmp) / "truth.vcf.gz")
        comp = _spanning_vcf(calls_vcf, Path(tmp) / "calls.vcf.gz")
        out = Path(tmp) / "bench"
        command = [sys.executable, "-m", "truvari", "bench", "-b", str(base), "-c", str(comp)]
        command += ["-o", str(out), "--pctseq", "0", "--passonly", "--pick", "multi"]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"truvari bench failed: {proc.stderr[-2000:]}")
        summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary
