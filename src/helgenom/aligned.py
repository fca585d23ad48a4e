"""Re-analysis from an aligned file (CRAM/BAM) instead of FASTQ.

A unit of units.tsv may name an aligned file (`aligned`, e.g. a CRAM of the national genome
database) instead of a FASTQ pair. The config's `reanalysis.mode` decides how its reads enter
the pipeline (workflow/rules/reanalysis.smk):

- ``realign`` (default): the reads are taken out of the file by name (samtools collate) as
  FASTQ pairs (samtools fastq: primary records only, original qualities from OQ where present,
  reverse-strand reads turned back to their sequenced orientation) and go the way of any
  FASTQ unit: fastp, the aligner, duplicate marking, CRAM. Any reference, any aligner.
- ``reuse``: the alignments are kept; only allowed when the file's @SQ lines are the run's
  reference (names, lengths and order; M5 where both have it). The reads get the run's read
  group, mate tags are recomputed (samtools fixmate -m), old duplicate flags cleared, and the
  unit goes to duplicate marking and CRAM like a freshly aligned one. No fastp, no aligner.

This module owns what is checked before any job (the file's header against the run's
reference, read groups and samples: `check_aligned_units`), the new header of a reused unit
(`reuse_header`) and the record of where a sample's reads came from
(results/qc/input/<sample>.json: `input_record`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helgenom.problems import ProblemsError
from helgenom.reference import _open_bytes

__all__ = [
    "MODES",
    "AlignedError",
    "AlignedHeader",
    "RefContig",
    "check_aligned_units",
    "compare_contigs",
    "contigs_from_dict",
    "index_of",
    "aligned_unit_record",
    "describe_input",
    "input_record",
    "write_input_mqc",
    "read_aligned_header",
    "read_group_ids",
    "reference_contigs",
    "reuse_header",
    "sha256_file",
]

MODES = ("realign", "reuse")
# Read-group IDs that can go into a samtools filter expression ([RG]=="ID") unquoted.
_RG_ID = re.compile(r"[A-Za-z0-9._:+-]+")
ALIGNED_SUFFIXES = (".cram", ".bam")
# Index files of an aligned file, in the order htslib looks for them.
_INDEX_SUFFIXES = {".cram": (".crai",), ".bam": (".bai", ".csi")}


class AlignedError(ProblemsError):
    """Aligned units (units.tsv `aligned`) that cannot be re-analysed as configured."""

    subject = "the aligned input files"


@dataclass(frozen=True)
class RefContig:
    """One reference sequence: an @SQ line or a FASTA record (md5: M5, None if unknown)."""

    name: str
    length: int
    md5: str | None = None


@dataclass(frozen=True)
class AlignedHeader:
    """What the header of a CRAM/BAM says: its format, @SQ lines, read groups, @PG programs."""

    path: Path
    format: str  # "CRAM" or "BAM"
    contigs: tuple[RefContig, ...]
    read_groups: tuple[Mapping[str, str], ...]  # @RG lines (ID, SM, LB, PL, ...)
    programs: tuple[str, ...] = ()  # @PG IDs
    sort_order: str = "unknown"  # @HD SO

    @property
    def samples(self) -> list[str]:
        """The distinct SM values of the read groups, in header order."""
        return list(dict.fromkeys(rg["SM"] for rg in self.read_groups if rg.get("SM")))


def index_of(path: Path) -> Path | None:
    """The index beside an aligned file (x.cram.crai; x.bam.bai, x.bai or x.bam.csi)."""
    suffix = path.suffix.lower()
    for index_suffix in _INDEX_SUFFIXES.get(suffix, ()):
        for candidate in (Path(f"{path}{index_suffix}"), path.with_suffix(index_suffix)):
            if candidate.is_file():
                return candidate
    return None


def read_aligned_header(path: Path) -> AlignedHeader:
    """The header of a CRAM/BAM (needs no reference; reads no records). Raises ValueError
    with the reason if the file is not a readable, complete CRAM/BAM."""
    import pysam

    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"CRAM" and not magic.startswith(b"\x1f\x8b"):
        raise ValueError("it is not a CRAM or BAM file")
    try:
        # ignore_truncation=False: htslib's end-of-file check (BGZF EOF block, CRAM EOF
        # container) fails a truncated file here, before any job.
        with pysam.AlignmentFile(
            str(path), "rc" if magic == b"CRAM" else "rb", check_sq=False, ignore_truncation=False
        ) as aln:
            header = aln.header.to_dict()
            fmt = "CRAM" if aln.is_cram else "BAM"
    except (OSError, ValueError) as error:
        raise ValueError(f"it cannot be read as CRAM/BAM ({error})") from error
    contigs = tuple(
        RefContig(str(sq["SN"]), int(sq["LN"]), str(sq["M5"]).lower() if sq.get("M5") else None)
        for sq in header.get("SQ", [])
    )
    read_groups = tuple(
        {str(k): str(v) for k, v in rg.items()} for rg in header.get("RG", []) if "ID" in rg
    )
    programs = tuple(str(pg.get("ID", "")) for pg in header.get("PG", []))
    sort_order = str(header.get("HD", {}).get("SO", "unknown"))
    return AlignedHeader(path, fmt, contigs, read_groups, programs, sort_order)


def read_group_ids(header: AlignedHeader, sample: str | None) -> list[str]:
    """The read-group IDs whose reads a unit takes: those of `sample` (aligned_sample), or
    [] for all reads of the file."""
    if not sample:
        return []
    return [rg["ID"] for rg in header.read_groups if rg.get("SM") == sample]


# ---- the run's reference -------------------------------------------------------------------
def contigs_from_dict(path: Path) -> list[RefContig]:
    """The @SQ lines of a sequence dictionary (samtools dict)."""
    contigs = []
    for line in path.read_text().splitlines():
        if not line.startswith("@SQ"):
            continue
        tags = dict(field.split(":", 1) for field in line.split("\t")[1:] if ":" in field)
        contigs.append(RefContig(tags["SN"], int(tags["LN"]), tags.get("M5", "").lower() or None))
    return contigs


def _contigs_from_fasta(path: Path) -> list[RefContig]:
    """Names, lengths and M5 (MD5 of the upper-case sequence, as samtools dict) of a FASTA."""
    contigs: list[RefContig] = []
    name: str | None = None
    length = 0
    digest = hashlib.md5(usedforsecurity=False)
    whitespace = re.compile(rb"\s+")
    with _open_bytes(path) as handle:
        for line in handle:
            if line.startswith(b">"):
                if name is not None:
                    contigs.append(RefContig(name, length, digest.hexdigest()))
                name = line[1:].split()[0].decode()
                length, digest = 0, hashlib.md5(usedforsecurity=False)
                continue
            bases = whitespace.sub(b"", line).upper()
            length += len(bases)
            digest.update(bases)
    if name is not None:
        contigs.append(RefContig(name, length, digest.hexdigest()))
    return contigs


def reference_contigs(fasta: Path, prepared_dict: Path | None = None) -> list[RefContig]:
    """The run's reference sequences: from its prepared sequence dictionary when it exists
    (a run that prepared the reference before), else from a .dict beside the FASTA, else
    computed from the FASTA itself (one pass: lengths and M5)."""
    beside = fasta.parent / (fasta.name.split(".")[0] + ".dict")
    for candidate in (prepared_dict, beside):
        if candidate is not None and candidate.is_file():
            return contigs_from_dict(candidate)
    return _contigs_from_fasta(fasta)


def compare_contigs(
    aligned: Sequence[RefContig], reference: Sequence[RefContig], limit: int = 3
) -> list[str]:
    """How the aligned file's @SQ lines differ from the reference ([] if they are the same
    sequences in the same order: names, lengths and, where both have it, M5)."""
    differences: list[str] = []
    if len(aligned) != len(reference):
        differences.append(f"{len(aligned)} @SQ lines, the reference has {len(reference)} contigs")
    for index, (a, r) in enumerate(zip(aligned, reference, strict=False), start=1):
        if a.name != r.name:
            differences.append(
                f"@SQ {index} is {a.name!r}, the reference's contig {index} is {r.name!r}"
            )
        elif a.length != r.length:
            differences.append(f"{a.name} is {a.length:,} bp long, in the reference {r.length:,}")
        elif a.md5 and r.md5 and a.md5 != r.md5:
            differences.append(f"{a.name} has M5 {a.md5}, the reference's is {r.md5}")
        if len(differences) >= limit:
            break
    return differences


# ---- the checks before any job -------------------------------------------------------------
@dataclass
class _Check:
    units_tsv: Path
    problems: list[str] = field(default_factory=list)

    def add(self, line: int, column: str, message: str, fix: str) -> None:
        self.problems.append(f"{self.units_tsv}:{line}: column '{column}': {message}. Fix: {fix}")


def check_aligned_units(
    config: Mapping[str, Any], samples: Mapping[str, Any], units_tsv: str | Path
) -> dict[tuple[str, str], AlignedHeader]:
    """Check every aligned unit against the run: its header is read, the sample to take is
    in it, and the file can be used in the configured `reanalysis.mode` (reuse: its @SQ lines
    are the run's reference; realign of a CRAM: it can be decoded, with the run's reference
    or the unit's aligned_reference). Returns each aligned unit's header by (sample, unit);
    raises AlignedError listing every problem (units.tsv file, line, column and fix)."""
    aligned_units = [u for s in samples.values() for u in s.units if u.aligned is not None]
    if not aligned_units:
        return {}
    mode = config.get("reanalysis", {}).get("mode", "realign")
    check = _Check(Path(units_tsv))
    fasta = Path(config["reference"]["fasta"])
    prepared = Path(config["reference"]["prep_dir"]) / f"{config['reference']['build']}.dict"
    reference: list[RefContig] | None = None
    headers: dict[tuple[str, str], AlignedHeader] = {}
    for unit in aligned_units:
        try:
            header = read_aligned_header(unit.aligned)
        except (OSError, ValueError) as error:
            check.add(
                unit.line,
                "aligned",
                f"{unit.aligned}: {error}",
                "Point the column at an intact CRAM or BAM file (copy it again and "
                "compare checksums if it was truncated).",
            )
            continue
        headers[(unit.sample_id, unit.unit_id)] = header
        _check_sample(check, unit, header)
        if mode == "realign" and (header.format == "BAM" or unit.aligned_reference):
            continue
        if reference is None:
            reference = reference_contigs(fasta, prepared)
        differences = compare_contigs(header.contigs, reference)
        if not differences:
            continue
        shown = "; ".join(differences)
        if mode == "reuse":
            check.add(
                unit.line,
                "aligned",
                f"{unit.aligned} was aligned to another reference than the run's "
                f"({fasta}): {shown}; its alignments cannot be reused",
                "Set reanalysis.mode: realign in the config (the reads are aligned "
                "again to the run's reference), or run with the reference the file "
                "was aligned to.",
            )
        else:
            check.add(
                unit.line,
                "aligned_reference",
                f"the CRAM {unit.aligned} was written against another reference than "
                f"the run's ({shown}), and CRAM needs that reference to decode its reads",
                "Give the FASTA the CRAM was written against in the aligned_reference "
                "column (see its @SQ UR/M5 tags: samtools view -H).",
            )
    if check.problems:
        raise AlignedError(check.problems)
    return headers


def _check_sample(check: _Check, unit: Any, header: AlignedHeader) -> None:
    samples = header.samples
    if unit.aligned_sample:
        if unit.aligned_sample not in samples:
            found = ", ".join(samples) if samples else "no @RG line with an SM"
            check.add(
                unit.line,
                "aligned_sample",
                f"{unit.aligned} holds no reads of sample {unit.aligned_sample!r} (its "
                f"read groups' SM: {found})",
                "Give an SM of the file's @RG lines (samtools view -H FILE | grep "
                "'^@RG'), or leave the cell empty to take every read.",
            )
        unsafe = [i for i in read_group_ids(header, unit.aligned_sample) if not _RG_ID.fullmatch(i)]
        if unsafe:
            check.add(
                unit.line,
                "aligned_sample",
                f"read group ID(s) {', '.join(map(repr, unsafe))} of sample "
                f"{unit.aligned_sample!r} in {unit.aligned} cannot be selected safely (the IDs "
                "go into a samtools filter expression)",
                "Rewrite the file's read-group IDs with letters, digits and . _ : + - only "
                "(samtools addreplacerg / reheader), or take the file whole.",
            )
    elif len(samples) > 1:
        check.add(
            unit.line,
            "aligned_sample",
            f"{unit.aligned} holds reads of {len(samples)} samples ({', '.join(samples)})",
            "Say which sample this unit takes: add an aligned_sample column with one of "
            "these SM values.",
        )


# ---- a reused unit's header ----------------------------------------------------------------
def reuse_header(reference_dict: Path, read_group: Mapping[str, str]) -> str:
    """The SAM header of a reused unit: coordinate-sorted, the run's @SQ lines (from its
    sequence dictionary: M5, assembly, URI) and the unit's one @RG; the old header's read
    groups and programs are not carried over (results/qc/input/<sample>.json records the
    source instead)."""
    sq = [line for line in reference_dict.read_text().splitlines() if line.startswith("@SQ")]
    rg = "@RG\t" + "\t".join(f"{k}:{v}" for k, v in read_group.items())
    return "\n".join(["@HD\tVN:1.6\tSO:coordinate", *sq, rg]) + "\n"


# ---- where a sample's reads came from ------------------------------------------------------
def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fastq_reads(path: Path) -> int:
    """Records in a (gzipped) FASTQ file."""
    with _open_bytes(path) as handle:
        return sum(1 for _ in handle) // 4


def aligned_unit_record(
    unit: Any, mode: str, reference_dict: Path, leftovers: Sequence[Path] = ()
) -> dict[str, Any]:
    """Where an aligned unit's reads came from: the file's name, size and SHA-256, format,
    whether its @SQ lines are the run's reference, the previous read groups and programs,
    how it was used (`mode`), and for realign the reads samtools fastq could not pair
    (`leftovers`: its singleton and unpaired FASTQ files; these are not realigned)."""
    header = read_aligned_header(unit.aligned)
    differences = compare_contigs(header.contigs, contigs_from_dict(reference_dict))
    record: dict[str, Any] = {
        "unit_id": unit.unit_id,
        "source": "aligned",
        "mode": mode,
        "file": unit.aligned.name,
        "format": header.format,
        "size_bytes": unit.aligned.stat().st_size,
        "sha256": sha256_file(unit.aligned),
        "reference_match": not differences,
        "reference_differences": differences,
        "aligned_reference": unit.aligned_reference.name if unit.aligned_reference else None,
        "aligned_sample": unit.aligned_sample,
        "previous_read_groups": [rg["ID"] for rg in header.read_groups],
        "previous_samples": header.samples,
        "previous_programs": list(header.programs),
    }
    if mode == "realign":
        record["unpaired_reads_dropped"] = sum(_fastq_reads(Path(f)) for f in leftovers)
    return record


def input_record(
    sample: str, units: Iterable[Any], mode: str, unit_records: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """results/qc/input/<sample>.json: per unit, where its reads came from: its FASTQ files'
    names, or its aligned file's record (`unit_records` by unit ID: aligned_unit_record)."""
    out_units: list[dict[str, Any]] = []
    for unit in units:
        if unit.aligned is None:
            out_units.append(
                {
                    "unit_id": unit.unit_id,
                    "source": "fastq",
                    "fq1": unit.fq1.name,
                    "fq2": unit.fq2.name,
                }
            )
        else:
            out_units.append(dict(unit_records[unit.unit_id]))
    aligned = [u for u in out_units if u["source"] == "aligned"]
    source = "fastq" if not aligned else "aligned" if len(aligned) == len(out_units) else "mixed"
    return {
        "sample_id": sample,
        "source": source,
        "mode": mode if aligned else None,
        "units": out_units,
    }


