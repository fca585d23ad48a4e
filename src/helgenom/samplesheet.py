"""Reading and validating the sample sheet (samples.tsv + units.tsv).

Validation runs before any job starts. Every problem found is collected and reported together
(`SampleSheetError`), each naming the file, the 1-based physical line (header = line 1 unless
comment/blank lines precede it), the column, the bad value and how to fix it. Nothing is ever
written: the sheets and the FASTQ files are only read.

Each row is validated against a JSON schema (src/helgenom/schemas/samples.schema.yaml and
units.schema.yaml) and the schema errors are translated into that message format; everything a
schema cannot express (IDs unsafe in paths, CPR numbers, duplicates, cross-sheet references,
dates, the FASTQ files themselves) is checked explicitly here.

CPR numbers (Danish personal identification numbers) must never appear in a sample sheet: any
cell that looks like one is rejected, and messages never echo such a value (it is masked, e.g.
``******-****``), so that the identifier does not leak into logs.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from genomedb_contract.cpr import looks_like_cpr, mask_cpr
from helgenom.family import pedigree_problems
from helgenom.paths import package_path
from helgenom.problems import ProblemsError

__all__ = [
    "PLATFORMS",
    "PRIORITIES",
    "SEXES",
    "Problem",
    "Sample",
    "SampleSheetError",
    "Unit",
    "load_samplesheet",
    "looks_like_cpr",
    "read_group",
    "read_group_fields",
]

PRIORITIES = ("acute", "urgent", "routine", "research")  # in rank order, most urgent first
SEXES = ("female", "male", "unknown")
# SAM specification, @RG PL: the allowed platform values.
PLATFORMS = (
    "CAPILLARY",
    "DNBSEQ",
    "ELEMENT",
    "HELICOS",
    "ILLUMINA",
    "IONTORRENT",
    "LS454",
    "ONT",
    "PACBIO",
    "SINGULAR",
    "SOLID",
    "ULTIMA",
)

SCHEMA_DIR = package_path("schemas")

SAMPLES_REQUIRED = ("sample_id", "sex", "priority", "indication")
UNITS_REQUIRED = ("sample_id", "unit_id", "fq1", "fq2", "platform", "library")
# Optional columns of units.tsv naming an aligned file to re-analyse (helgenom.aligned); with
# an `aligned` column in the header, fq1 and fq2 are only required of the FASTQ units.
ALIGNED_COLUMNS = ("aligned", "aligned_reference", "aligned_sample")
FASTQ_COLUMNS = ("fq1", "fq2")
ID_COLUMNS = ("sample_id", "unit_id", "library")

# ---- CPR numbers ---------------------------------------------------------------------------
# What looks like a CPR number is the contract's check (genomedb_contract.cpr), shared with
# the genome database; looks_like_cpr is also importable from here.
_CPR_FIX = (
    "Identifiers must be pseudonymised: CPR numbers are personal identifiers and must never "
    "appear in sample sheets, paths, logs or reports. Use the department's pseudonymous sample "
    "ID instead (and rename any file or folder whose name contains the CPR number)."
)


def _mask(text: str) -> str:
    """`text` with the digits of every CPR-like substring replaced by '*'."""
    return mask_cpr(text)


# ---- problems ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem in the sample sheet. CPR-like text in column/message/fix is always masked."""

    file: Path
    line: int | None  # 1-based physical line; None for file-level problems
    column: str | None
    message: str  # what is wrong
    fix: str  # how to fix it

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", Path(self.file))
        object.__setattr__(self, "message", _mask(self.message))
        object.__setattr__(self, "fix", _mask(self.fix))
        if self.column is not None:
            object.__setattr__(self, "column", _mask(self.column))

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        column = "" if self.column is None else f" column '{self.column}':"
        return f"{where}:{column} {self.message.rstrip('. ')}. Fix: {self.fix}"


class SampleSheetError(ProblemsError):
    """The sample sheet is invalid; `problems` lists every problem found (Problem records)."""

    subject = "the sample sheet"
    problems: list[Problem]


