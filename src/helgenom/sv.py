"""Structural variants (SVs) of one sample: the callers' calls written to one VCF, annotated
with the panel genes each touches, and summarised for QC and the clinical report
(workflow/rules/sv.smk).

Callers (``sv.callers``): delly (Rausch et al. 2012, Bioinformatics 28:i333; paired-end and
split reads, germline ``delly call`` per sample) and TIDDIT (Eisfeldt et al. 2017, F1000Research
6:664; discordant pairs, split reads and coverage) run with ``--skip_assembly``: its local
assembly needs fermi2 and ropebwt2, which Debian 12 does not ship. Each caller's PASS calls of
at least ``sv.min_size`` bp (translocations always; TIDDIT's without a breakpoint in
``sv.exclude_bed``, which delly skips itself) go through one merge step,
:func:`merge_sv_calls`, which writes ``results/sv/<sample>.vcf.gz`` with INFO fields of its
own: ``SVCALLERS`` (the callers that made the call), ``SVCALLER_IDS`` (their records' IDs) and
``PANEL_GENES`` (the genes of the sample's panel it touches). With one caller the step copies
its calls. With two, SURVIVOR merge (Jeffares et al. 2017, Nat Commun 8:14061) clusters them:
breakpoints within ``sv.merge_distance`` bp, same type, same strands, support by one caller
is enough; SURVIVOR matches a breakend only with a record written from the same side of its
junction (TIDDIT writes both sides), so clusters of one junction are then joined
(:func:`breakend_junction`). Each cluster is written as the record of the first caller in
:data:`SV_CALLERS` that made it (delly's: split-read breakpoints, genotype likelihoods), the
fields of another caller's record kept where the output header defines them alike.

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
import shutil
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
    "SV_CALLERS",
    "SV_CALLER_OUTPUT",
    "SV_TYPES",
    "SvCall",
    "SvSettings",
    "breakend_junction",
    "caller_calls",
    "read_regions",
    "compare_sv",
    "genes_touched",
    "merge_sv_calls",
    "parse_survivor_merge",
    "read_gene_intervals",
    "read_sv_calls",
    "summarise_sv",
    "truvari_bench",
    "write_sv_mqc",
]

#: The SV types counted, in the order the tables show them.
SV_TYPES: tuple[str, ...] = ("DEL", "DUP", "INV", "INS", "BND")
#: The SV callers sv.callers takes, in the order their record represents a call several made.
SV_CALLERS: tuple[str, ...] = ("delly", "tiddit")
#: Each caller's calls in a run directory (workflow/rules/sv.smk), by sample.
SV_CALLER_OUTPUT: dict[str, str] = {
    "delly": "results/sv/delly/{sample}.bcf",
    "tiddit": "results/sv/tiddit/{sample}.vcf.gz",
}
_BND_MATE = re.compile(r"[\[\]]([^:\[\]]+):(\d+)[\[\]]")


@dataclass(frozen=True)
class SvSettings:
    """The config's ``sv`` section."""

    callers: tuple[str, ...]  # in the order of SV_CALLERS
    min_size: int
    exclude_bed: str | None = None
    merge_distance: int = 1000  # bp between breakpoints SURVIVOR merges (two callers)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SvSettings:
        unknown = set(section["callers"]) - set(SV_CALLERS)
        if unknown:
            raise ValueError(f"sv.callers: {sorted(unknown)} are none of {SV_CALLERS}")
        return cls(
            callers=tuple(c for c in SV_CALLERS if c in section["callers"]),
            min_size=int(section["min_size"]),
            exclude_bed=section.get("exclude_bed"),
            merge_distance=int(section.get("merge_distance", 1000)),
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


#: Callers that cannot skip ``sv.exclude_bed`` themselves (delly call -x does): their calls
#: with a breakpoint in an excluded region are left out by the merge step instead.
EXCLUDED_AFTER_CALLING: tuple[str, ...] = ("tiddit",)


def read_regions(path: str | Path) -> dict[str, list[tuple[int, int]]]:
    """A BED-like file of regions (contig, start, end, ...; 0-based, half-open): contig -> the
    (start, end) intervals. Comment and track lines skipped."""
    regions: dict[str, list[tuple[int, int]]] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split()
        if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            raise ValueError(f"{path}, line {number}: a region needs contig, start, end")
        regions.setdefault(fields[0], []).append((int(fields[1]), int(fields[2])))
    return regions


def _in_regions(call: SvCall, regions: Mapping[str, Sequence[tuple[int, int]]]) -> bool:
    """Whether one of the call's breakpoints (POS, END; a breakend's mate) lies in a region."""
    points = [(call.contig, call.pos)]
    if call.svtype == "BND":
        if call.chr2 is not None and call.pos2 is not None:
            points.append((call.chr2, call.pos2))
    else:
        points.append((call.contig, call.end))
    return any(start < p <= end for c, p in points for start, end in regions.get(c, ()))


def _caller_records(
    path: str | Path, caller: str, settings: SvSettings
) -> tuple[pysam.VariantHeader, list[pysam.VariantRecord]]:
    """A caller's header and the records the merge step takes: PASS, at least
    ``settings.min_size`` bp (translocations always), and for a caller of
    :data:`EXCLUDED_AFTER_CALLING` no breakpoint in ``settings.exclude_bed``."""
    regions = {}
    if settings.exclude_bed and caller in EXCLUDED_AFTER_CALLING:
        regions = read_regions(settings.exclude_bed)
    with pysam.VariantFile(str(path)) as vcf:
        records = [
            r
            for r in vcf
            if _keep(r, settings.min_size) and not _in_regions(_to_call(r, None), regions)
        ]
        return vcf.header.copy(), records


def caller_calls(path: str | Path, caller: str, settings: SvSettings) -> list[SvCall]:
    """The calls of one caller's VCF/BCF that the merge step takes (:func:`_caller_records`)."""
    return [_to_call(r, caller) for r in _caller_records(path, caller, settings)[1]]


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
    "##INFO=<ID=SVCALLER_IDS,Number=.,Type=String,Description=\"The IDs of the callers' records "
    'of the call, caller:ID (helgenom.sv)">',
    "##INFO=<ID=PANEL_GENES,Number=.,Type=String,Description=\"Genes of the sample's panel "
    'the SV touches: its span, or a translocation breakpoint, overlaps them (helgenom.sv)">',
)