def describe_input(record: Mapping[str, Any]) -> str:
    """One line for the report and MultiQC: where the sample's reads came from."""
    parts = []
    for unit in record["units"]:
        if unit["source"] == "fastq":
            parts.append(f"{unit['unit_id']}: FASTQ")
            continue
        how = (
            "reads realigned" if unit["mode"] == "realign" else "alignments reused (same reference)"
        )
        parts.append(
            f"{unit['unit_id']}: {unit['format']} {unit['file']} (sha256 {unit['sha256'][:12]}), "
            f"{how}"
        )
    return "; ".join(parts)


def write_input_mqc(records: Sequence[Mapping[str, Any]], out: str | Path) -> None:
    """A MultiQC custom-content table: per sample, where its reads came from."""
    from helgenom.fileio import write_mqc_table

    def row(r: Mapping[str, Any]) -> list[Any]:
        aligned = [u for u in r["units"] if u["source"] == "aligned"]
        match = (
            "n/a" if not aligned else "yes" if all(u["reference_match"] for u in aligned) else "no"
        )
        dropped = sum(u.get("unpaired_reads_dropped", 0) for u in aligned)
        return [
            r["sample_id"], r["source"], r["mode"] or "n/a", len(r["units"]), len(aligned),
            match, dropped,
        ]  # fmt: skip

    write_mqc_table(
        out,
        table_id="helgenom_input",
        section_name="Input reads (helgenom)",
        description="Where the reads of each sample came from: FASTQ, or an aligned file "
        "(CRAM/BAM) re-analysed by realignment or by reusing its alignments (reanalysis.mode); "
        "results/qc/input/<sample>.json has the checksums.",
        columns=[
            "Sample",
            "source",
            "mode",
            "units",
            "aligned_files",
            "reference_match",
            "unpaired_dropped",
        ],  # fmt: skip
        rows=(row(r) for r in records),
    )