# ---- the loaded sheet ----------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One sequencing unit: a FASTQ pair of one sample from one flowcell lane, or an aligned
    file (CRAM/BAM) whose reads are re-analysed (helgenom.aligned)."""

    sample_id: str
    unit_id: str
    fq1: Path | None  # absolute; relative paths in units.tsv are resolved against its folder
    fq2: Path | None  # (None for an aligned unit)
    platform: str  # SAM PL value, upper case
    library: str
    line: int  # line in units.tsv
    aligned: Path | None = None  # CRAM/BAM to re-analyse instead of FASTQ (absolute)
    aligned_reference: Path | None = None  # FASTA the CRAM was written against, if not the run's
    aligned_sample: str | None = None  # SM of the reads to take from a multi-sample file


@dataclass(frozen=True)
class Sample:
    """One sample (a row of samples.tsv) with its units (rows of units.tsv, in file order)."""

    sample_id: str
    sex: str
    priority: str
    indication: str
    received: datetime | None
    line: int  # line in samples.tsv
    units: tuple[Unit, ...] = ()
    extra: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )  # other columns of samples.tsv, in file order


def read_group_fields(unit: Unit) -> dict[str, str]:
    """The SAM @RG fields of a unit: ID, SM, PU, LB, PL."""
    return {
        "ID": f"{unit.sample_id}.{unit.unit_id}",
        "SM": unit.sample_id,
        "PU": unit.unit_id,
        "LB": unit.library,
        "PL": unit.platform,
    }


_SAFE_RG_VALUE = re.compile(r"[A-Za-z0-9._-]+")


def read_group(unit: Unit) -> str:
    r"""The @RG line for `bwa mem -R` / `minimap2 -R`, with literal ``\t`` separators.

    The separators are the two characters backslash and t (not a tab), as bwa expects on its
    command line. Raises ValueError if a value could break the line or the shell command
    (units from `load_samplesheet` are always safe).
    """
    fields = read_group_fields(unit)
    for key, value in fields.items():
        if not _SAFE_RG_VALUE.fullmatch(value):
            raise ValueError(
                f"read group {key} {_mask(repr(value))} may only contain letters, digits, "
                "'.', '_' and '-'"
            )
    return "@RG\\t" + "\\t".join(f"{key}:{value}" for key, value in fields.items())


# ---- schemas -------------------------------------------------------------------------------
@cache
def _schema(name: str) -> dict[str, Any]:
    with (SCHEMA_DIR / f"{name}.schema.yaml").open(encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(name))


def _description(name: str, column: str) -> str:
    return str(_schema(name).get("properties", {}).get(column, {}).get("description", ""))


# ---- reading a TSV -------------------------------------------------------------------------
@dataclass
class _Row:
    line: int
    cells: dict[str, str]
    cpr_columns: set[str]  # columns whose cell looks like a CPR number (already reported)


@dataclass
class _Table:
    path: Path  # as given
    header: list[str]
    rows: list[_Row]
    bad_rows: int  # data rows skipped because they could not be split into the header's columns


# Common misnamings of required columns, for the "missing column" hint.
_COLUMN_ALIASES = {
    "sample": "sample_id",
    "sampleid": "sample_id",
    "sample_name": "sample_id",
    "gender": "sex",
    "unit": "unit_id",
    "unitid": "unit_id",
    "lane": "unit_id",
    "r1": "fq1",
    "read1": "fq1",
    "fastq1": "fq1",
    "fastq_1": "fq1",
    "fq_1": "fq1",
    "r2": "fq2",
    "read2": "fq2",
    "fastq2": "fq2",
    "fastq_2": "fq2",
    "fq_2": "fq2",
    "pl": "platform",
    "lb": "library",
    "lib": "library",
}


def _normalised_name(name: str) -> str:
    plain = re.sub(r"[\s-]+", "_", name.strip().lower())
    return _COLUMN_ALIASES.get(plain, plain)


def _read_table(
    path: Path, required: tuple[str, ...], kind: str, problems: list[Problem]
) -> _Table | None:
    """Read a TSV sheet; structural problems go to `problems`. None if it cannot be used."""

    def problem(line: int | None, column: str | None, message: str, fix: str) -> None:
        problems.append(Problem(path, line, column, message, fix))

    columns = ", ".join(required)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            problem(
                None, None, f"{kind} is a broken symbolic link", f"Point it at the real {kind}."
            )
        else:
            problem(
                None,
                None,
                f"{kind} not found",
                f"Check the path to {kind} in the run configuration (relative paths are "
                f"relative to the run directory, here {Path.cwd()}).",
            )
        return None
    except OSError as error:
        problem(
            None,
            None,
            f"{kind} cannot be accessed ({error.strerror})",
            "Check the path and the permissions of the folders leading to it.",
        )
        return None
    if not stat.S_ISREG(info.st_mode):
        problem(None, None, f"{kind} is not a regular file", f"Give the path of the {kind} file.")
        return None
    try:
        data = path.read_bytes()
    except OSError as error:
        problem(
            None,
            None,
            f"{kind} cannot be read ({error.strerror})",
            "Make the file readable for the user running the pipeline.",
        )
        return None
    if not data.strip():
        problem(
            None,
            None,
            f"{kind} is empty",
            f"Write a tab-separated header row ({columns}) followed by one row per "
            f"{'sample' if kind == 'samples.tsv' else 'FASTQ pair'}.",
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problem(
            None,
            None,
            f"{kind} is UTF-16 encoded (e.g. Excel's 'Unicode Text')",
            "Save it as UTF-8 tab-separated text.",
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problem(
            line,
            None,
            f"{kind} is not valid UTF-8 text (byte 0x{data[error.start]:02x})",
            "Save the file as UTF-8 tab-separated text (e.g. Excel 'Text (Tab delimited)' "
            "exports in a legacy encoding; convert it or export as UTF-8).",
        )
        return None

    header: list[str] | None = None
    rows: list[_Row] = []
    bad_rows = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if looks_like_cpr(line):
                problem(
                    number, None, "a comment line contains what looks like a CPR number", _CPR_FIX
                )
            continue
        fields = line.split("\t")
        if header is None:
            header = fields
            if not _check_header(path, kind, number, line, header, required, problems):
                return None
            continue
        if len(fields) != len(header):
            bad_rows += 1
            problem(number, None, *_field_count_problem(line, fields, header))
            if looks_like_cpr(line):
                problem(number, None, "the row contains what looks like a CPR number", _CPR_FIX)
            continue
        cells = dict(zip(header, fields, strict=True))
        cpr_columns = set()
        for column, value in cells.items():
            if looks_like_cpr(value):
                cpr_columns.add(column)
                problem(
                    number,
                    column,
                    f"{_mask(value)!r} looks like a CPR number",
                    _CPR_FIX,
                )
        rows.append(_Row(number, cells, cpr_columns))
    if header is None:
        problem(
            None,
            None,
            f"{kind} has no header row (only blank or '#' comment lines)",
            f"Write a tab-separated header row ({columns}) followed by the data rows.",
        )
        return None
    return _Table(path, header, rows, bad_rows)


def _check_header(
    path: Path,
    kind: str,
    number: int,
    line: str,
    header: list[str],
    required: tuple[str, ...],
    problems: list[Problem],
) -> bool:
    """Check the header row; False if the file cannot be read column by column at all."""

    def problem(column: str | None, message: str, fix: str) -> None:
        problems.append(Problem(path, number, column, message, fix))

    if kind == "units.tsv" and "aligned" in header:
        required = tuple(c for c in required if c not in FASTQ_COLUMNS)
    columns = ", ".join(required)
    cpr = False
    for index, name in enumerate(header, start=1):
        if looks_like_cpr(name):
            cpr = True
            problem(None, f"header column {index} looks like a CPR number", _CPR_FIX)
    if len(header) == 1 and len(required) > 1 and re.search(r"\S\s+\S", line):
        problem(
            None,
            "the header has no tab characters: the columns seem to be separated by spaces",
            f"Separate the columns with single tab characters ({columns}); many editors turn "
            "tabs into spaces.",
        )
        return False
    seen: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if name == "":
            problem(
                None,
                f"header column {index} has no name",
                "Give every column a name, or remove the empty column (and any trailing tab).",
            )
        elif name in seen:
            problem(
                name,
                f"column name {name!r} appears twice in the header (columns {seen[name]} and "
                f"{index})",
                "Remove or rename one of the two columns.",
            )
        else:
            seen[name] = index
    present = ", ".join(repr(name) for name in header) if not cpr else f"{len(header)} columns"
    for column in required:
        if column in seen:
            continue
        lookalikes = [n for n in header if n != column and _normalised_name(n) == column]
        hint = (
            f" Column {lookalikes[0]!r} looks like it is meant to be {column!r}: rename it "
            "exactly (names are lower case, without spaces)."
            if lookalikes
            else ""
        )
        problem(
            column,
            f"required column {column!r} is missing from the header; the header has: {present}",
            f"Add a {column!r} column (tab-separated). Required columns: {columns}.{hint}",
        )
    return True


def _field_count_problem(line: str, fields: list[str], header: list[str]) -> tuple[str, str]:
    expected, found = len(header), len(fields)
    fix = (
        f"Give every row exactly {expected} values separated by single tab characters, one per "
        "header column; leave an optional value empty but keep its tab."
    )
    spaced = (found == 1 and len(line.split()) > 1) or (
        found > 1 and sum(len(f.split()) for f in fields) >= expected
    )
    if found < expected and spaced:
        if found == 1:
            message = (
                f"the row has no tab characters (expected {expected} tab-separated columns): "
                "the columns seem to be separated by spaces instead of tabs"
            )
        else:
            message = (
                f"the row has {found} tab-separated fields but the header has {expected}: some "
                "columns seem to be separated by spaces instead of tabs"
            )
        return message, fix + " Many editors turn tabs into spaces."
    if found > expected and not any(fields[expected:]):
        return (
            f"the row has {found - expected} extra empty field(s) after the last column "
            f"(trailing tab); the header has {expected} columns",
            "Remove the trailing tab character(s) at the end of the row.",
        )
    return (
        f"the row has {found} tab-separated fields but the header has {expected} "
        f"({', '.join(header)})",
        fix,
    )


# ---- row checks ----------------------------------------------------------------------------
_ID_CHARS = re.compile(r"[A-Za-z0-9._-]")


def _id_reasons(value: str) -> list[str]:
    """Why `value` is unsafe as a sample/unit/library ID in file paths (empty list: safe)."""
    if value == "":
        return ["it is empty"]
    reasons = []
    if any(char.isspace() for char in value):
        reasons.append("it contains whitespace")
    for separator in ("/", "\\"):
        if separator in value:
            reasons.append(f"it contains {separator!r}, a path separator")
    if ".." in value:
        reasons.append("it contains '..', a parent-directory reference")
    if value.startswith("-"):
        reasons.append("it starts with '-', so tools would read it as a command-line option")
    elif value[0] in "._":
        reasons.append(
            f"it starts with {value[0]!r} (it must start with a letter or digit; a leading '.' "
            "makes hidden files)"
        )
    others = sorted(
        {c for c in value if not _ID_CHARS.fullmatch(c) and not c.isspace() and c not in "/\\"}
    )
    if others:
        reasons.append(
            "it contains character(s) not allowed in IDs: " + ", ".join(repr(c) for c in others)
        )
    return reasons


def _check_ids(
    path: Path, row: _Row, columns: Iterable[str], reported: set[str], problems: list[Problem]
) -> None:
    for column in columns:
        if column not in row.cells or column in reported:
            continue
        value = row.cells[column]
        reasons = _id_reasons(value)
        if not reasons:
            continue
        reported.add(column)
        if value == "":
            problems.append(
                Problem(
                    path,
                    row.line,
                    column,
                    f"{column} is empty",
                    f"Fill in the {column}. Use only letters, digits, '.', '_' and '-'.",
                )
            )
            continue
        problems.append(
            Problem(
                path,
                row.line,
                column,
                f"{column} {value!r} is not safe in file paths: " + "; ".join(reasons),
                "Use only letters A-Z a-z, digits 0-9, '.', '_' and '-', start with a letter or "
                "digit and do not use '..' (IDs become folder and file names, read-group tags "
                "and command-line arguments).",
            )
        )


_PLATFORM_ALIASES = {
    "MGI": "DNBSEQ",
    "BGI": "DNBSEQ",
    "BGISEQ": "DNBSEQ",
    "MGISEQ": "DNBSEQ",
    "NANOPORE": "ONT",
    "OXFORDNANOPORE": "ONT",
    "MINION": "ONT",
    "PROMETHION": "ONT",
    "ION_TORRENT": "IONTORRENT",
    "IONTORRENT": "IONTORRENT",
    "ION": "IONTORRENT",
    "PACIFICBIOSCIENCES": "PACBIO",
    "AVITI": "ELEMENT",
    "NOVASEQ": "ILLUMINA",
    "NOVASEQX": "ILLUMINA",
    "HISEQ": "ILLUMINA",
    "NEXTSEQ": "ILLUMINA",
    "MISEQ": "ILLUMINA",
    "UG": "ULTIMA",
    "454": "LS454",
}


def _schema_problems(
    name: str, path: Path, row: _Row, instance: dict[str, str], reported: set[str]
) -> list[Problem]:
    """Validate one row against its schema; translate errors (one per column, not `reported`)."""
    found: list[Problem] = []
    order = {column: index for index, column in enumerate(row.cells)}
    errors = sorted(
        _validator(name).iter_errors(instance),
        key=lambda e: order.get(str(e.path[0]), -1) if e.path else -1,
    )
    for error in errors:
        if error.validator == "required" or not error.path:
            continue  # missing columns are reported once, for the header
        column = str(error.path[0])
        if column in reported:
            continue
        reported.add(column)
        value = row.cells.get(column, "")
        description = _description(name, column)
        if value.strip() == "":
            what = "is empty" if value == "" else "contains only whitespace"
            found.append(
                Problem(path, row.line, column, f"{column} {what}", f"Fill it in: {description}")
            )
            continue
        if error.validator == "enum":
            message, fix = _enum_problem(column, value, [str(v) for v in error.validator_value])
        elif error.validator == "pattern":
            message, fix = f"{value!r} is not a valid {column}", description
        else:
            message, fix = f"{column}: {error.message}", description
        found.append(Problem(path, row.line, column, message, fix))
    return found


def _enum_problem(column: str, value: str, allowed: list[str]) -> tuple[str, str]:
    listed = ", ".join(allowed)
    if column == "platform":
        message = f"{value!r} is not a SAM-specification platform (PL) value"
        fix = f"Use one of {listed} (any case is accepted)."
        key = re.sub(r"[\s_-]+", "", value.upper())
        alias = _PLATFORM_ALIASES.get(key) or _PLATFORM_ALIASES.get(value.strip().upper())
        if value.strip().upper() in allowed:
            fix = f"Remove the spaces around the value: write {value.strip().upper()!r}."
        elif alias:
            fix += f" For {value.strip()!r} use {alias}."
        return message, fix
    message = f"{value!r} is not one of {listed}"
    cleaned = value.strip().lower()
    if cleaned in allowed:
        if value.strip() != value and value.strip() in allowed:
            return message, f"Remove the spaces around the value: write {cleaned!r}."
        return message, f"Use lower case: write {cleaned!r}."
    return message, f"Use one of {listed} (exact lower case)."


def _parse_received(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value != "" else None


# ---- FASTQ checks --------------------------------------------------------------------------
_FASTQ_RECORDS = 4  # records read from the start of each file
_LINE_LIMIT = 1 << 20  # a FASTQ line longer than this is taken as "not a FASTQ file"
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_OTHER_COMPRESSION = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}
_CORRUPT_FIX = (
    "The file is truncated or corrupt: copy it again from the sequencer/demultiplexing output "
    "and compare checksums (e.g. md5sum), or re-run demultiplexing."
)


@dataclass
class _FastqResult:
    names: list[str] | None  # read names of the first records; None if the file is bad
    message: str = ""
    fix: str = ""


def _read_name(header: bytes) -> str:
    tokens = header[1:].split()
    name = tokens[0].decode("utf-8", "replace") if tokens else ""
    if name.endswith(("/1", "/2")):
        name = name[:-2]
    return name


def _is_bgzf(head: bytes) -> bool:
    # gzip with FEXTRA and a 'BC' extra subfield (SAM spec 4.1)
    return len(head) >= 16 and head[3] & 4 != 0 and head[12:14] == b"BC"


def _inspect_fastq(path: Path, units_dir: Path) -> _FastqResult:
    """Cheap existence/content check of one FASTQ file (only reads it)."""
    shown = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return _FastqResult(
                None,
                f"FASTQ {shown} is a broken symbolic link",
                "Point the link at the real FASTQ file, or give the file's own path.",
            )
        return _FastqResult(
            None,
            f"FASTQ file {shown} not found",
            "Check the path and file name; relative paths are resolved against the folder "
            f"holding units.tsv ({units_dir}).",
        )
    except OSError as error:
        return _FastqResult(
            None,
            f"FASTQ {shown} cannot be accessed ({error.strerror})",
            "Check the path and the permissions of the folders leading to it.",
        )
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return _FastqResult(
            None,
            f"FASTQ {shown} is {kind}",
            "Give the path of the FASTQ file itself (one file per read direction).",
        )
    if info.st_size == 0:
        return _FastqResult(
            None,
            f"FASTQ {shown} is empty (0 bytes)",
            "Copy the file again or re-run demultiplexing; remove the unit if the lane produced "
            "no reads.",
        )
    try:
        handle = path.open("rb")
    except OSError as error:
        return _FastqResult(
            None,
            f"FASTQ {shown} cannot be read ({error.strerror})",
            "Make the file readable for the user running the pipeline.",
        )
    with handle:
        try:
            return _inspect_fastq_content(handle, shown, info.st_size)
        except (OSError, EOFError, zlib.error) as error:
            return _FastqResult(
                None,
                f"FASTQ {shown} is not readable gzip data ({_mask(str(error)) or 'corrupt'})",
                _CORRUPT_FIX,
            )


def _inspect_fastq_content(handle: Any, shown: str, size: int) -> _FastqResult:
    head = handle.read(18)
    for magic, name in _OTHER_COMPRESSION.items():
        if head.startswith(magic):
            return _FastqResult(
                None,
                f"FASTQ {shown} is {name}-compressed; only gzip (or bgzip) and plain FASTQ are "
                "supported",
                f"Recompress it with gzip or bgzip (e.g. {name} -dc FILE | bgzip > FILE.fastq.gz).",
            )
    stream: Any = handle
    if head.startswith(b"\x1f\x8b"):
        if _is_bgzf(head) and size >= len(_BGZF_EOF):
            handle.seek(-len(_BGZF_EOF), os.SEEK_END)
            if handle.read() != _BGZF_EOF:
                return _FastqResult(
                    None,
                    f"FASTQ {shown} is truncated: the bgzip end-of-file marker is missing",
                    _CORRUPT_FIX,
                )
        handle.seek(0)
        stream = gzip.GzipFile(fileobj=handle, mode="rb")
    else:
        handle.seek(0)

    lines: list[bytes] = []
    for _ in range(4 * _FASTQ_RECORDS):
        line = stream.readline(_LINE_LIMIT + 1)
        if not line:
            break
        if len(line) > _LINE_LIMIT:
            return _FastqResult(
                None,
                f"FASTQ {shown}: line {len(lines) + 1} is longer than {_LINE_LIMIT} bytes; this "
                "does not look like a FASTQ file",
                "Point the column at the FASTQ file (not a BAM/CRAM or other file).",
            )
        lines.append(line.rstrip(b"\r\n"))

    not_fastq_fix = (
        "Point the column at a FASTQ file (gzip-compressed or plain), not a BAM/CRAM, FASTA or "
        "other file; if it is a FASTQ, it is corrupt: copy it again."
    )
    if not lines:
        return _FastqResult(
            None,
            f"FASTQ {shown} contains no reads",
            "Copy the file again or re-run demultiplexing; remove the unit if the lane produced "
            "no reads.",
        )
    if lines[0].startswith((b"BAM\x01", b"CRAM")):
        return _FastqResult(None, f"{shown} is a BAM/CRAM file, not a FASTQ file", not_fastq_fix)
    names = []
    for index in range(0, len(lines), 4):
        record = index // 4 + 1
        header = lines[index]
        if not header.startswith(b"@"):
            return _FastqResult(
                None,
                f"FASTQ {shown}: line {index + 1} (record {record}) should be a read header "
                f"starting with '@' but starts with {_snippet(header)}",
                not_fastq_fix,
            )
        if len(lines) < index + 4:
            return _FastqResult(
                None,
                f"FASTQ {shown} ends in the middle of record {record} (after line "
                f"{len(lines)}); the file is truncated",
                _CORRUPT_FIX,
            )
        sequence, plus, quality = lines[index + 1 : index + 4]
        if not plus.startswith(b"+"):
            return _FastqResult(
                None,
                f"FASTQ {shown}: line {index + 3} (record {record}) should start with '+' but "
                f"starts with {_snippet(plus)}",
                not_fastq_fix,
            )
        if len(sequence) != len(quality):
            return _FastqResult(
                None,
                f"FASTQ {shown}: record {record} (lines {index + 1}-{index + 4}) has "
                f"{len(sequence)} bases but {len(quality)} quality characters",
                _CORRUPT_FIX,
            )
        names.append(_read_name(header))
    return _FastqResult(names)


def _snippet(data: bytes) -> str:
    return repr(data[:20].decode("utf-8", "replace")) if data else "an empty line"


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.normpath(first) == os.path.normpath(second)


# ---- loading -------------------------------------------------------------------------------
def load_samplesheet(
    samples_tsv: str | Path, units_tsv: str | Path, *, check_fastq: bool = True
) -> dict[str, Sample]:
    """Read and validate samples.tsv and units.tsv.

    Returns the samples by sample_id, in samples.tsv order, each with its units (in units.tsv
    order; FASTQ paths absolute, relative ones resolved against the folder holding units.tsv;
    platform upper case). Raises SampleSheetError listing every problem found. With
    `check_fastq` the FASTQ files are checked too (exist, readable, non-empty, the first reads
    well-formed and paired); without it the FASTQ files are not touched. Never writes anything.
    """
    samples_path, units_path = Path(samples_tsv), Path(units_tsv)
    sample_problems: list[Problem] = []
    unit_problems: list[Problem] = []

    samples = _read_table(samples_path, SAMPLES_REQUIRED, "samples.tsv", sample_problems)
    units = _read_table(units_path, UNITS_REQUIRED, "units.tsv", unit_problems)

    sample_rows = _check_samples(samples, sample_problems) if samples else []
    units_dir = Path(os.path.abspath(units_path)).parent
    unit_rows = _check_units(units, units_dir, check_fastq, unit_problems) if units else []

    # cross-sheet references
    if (
        samples is not None
        and units is not None
        and "sample_id" in samples.header
        and "sample_id" in units.header
    ):
        sample_ids = {row.cells["sample_id"] for row in sample_rows}
        by_lower = {sid.lower(): sid for sid in sample_ids}
        with_units = {row.cells["sample_id"] for row in unit_rows}
        skipped = (
            f" ({samples.bad_rows} row(s) of samples.tsv could not be read; fix those first)"
            if samples.bad_rows
            else ""
        )
        for row in unit_rows:
            sid = row.cells["sample_id"]
            if sid in sample_ids or "sample_id" in row.cpr_columns or sid == "":
                continue
            near = by_lower.get(sid.lower())
            hint = f" Did you mean {near!r}? IDs are case-sensitive." if near else ""
            unit_problems.append(
                Problem(
                    units_path,
                    row.line,
                    "sample_id",
                    f"sample_id {sid!r} is not listed in {samples_path}{skipped}",
                    "Add the sample to samples.tsv, correct the sample_id, or remove this unit."
                    + hint,
                )
            )
        if units.rows:
            skipped = (
                f" ({units.bad_rows} row(s) of units.tsv could not be read; fix those first)"
                if units.bad_rows
                else ""
            )
            for row in sample_rows:
                sid = row.cells["sample_id"]
                if sid in with_units or "sample_id" in row.cpr_columns or sid == "":
                    continue
                sample_problems.append(
                    Problem(
                        samples_path,
                        row.line,
                        "sample_id",
                        f"sample {sid!r} has no units (no FASTQ pairs) in {units_path}{skipped}",
                        f"Add a row per FASTQ pair of {sid!r} to units.tsv, or remove the "
                        "sample from samples.tsv.",
                    )
                )

    problems = _ordered(sample_problems, samples) + _ordered(unit_problems, units)
    if problems:
        raise SampleSheetError(problems)
    return _build(sample_rows, unit_rows, units_dir)


def _ordered(problems: list[Problem], table: _Table | None) -> list[Problem]:
    """File-level problems first, then by line and, within a line, by column."""
    order = {name: index for index, name in enumerate(table.header if table else [])}
    return sorted(
        problems,
        key=lambda p: (p.line or 0, -1 if p.column is None else order.get(p.column, len(order))),
    )


def _check_samples(table: _Table, problems: list[Problem]) -> list[_Row]:
    path = table.path
    if not table.rows and not table.bad_rows:
        problems.append(
            Problem(
                path,
                None,
                None,
                "samples.tsv has a header but no samples",
                "Add one tab-separated row per sample below the header.",
            )
        )
    first_line: dict[str, int] = {}
    for row in table.rows:
        reported = set(row.cpr_columns)
        _check_ids(path, row, ["sample_id"], reported, problems)
        received = row.cells.get("received", "")
        if "received" not in reported and received != "":
            try:
                _parse_received(received)
            except ValueError:
                reported.add("received")
                problems.append(
                    Problem(
                        path,
                        row.line,
                        "received",
                        f"{received!r} is not an ISO 8601 date or date-time",
                        "Write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM], e.g. "
                        "2026-11-20 or 2026-11-20T08:30:00+01:00 (not 20-11-2026), or leave the "
                        "cell empty.",
                    )
                )
        problems += _schema_problems("samples", path, row, row.cells, reported)

        sid = row.cells.get("sample_id", "")
        if sid and "sample_id" not in row.cpr_columns:
            if sid in first_line:
                problems.append(
                    Problem(
                        path,
                        row.line,
                        "sample_id",
                        f"sample_id {sid!r} is listed twice, on line {first_line[sid]} and on "
                        f"line {row.line}",
                        "Keep one row per sample: remove or merge the duplicate (several FASTQ "
                        "pairs of one sample go in units.tsv, one row each).",
                    )
                )
            else:
                first_line[sid] = row.line
    # a duplicate is used once (the first row); later copies are already reported
    seen: set[str] = set()
    unique = []
    for row in table.rows:
        sid = row.cells.get("sample_id", "")
        if sid not in seen:
            seen.add(sid)
            unique.append(row)
    # family, father, mother across rows (helgenom.family)
    problems += [
        Problem(path, p.line, p.column, p.message, p.fix)
        for p in pedigree_problems([(row.line, row.cells) for row in unique])
    ]
    return unique


def _check_units(
    table: _Table, units_dir: Path, check_fastq: bool, problems: list[Problem]
) -> list[_Row]:
    path = table.path
    if not table.rows and not table.bad_rows:
        problems.append(
            Problem(
                path,
                None,
                None,
                "units.tsv has a header but no units",
                "Add one tab-separated row per FASTQ pair (sample_id, unit_id, fq1, fq2, "
                "platform, library) below the header.",
            )
        )
    first_line: dict[tuple[str, str], int] = {}
    fastq_seen: dict[str, tuple[int, str]] = {}
    for row in table.rows:
        reported = set(row.cpr_columns)
        _check_ids(path, row, ID_COLUMNS, reported, problems)
        instance = dict(row.cells)
        if "platform" in instance:
            instance["platform"] = instance["platform"].upper()
        is_aligned = row.cells.get("aligned", "").strip() != ""
        if "aligned" in table.header:
            _check_unit_source(path, row, is_aligned, reported, problems)
            # the columns of the other kind of unit are left empty: not checked by the schema
            for column in ALIGNED_COLUMNS[1:] + FASTQ_COLUMNS if is_aligned else ALIGNED_COLUMNS:
                if instance.get(column, "x") == "":
                    del instance[column]
        problems += _schema_problems("units", path, row, instance, reported)
        if is_aligned and "aligned" not in reported:
            _check_aligned_files(path, row, units_dir, check_fastq, reported, problems)

        sid, uid = row.cells.get("sample_id", ""), row.cells.get("unit_id", "")
        if sid and uid and not {"sample_id", "unit_id"} & row.cpr_columns:
            key = (sid, uid)
            if key in first_line:
                problems.append(
                    Problem(
                        path,
                        row.line,
                        "unit_id",
                        f"unit {uid!r} of sample {sid!r} is listed twice, on line "
                        f"{first_line[key]} and on line {row.line}",
                        "Each (sample_id, unit_id) pair must be unique: remove the duplicate "
                        "row or give the unit its own unit_id (e.g. flowcell.lane).",
                    )
                )
            else:
                first_line[key] = row.line

        # FASTQ paths: resolve, detect reuse, and (optionally) look at the files
        resolved: dict[str, Path] = {}
        for column in FASTQ_COLUMNS if not is_aligned else ():
            value = row.cells.get(column, "")
            if column in reported or value.strip() == "":
                continue
            if value != value.strip():
                problems.append(
                    Problem(
                        path,
                        row.line,
                        column,
                        f"the path {value!r} has spaces at the start or end",
                        "Remove the surrounding spaces (they would become part of the file name).",
                    )
                )
                continue
            fastq = units_dir / value
            resolved[column] = fastq
            key_path = os.path.realpath(fastq) if check_fastq else os.path.normpath(fastq)
            if key_path in fastq_seen:
                other_line, other_column = fastq_seen[key_path]
                if other_line != row.line:
                    problems.append(
                        Problem(
                            path,
                            row.line,
                            column,
                            f"FASTQ {fastq} is also used on line {other_line} (column "
                            f"{other_column})",
                            "Each FASTQ file belongs to exactly one unit; remove the duplicate "
                            "unit or correct the path.",
                        )
                    )
            else:
                fastq_seen[key_path] = (row.line, column)
        if check_fastq and not is_aligned:
            _check_fastq_pair(path, row, resolved, units_dir, problems)
    return table.rows


def _check_unit_source(
    path: Path, row: _Row, is_aligned: bool, reported: set[str], problems: list[Problem]
) -> None:
    """A unit has either fq1 and fq2 or an aligned file, never both, never neither; the
    aligned_* columns only go with an aligned file."""

    def problem(column: str, message: str, fix: str) -> None:
        reported.add(column)
        problems.append(Problem(path, row.line, column, message, fix))

    filled = [c for c in FASTQ_COLUMNS if row.cells.get(c, "").strip() and c not in reported]
    if is_aligned and filled:
        problem(
            filled[0],
            "the unit names both FASTQ files and an aligned file (column aligned)",
            "A unit has either fq1 and fq2 or an aligned CRAM/BAM, not both: empty the FASTQ "
            "cells, or empty the aligned cell (and make a second unit for the other source).",
        )
    elif not is_aligned:
        for column in FASTQ_COLUMNS:
            if column not in row.cells and column not in reported:
                problem(
                    column,
                    f"the unit has no {column} (no such column) and no aligned file",
                    f"Add a {column!r} column to units.tsv for the FASTQ units, or name the "
                    "unit's CRAM/BAM in the aligned column.",
                )
            elif row.cells.get(column, "").strip() == "" and column not in reported:
                problem(
                    column,
                    f"{column} is empty and the unit has no aligned file",
                    "Give the unit's FASTQ pair in fq1 and fq2, or its CRAM/BAM in the aligned "
                    "column.",
                )
        for column in ALIGNED_COLUMNS[1:]:
            if row.cells.get(column, "").strip() and column not in reported:
                problem(
                    column,
                    f"{column} is given but the unit has no aligned file",
                    f"{column} only goes with an aligned CRAM/BAM: empty the cell, or name the "
                    "file in the aligned column.",
                )


def _check_aligned_files(
    path: Path,
    row: _Row,
    units_dir: Path,
    check_files: bool,
    reported: set[str],
    problems: list[Problem],
) -> None:
    """The aligned file (.cram/.bam) and its index exist; the aligned_reference exists with
    its .fai. The header is checked against the run's reference by helgenom.aligned."""

    def problem(column: str, message: str, fix: str) -> None:
        problems.append(Problem(path, row.line, column, message, fix))

    value = row.cells["aligned"]
    if value != value.strip():
        problem(
            "aligned",
            f"the path {value!r} has spaces at the start or end",
            "Remove the surrounding spaces (they would become part of the file name).",
        )
        return
    aligned = units_dir / value
    if aligned.suffix.lower() not in (".cram", ".bam"):
        problem(
            "aligned",
            f"{aligned} is not a .cram or .bam file",
            "Name the unit's CRAM or BAM file (with its .cram/.bam extension); FASTQ files "
            "go in fq1 and fq2.",
        )
        return
    sample = row.cells.get("aligned_sample", "")
    if "aligned_sample" not in reported and sample and not _SAFE_RG_VALUE.fullmatch(sample):
        problem(
            "aligned_sample",
            f"{sample!r} is not a usable sample name (SM)",
            "Only letters, digits, '.', '_' and '-' are supported in aligned_sample.",
        )
    if not check_files:
        return
    from helgenom.aligned import index_of  # noqa: PLC0415 - pysam only when files are checked

    if not aligned.is_file():
        problem(
            "aligned",
            f"aligned file {aligned} not found",
            "Check the path and file name; relative paths are resolved against the folder "
            f"holding units.tsv ({units_dir}).",
        )
    elif index_of(aligned) is None:
        kind = "CRAI (.crai)" if aligned.suffix.lower() == ".cram" else "BAI/CSI (.bai/.csi)"
        problem(
            "aligned",
            f"{aligned} has no {kind} index beside it",
            f"Copy its index with it, or index it: samtools index {aligned}",
        )
    reference = row.cells.get("aligned_reference", "").strip()
    if reference and "aligned_reference" not in reported:
        fasta = units_dir / reference
        if not fasta.is_file():
            problem(
                "aligned_reference",
                f"reference FASTA {fasta} not found",
                "Give the FASTA the CRAM was written against (relative paths are resolved "
                f"against {units_dir}), or empty the cell if it is the run's reference.",
            )
        elif not Path(f"{fasta}.fai").is_file():
            problem(
                "aligned_reference",
                f"{fasta} has no .fai index beside it",
                f"Index it: samtools faidx {fasta}",
            )