@dataclass(frozen=True)
class _Source:
    """One caller's kept record, and the merge cluster's callers and record IDs."""

    caller: str
    record: pysam.VariantRecord
    cluster: tuple[tuple[str, str], ...]  # (caller, record ID) of every record of the cluster


def parse_survivor_merge(text: str, callers: Sequence[str]) -> list[dict[str, list[str]]]:
    """The clusters of a ``SURVIVOR merge`` VCF whose inputs were one VCF per caller, in the
    order of `callers`: per record, caller -> the IDs of its records merged there (FORMAT ID of
    the caller's column; the columns of callers without a record say NaN)."""
    clusters: list[dict[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 9 + len(callers):
            raise ValueError(
                f"SURVIVOR merge, line {number}: {len(fields) - 9} sample columns, expected "
                f"{len(callers)} (one per caller: {', '.join(callers)})"
            )
        keys = fields[8].split(":")
        if "ID" not in keys:
            raise ValueError(f"SURVIVOR merge, line {number}: no FORMAT ID ({fields[8]})")
        cluster: dict[str, list[str]] = {}
        for caller, column in zip(callers, fields[9:], strict=True):
            value = dict(zip(keys, column.split(":"), strict=False)).get("ID", "NaN")
            ids = [i for i in value.split(",") if i not in ("NaN", "NAN", ".", "")]
            if ids:
                cluster[caller] = ids
        if cluster:
            clusters.append(cluster)
    return clusters


_End = tuple[str, int, str]  # contig, position, strand: + keeps the sequence before the position


def breakend_junction(record: pysam.VariantRecord) -> tuple[_End, _End] | None:
    """A breakend record's junction from its ALT's bracket notation (VCF 4.2, 5.4): its own end
    and its mate's, each with the strand of the sequence kept (t[p[: own +, mate -; t]p]: +, +;
    ]p]t: -, +; [p[t: -, -). The same junction written from its other side (TIDDIT writes
    both) has the same two ends. None for another record, or an ALT without the notation."""
    if _svtype(record) != "BND" or not record.alts:
        return None
    alt = record.alts[0]
    match = _BND_MATE.search(alt)
    if match is None:
        return None
    own = "-" if match.start() == 0 else "+"
    mate = "-" if alt[match.start()] == "[" else "+"
    return (record.contig, record.pos, own), (match.group(1), int(match.group(2)), mate)


def _same_junction(a: tuple[_End, _End], b: tuple[_End, _End], distance: int) -> bool:
    def near(x: _End, y: _End) -> bool:
        return x[0] == y[0] and x[2] == y[2] and abs(x[1] - y[1]) <= distance

    return (near(a[0], b[0]) and near(a[1], b[1])) or (near(a[0], b[1]) and near(a[1], b[0]))


def _join_breakend_clusters(
    clusters: list[list[tuple[str, str]]],
    records: Mapping[tuple[str, str], pysam.VariantRecord],
    distance: int,
) -> list[list[tuple[str, str]]]:
    """Join clusters holding the same junction (:func:`breakend_junction`, ends within
    `distance` bp, same strands): SURVIVOR merges a breakend only with a record written from
    the same side of the junction."""
    parent = list(range(len(clusters)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_contigs: dict[tuple[str, ...], list[tuple[int, tuple[_End, _End]]]] = {}
    for index, members in enumerate(clusters):
        for key in members:
            junction = breakend_junction(records[key])
            if junction is not None:
                contigs = tuple(sorted((junction[0][0], junction[1][0])))
                by_contigs.setdefault(contigs, []).append((index, junction))
    for ends in by_contigs.values():
        for n, (i, a) in enumerate(ends):
            for j, b in ends[n + 1 :]:
                if root(i) != root(j) and _same_junction(a, b, distance):
                    parent[root(j)] = root(i)
    joined: dict[int, list[tuple[str, str]]] = {}
    for index, members in enumerate(clusters):
        joined.setdefault(root(index), []).extend(members)
    return list(joined.values())


def _survivor_clusters(
    kept: Mapping[str, tuple[pysam.VariantHeader, list[pysam.VariantRecord]]],
    settings: SvSettings,
    survivor: str,
) -> tuple[list[_Source], int]:
    """SURVIVOR merge of the callers' kept records: each record with its cluster, and the
    number of records SURVIVOR reported in no cluster (each then its own)."""
    if shutil.which(survivor) is None:
        raise FileNotFoundError(
            f"{survivor} is not installed: merging {len(kept)} SV callers needs SURVIVOR "
            "(Debian package survivor; bash scripts/setup.sh installs it)"
        )
    callers = list(kept)
    by_id: dict[tuple[str, str], pysam.VariantRecord] = {}
    with tempfile.TemporaryDirectory(prefix="helgenom-survivor-") as tmp:
        inputs = []
        for caller, (header, records) in kept.items():
            path = Path(tmp) / f"{caller}.vcf"
            with pysam.VariantFile(str(path), "w", header=header) as out:
                for index, record in enumerate(records):
                    new = record.copy()
                    new.id = f"{caller}_{index}"  # unique, and no character SURVIVOR splits at
                    by_id[(caller, new.id)] = record
                    out.write(new)
            inputs.append(str(path))
        listing = Path(tmp) / "vcfs.txt"
        listing.write_text("".join(f"{path}\n" for path in inputs))
        merged = Path(tmp) / "merged.vcf"
        # max distance, min callers, same type, same strands, no size-scaled distance, min size
        command = [survivor, "merge", str(listing), str(settings.merge_distance), "1", "1", "1"]
        command += ["0", str(settings.min_size), str(merged)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode or not merged.is_file():
            raise RuntimeError(f"SURVIVOR merge failed ({proc.returncode}): {proc.stderr[-2000:]}")
        parsed = parse_survivor_merge(merged.read_text(), callers)
    clusters = [[(c, i) for c in callers for i in cluster.get(c, [])] for cluster in parsed]
    unknown = [m for members in clusters for m in members if m not in by_id]
    if unknown:
        raise ValueError(f"SURVIVOR merge reported records that were not its input: {unknown}")
    clustered = {m for members in clusters for m in members}
    lost = [key for key in by_id if key not in clustered]
    clusters += [[key] for key in lost]  # each its own cluster (but joined as a junction)
    clusters = _join_breakend_clusters(clusters, by_id, settings.merge_distance)
    sources: list[_Source] = []
    seen: set[tuple[str, str]] = set()
    for members in clusters:
        members = sorted(
            set(members), key=lambda m: (callers.index(m[0]), int(m[1].split("_")[-1]))
        )
        names = tuple((c, str(by_id[(c, i)].id or ".")) for c, i in members)
        # the cluster is written as the records of its first caller (SV_CALLERS order), a
        # junction once (not also as its mate, written from the junction's other side)
        first = members[0][0]
        written: list[tuple[_End, _End]] = []
        for caller, record_id in members:
            record = by_id[(caller, record_id)]
            junction = breakend_junction(record)
            if caller != first or (caller, record_id) in seen:
                continue
            if junction is not None and any(
                _same_junction(junction, w, settings.merge_distance) for w in written
            ):
                continue
            if junction is not None:
                written.append(junction)
            sources.append(_Source(first, record, names))
        seen.update(members)
    return sources, len(lost)


def _same_definitions(
    source: pysam.VariantHeader, dest: pysam.VariantHeader
) -> tuple[set[str], set[str]]:
    """The INFO and FORMAT keys `source` defines as `dest` does (number and type)."""

    def alike(a: Any, b: Any) -> bool:
        return a.number == b.number and a.type == b.type

    info = {k for k, v in source.info.items() if k in dest.info and alike(v, dest.info[k])}
    fmt = {k for k, v in source.formats.items() if k in dest.formats and alike(v, dest.formats[k])}
    return info, fmt


def _extend_header(header: pysam.VariantHeader, other: pysam.VariantHeader) -> None:
    """Add `other`'s INFO, FORMAT, FILTER and ALT definitions whose IDs `header` lacks."""
    have = {
        "INFO": set(header.info),
        "FORMAT": set(header.formats),
        "FILTER": set(header.filters),
        "ALT": set(header.alts),
    }
    for rec in other.records:
        if rec.type in ("INFO", "FORMAT", "FILTER") or rec.key == "ALT":
            kind = rec.key if rec.key == "ALT" else str(rec.type)
            if rec.get("ID") not in have[kind]:
                header.add_record(rec)
                have[kind].add(rec.get("ID"))


def _transfer(
    record: pysam.VariantRecord, header: pysam.VariantHeader, info: set[str], fmt: set[str]
) -> pysam.VariantRecord:
    """`record` (another caller's) as a record of `header`: its INFO and FORMAT fields in
    `info` and `fmt` (defined alike in both headers), its first sample's values."""
    new = header.new_record(
        contig=record.contig,
        start=record.start,
        stop=record.stop,
        alleles=record.alleles,
        id=record.id,
        qual=record.qual,
        filter=list(record.filter.keys()) or None,
    )
    for key, value in record.info.items():
        if key in info and key != "END":
            new.info[key] = value
    if record.samples and new.samples:
        for key, value in record.samples[0].items():
            if key in fmt and value is not None:
                new.samples[0][key] = value
    return new


def merge_sv_calls(
    caller_vcfs: Mapping[str, str | Path],
    out_vcf: str | Path,
    genes: Sequence[GeneInterval],
    settings: SvSettings,
    *,
    survivor: str = "SURVIVOR",
    notes: list[str] | None = None,
) -> list[SvCall]:
    """Write the callers' PASS calls (at least ``settings.min_size`` bp; translocations always;
    TIDDIT's without a breakpoint in ``settings.exclude_bed``, which delly skips itself) to
    ``out_vcf`` (bgzipped, tabix-indexed, sorted as the reference's contigs) with INFO
    SVCALLERS, SVCALLER_IDS and PANEL_GENES, and return them. One caller: its calls are
    copied. Several: merged by SURVIVOR (see the module docstring); the header is the first
    caller's, with the other callers' definitions it lacks. What the merge did is appended to
    `notes` (for the log)."""
    unknown = [c for c in caller_vcfs if c not in SV_CALLERS]
    if unknown or not caller_vcfs:
        raise ValueError(f"SV callers {unknown or '(none)'}: give some of {SV_CALLERS}")
    callers = [c for c in SV_CALLERS if c in caller_vcfs]
    kept = {c: _caller_records(caller_vcfs[c], c, settings) for c in callers}
    if len(callers) == 1:
        ((caller, (_, records)),) = kept.items()
        sources = [_Source(caller, r, ((caller, str(r.id or ".")),)) for r in records]
    else:
        sources, lost = _survivor_clusters(kept, settings, survivor)
        if notes is not None:
            counts = ", ".join(f"{c} {len(kept[c][1])}" for c in callers)
            notes.append(
                f"SURVIVOR merge (breakpoints within {settings.merge_distance} bp, same type "
                f"and strands) of the PASS calls ({counts}): {len(sources)} SVs, "
                f"{sum(len(s.cluster) > 1 and len({c for c, _ in s.cluster}) > 1 for s in sources)}"
                f" made by several callers; {lost} call(s) SURVIVOR left out, kept as they are"
            )
    header = kept[callers[0]][0].copy()
    for caller in callers[1:]:
        _extend_header(header, kept[caller][0])
    for line in _HEADER_LINES:
        header.add_line(line)
    alike = {c: _same_definitions(kept[c][0], header) for c in callers[1:]}
    order = {name: i for i, name in enumerate(header.contigs)}
    sources.sort(key=lambda s: (order.get(s.record.contig, len(order)), s.record.pos, s.caller))
    out_vcf = Path(out_vcf)
    calls: list[SvCall] = []
    tbi = out_vcf.with_name(out_vcf.name + ".tbi")
    with atomic_paths(out_vcf, tbi) as (tmp, tmp_tbi):
        with pysam.VariantFile(str(tmp), "wz", header=header) as out:
            for source in sources:
                if source.caller == callers[0]:
                    new = source.record.copy()
                    new.translate(header)
                else:
                    new = _transfer(source.record, header, *alike[source.caller])
                call = _to_call(source.record, None)
                touched = genes_touched(call, genes)
                made = tuple(c for c in callers if any(m == c for m, _ in source.cluster))
                new.info["SVCALLERS"] = made
                new.info["SVCALLER_IDS"] = tuple(f"{c}:{i}" for c, i in source.cluster)
                if touched:
                    new.info["PANEL_GENES"] = touched
                out.write(new)
                calls.append(SvCall(**{**call.__dict__, "callers": made, "genes": touched}))
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
            "merge_distance": settings.merge_distance,
        },
    }


def write_sv_mqc(summaries: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """A MultiQC custom-content table: each sample's SV counts by type and panel hits."""
    write_mqc_table(
        path,
        table_id="helgenom_sv",
        section_name="Structural variants",
        description="PASS structural variants per sample by type (helgenom.sv: delly, TIDDIT; two "
        "callers merged by SURVIVOR), and those touching the sample panel genes",
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
    """`source` without breakends, bgzipped and indexed (truvari's input); SVTYPE as counted
    here (TIDDIT's DUP:TANDEM is a DUP: truvari compares the type's text)."""
    with (
        pysam.VariantFile(str(source)) as vcf,
        pysam.VariantFile(str(out), "wz", header=vcf.header) as dest,
    ):
        for record in vcf:
            svtype = _svtype(record)
            if svtype == "BND":
                continue
            if record.info.get("SVTYPE") != svtype:
                record.info["SVTYPE"] = svtype
                if record.alts and record.alts[0].startswith("<"):
                    record.alts = (f"<{svtype}>",)
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