def _check_fastq_pair(
    path: Path, row: _Row, resolved: dict[str, Path], units_dir: Path, problems: list[Problem]
) -> None:
    fq1, fq2 = resolved.get("fq1"), resolved.get("fq2")
    if fq1 is not None and fq2 is not None and _same_file(fq1, fq2):
        problems.append(
            Problem(
                path,
                row.line,
                "fq2",
                f"fq1 and fq2 are the same file ({fq1})",
                "fq2 must be the read-2 (mate) file of the pair, usually named ..._R2..., and "
                "fq1 the read-1 file.",
            )
        )
        resolved = {"fq1": fq1}  # still report a missing/corrupt file, but do not pair
    results: dict[str, _FastqResult] = {}
    for column, fastq in resolved.items():
        result = _inspect_fastq(fastq, units_dir)
        results[column] = result
        if result.names is None:
            problems.append(Problem(path, row.line, column, result.message, result.fix))
    if fq1 is None or fq2 is None or len(results) != 2:
        return
    names1, names2 = results["fq1"].names, results["fq2"].names
    if names1 is None or names2 is None:
        return
    pairing_fix = (
        "fq1 and fq2 must hold the two reads of the same read pairs in the same order: check "
        "that both files are the R1/R2 files of the same sample and lane (not an orphan/"
        "singleton or index-read file) and that neither was filtered or sorted on its own."
    )
    for index, (name1, name2) in enumerate(zip(names1, names2, strict=False), start=1):
        if name1 != name2:
            problems.append(
                Problem(
                    path,
                    row.line,
                    "fq2",
                    f"read names of fq1 and fq2 do not pair up: read {index} is {name1!r} in "
                    f"{fq1} but {name2!r} in {fq2}",
                    pairing_fix,
                )
            )
            return
    if len(names1) != len(names2):
        problems.append(
            Problem(
                path,
                row.line,
                "fq2",
                f"fq1 and fq2 do not pair up: {fq1} has {len(names1)} read(s) but {fq2} has "
                f"{len(names2)} (counting at most {_FASTQ_RECORDS})",
                pairing_fix,
            )
        )


def _build(sample_rows: list[_Row], unit_rows: list[_Row], units_dir: Path) -> dict[str, Sample]:
    units_of: dict[str, list[Unit]] = {}
    for row in unit_rows:
        cells = row.cells
        aligned = cells.get("aligned", "")
        reference = cells.get("aligned_reference", "")
        unit = Unit(
            sample_id=cells["sample_id"],
            unit_id=cells["unit_id"],
            fq1=None if aligned else units_dir / cells["fq1"],
            fq2=None if aligned else units_dir / cells["fq2"],
            platform=cells["platform"].upper(),
            library=cells["library"],
            line=row.line,
            aligned=units_dir / aligned if aligned else None,
            aligned_reference=units_dir / reference if aligned and reference else None,
            aligned_sample=cells.get("aligned_sample") or None if aligned else None,
        )
        units_of.setdefault(unit.sample_id, []).append(unit)
    samples: dict[str, Sample] = {}
    for row in sample_rows:
        cells = row.cells
        sid = cells["sample_id"]
        extra = {k: v for k, v in cells.items() if k not in SAMPLES_REQUIRED and k != "received"}
        samples[sid] = Sample(
            sample_id=sid,
            sex=cells["sex"],
            priority=cells["priority"],
            indication=cells["indication"],
            received=_parse_received(cells.get("received", "")),
            line=row.line,
            units=tuple(units_of.get(sid, ())),
            extra=MappingProxyType(extra),
        )
    return samples
