"""Tests for helgenom.samplesheet: reading and validating samples.tsv and units.tsv."""

from __future__ import annotations

import bz2
import gzip
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conftest import GIAB
from helgenom import samplesheet as ss
from helgenom.samplesheet import (
    PLATFORMS,
    PRIORITIES,
    SEXES,
    Problem,
    Sample,
    SampleSheetError,
    Unit,
    load_samplesheet,
    looks_like_cpr,
    read_group,
    read_group_fields,
)

GIAB_READS = GIAB / "reads"
GIAB_R1 = GIAB_READS / "NA12878_chr20_10mb_R1.fastq.gz"
GIAB_R2 = GIAB_READS / "NA12878_chr20_10mb_R2.fastq.gz"
GIAB_ORPHANS = GIAB_READS / "NA12878_chr20_10mb_orphans.fastq.gz"
needs_giab = pytest.mark.usefixtures("giab")  # skipped without the data (fails under CI)

SAMPLES_HEADER = ["sample_id", "sex", "priority", "indication", "received"]
UNITS_HEADER = ["sample_id", "unit_id", "fq1", "fq2", "platform", "library"]
CPR = "010190-1234"
CPR_DIGITS = "0101901234"


# ---- helpers -------------------------------------------------------------------------------
def fastq_text(names: list[str], suffix: str = "", length: int = 8) -> str:
    return "".join(
        f"@{name}{suffix} extra\n{'ACGT' * (length // 4)}\n+\n{'I' * length}\n" for name in names
    )


def write_fastq(path: Path, names: list[str], suffix: str = "", *, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = fastq_text(names, suffix)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_tsv(path: Path, lines: list[str | list[str]]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else "\t".join(line)) + "\n" for line in lines)
    )
    return path


READS = ["r1", "r2", "r3", "r4", "r5"]


def make_sheet(
    tmp_path: Path,
    samples: list[str | list[str]] | None = None,
    units: list[str | list[str]] | None = None,
) -> tuple[Path, Path]:
    """A valid two-sample sheet (FASTQs under tmp_path/fastq, relative paths) unless overridden."""
    for name in ("a", "b", "c"):
        write_fastq(tmp_path / "fastq" / f"{name}_R1.fastq.gz", READS, "/1")
        write_fastq(tmp_path / "fastq" / f"{name}_R2.fastq.gz", READS, "/2")
    if samples is None:
        samples = [
            SAMPLES_HEADER + ["ward"],
            ["DEMO002", "male", "routine", "cardiomyopathy", "2026-11-20", "B"],
            ["DEMO001", "female", "acute", "neonatal epilepsy", "", "A"],
        ]
    if units is None:
        units = [
            UNITS_HEADER,
            [
                "DEMO001",
                "HXXXXXX.1",
                "fastq/a_R1.fastq.gz",
                "fastq/a_R2.fastq.gz",
                "illumina",
                "LIB1",
            ],
            [
                "DEMO002",
                "HXXXXXX.1",
                "fastq/b_R1.fastq.gz",
                "fastq/b_R2.fastq.gz",
                "ILLUMINA",
                "LIB2",
            ],
            [
                "DEMO001",
                "HXXXXXX.2",
                "fastq/c_R1.fastq.gz",
                "fastq/c_R2.fastq.gz",
                "Illumina",
                "LIB1",
            ],
        ]
    return write_tsv(tmp_path / "samples.tsv", samples), write_tsv(tmp_path / "units.tsv", units)


def problems_of(samples: Path, units: Path, **kwargs: bool) -> list[Problem]:
    with pytest.raises(SampleSheetError) as info:
        load_samplesheet(samples, units, **kwargs)
    assert str(info.value).startswith(f"{len(info.value.problems)} problem(s) in the sample sheet:")
    return info.value.problems


def find(
    problems: list[Problem], file: Path, line: int | None, column: str | None, *fragments: str
) -> Problem:
    """The one problem at file/line/column whose message contains every fragment."""
    matches = [
        p
        for p in problems
        if p.file == file
        and p.line == line
        and p.column == column
        and all(f.lower() in p.message.lower() for f in fragments)
    ]
    assert matches, f"no problem {file.name}:{line}:{column} {fragments} in:\n" + "\n".join(
        map(str, problems)
    )
    problem = matches[0]
    assert problem.fix.strip(), "every problem needs a fix"
    text = str(problem)
    assert text.startswith(f"{file}:{line}:" if line is not None else f"{file}:")
    if column is not None:
        assert f"column '{column}'" in text
    assert "Fix: " in text
    return problem


def units_row(
    sample: str, unit: str, r1: str, r2: str, pl: str = "ILLUMINA", lib: str = "L1"
) -> list[str]:
    return [sample, unit, r1, r2, pl, lib]


# ---- a valid sheet -------------------------------------------------------------------------
def test_valid_sheet_loads(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples = load_samplesheet(samples_tsv, units_tsv)

    assert list(samples) == ["DEMO002", "DEMO001"]  # samples.tsv order
    demo1 = samples["DEMO001"]
    assert isinstance(demo1, Sample)
    assert (demo1.sex, demo1.priority, demo1.indication) == ("female", "acute", "neonatal epilepsy")
    assert demo1.received is None
    assert demo1.line == 3
    assert dict(demo1.extra) == {"ward": "A"}
    assert [u.unit_id for u in demo1.units] == ["HXXXXXX.1", "HXXXXXX.2"]  # units.tsv order
    unit = demo1.units[0]
    assert isinstance(unit, Unit)
    assert unit.fq1 == tmp_path / "fastq" / "a_R1.fastq.gz"
    assert unit.fq1.is_absolute() and unit.fq2 == tmp_path / "fastq" / "a_R2.fastq.gz"
    assert unit.platform == "ILLUMINA"  # upper-cased
    assert demo1.units[1].platform == "ILLUMINA"
    assert (unit.library, unit.line, unit.sample_id) == ("LIB1", 2, "DEMO001")
    assert samples["DEMO002"].received == datetime(2026, 11, 20)
    assert samples["DEMO002"].units[0].fq1 == tmp_path / "fastq" / "b_R1.fastq.gz"


def test_relative_paths_resolve_against_units_folder_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    samples_tsv, units_tsv = make_sheet(run)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    samples = load_samplesheet(os.path.relpath(samples_tsv), os.path.relpath(units_tsv))
    assert samples["DEMO001"].units[0].fq1 == run / "fastq" / "a_R1.fastq.gz"


def test_comments_and_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[
            "# samples of run 42",
            "",
            SAMPLES_HEADER,
            "",
            "# the first sample",
            ["DEMO001", "female", "acute", "epilepsy", "2026-11-20T08:30:00+01:00"],
            "\t\t\t\t",
            ["DEMO002", "male", "research", "x", ""],
        ],
    )
    samples = load_samplesheet(samples_tsv, units_tsv)
    assert samples["DEMO001"].line == 6
    assert samples["DEMO002"].line == 8
    received = samples["DEMO001"].received
    assert received == datetime(2026, 11, 20, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    assert received is not None and received.utcoffset() == timedelta(hours=1)  # kept as given
    assert dict(samples["DEMO001"].extra) == {}


def test_crlf_line_endings_and_bom_are_accepted(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_bytes(b"\xef\xbb\xbf" + samples_tsv.read_bytes().replace(b"\n", b"\r\n"))
    samples = load_samplesheet(samples_tsv, units_tsv)
    assert dict(samples["DEMO001"].extra) == {"ward": "A"}


def test_plain_fastq_and_check_fastq_false(tmp_path: Path) -> None:
    write_fastq(tmp_path / "p_R1.fq", READS, gz=False)
    write_fastq(tmp_path / "p_R2.fq", READS, gz=False)
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[SAMPLES_HEADER[:4], ["S1", "unknown", "urgent", "x"]],
        units=[UNITS_HEADER, units_row("S1", "U1", "p_R1.fq", "p_R2.fq", "ont")],
    )
    unit = load_samplesheet(samples_tsv, units_tsv)["S1"].units[0]
    assert unit.platform == "ONT"
    # without check_fastq the FASTQ files are not looked at
    write_tsv(units_tsv, [UNITS_HEADER, units_row("S1", "U1", "missing_R1.fq", "missing_R2.fq")])
    assert load_samplesheet(samples_tsv, units_tsv, check_fastq=False)["S1"].units[0].fq1 == (
        tmp_path / "missing_R1.fq"
    )
    problems = problems_of(samples_tsv, units_tsv)
    find(problems, units_tsv, 2, "fq1", "not found", "missing_R1.fq")
    find(problems, units_tsv, 2, "fq2", "not found", "missing_R2.fq")


def test_loading_never_writes(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(tmp_path.rglob("*"))
        }

    before = snapshot()
    load_samplesheet(samples_tsv, units_tsv)
    assert snapshot() == before
    write_tsv(units_tsv, [UNITS_HEADER, units_row("DEMO001", "U1", "x.fq", "y.fq")])
    before = snapshot()
    with pytest.raises(SampleSheetError):
        load_samplesheet(samples_tsv, units_tsv)
    assert snapshot() == before


# ---- file-level problems -------------------------------------------------------------------
def test_missing_files(tmp_path: Path) -> None:
    samples_tsv, units_tsv = tmp_path / "nope_samples.tsv", tmp_path / "nope_units.tsv"
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 2  # no follow-up noise
    find(problems, samples_tsv, None, None, "not found")
    find(problems, units_tsv, None, None, "not found")
    assert str(problems[0]).startswith(f"{samples_tsv}: ")


def test_sheet_is_a_directory(tmp_path: Path) -> None:
    _, units_tsv = make_sheet(tmp_path)
    (tmp_path / "dir.tsv").mkdir()
    find(
        problems_of(tmp_path / "dir.tsv", units_tsv),
        tmp_path / "dir.tsv",
        None,
        None,
        "not a regular file",
    )


def test_empty_files(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_text("")
    units_tsv.write_text("\n  \n")
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 2
    find(problems, samples_tsv, None, None, "empty")
    find(problems, units_tsv, None, None, "empty")


def test_only_comments_means_no_header(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_text("# nothing here yet\n\n")
    find(problems_of(samples_tsv, units_tsv), samples_tsv, None, None, "no header")


def test_header_without_rows(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path, samples=[SAMPLES_HEADER])
    find(problems_of(samples_tsv, units_tsv), samples_tsv, None, None, "no samples")
    samples_tsv, units_tsv = make_sheet(tmp_path, units=[UNITS_HEADER, "# none yet"])
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1  # not also "no units" for every sample
    find(problems, units_tsv, None, None, "no units")


def test_not_utf8(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_bytes(samples_tsv.read_bytes().replace(b"neonatal", b"neonatal \xe6"))
    find(problems_of(samples_tsv, units_tsv), samples_tsv, 3, None, "UTF-8")


def test_header_missing_required_column(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[
            ["sample_id", "priority", "indication"],
            ["DEMO001", "acute", "x"],
            ["DEMO002", "acute", "y"],
        ],
    )
    problems = problems_of(samples_tsv, units_tsv)
    problem = find(problems, samples_tsv, 1, "sex", "required column 'sex' is missing")
    assert "'sample_id', 'priority', 'indication'" in problem.message  # lists what is there
    assert "sex" in problem.fix
    # reported once for the header, not once per row
    assert [p for p in problems if p.column == "sex"] == [problem]


def test_header_lookalike_column_gets_a_hint(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    write_tsv(
        units_tsv,
        [
            ["Sample_ID", "unit_id", "R1", "fq2", "platform", "library"],
            units_row("DEMO001", "U1", "fastq/a_R1.fastq.gz", "fastq/a_R2.fastq.gz"),
        ],
    )
    problems = problems_of(samples_tsv, units_tsv)
    find(problems, units_tsv, 1, "sample_id", "missing")
    assert "'Sample_ID'" in find(problems, units_tsv, 1, "sample_id").fix
    assert "'R1'" in find(problems, units_tsv, 1, "fq1", "missing").fix


def test_header_separated_by_spaces(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_text("sample_id sex priority indication\nDEMO001 female acute x\n")
    problems = problems_of(samples_tsv, units_tsv)
    find(problems, samples_tsv, 1, None, "spaces")
    assert not [p for p in problems if p.file == samples_tsv and p.line == 2]


def test_row_separated_by_spaces(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with samples_tsv.open("a") as handle:
        handle.write("DEMO003 male routine epilepsy 2026-01-01 C\n")
    problems = problems_of(samples_tsv, units_tsv)
    problem = find(problems, samples_tsv, 4, None, "spaces instead of tabs")
    assert "tab" in problem.fix


def test_row_with_wrong_number_of_fields(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with samples_tsv.open("a") as handle:
        handle.write("DEMO003\tmale\troutine\n")
    find(problems_of(samples_tsv, units_tsv), samples_tsv, 4, None, "3 tab-separated fields", "6")


def test_row_with_trailing_tab(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with units_tsv.open("a") as handle:
        handle.write("DEMO002\tU9\tfastq/a_R1.fastq.gz\tfastq/a_R2.fastq.gz\tILLUMINA\tL1\t\n")
    find(problems_of(samples_tsv, units_tsv), units_tsv, 5, None, "trailing tab")


# ---- duplicates and cross-references -------------------------------------------------------
def test_duplicate_sample_id(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with samples_tsv.open("a") as handle:
        handle.write("DEMO001\tfemale\troutine\tagain\t\tA\n")
    problem = find(problems_of(samples_tsv, units_tsv), samples_tsv, 4, "sample_id", "DEMO001")
    assert "line 3" in problem.message and "line 4" in problem.message


def test_duplicate_unit(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    write_fastq(tmp_path / "fastq" / "d_R1.fastq.gz", READS)
    write_fastq(tmp_path / "fastq" / "d_R2.fastq.gz", READS)
    with units_tsv.open("a") as handle:
        handle.write("DEMO002\tHXXXXXX.1\tfastq/d_R1.fastq.gz\tfastq/d_R2.fastq.gz\tILLUMINA\tL\n")
    problem = find(
        problems_of(samples_tsv, units_tsv), units_tsv, 5, "unit_id", "HXXXXXX.1", "DEMO002"
    )
    assert "line 3" in problem.message and "line 5" in problem.message


def test_same_unit_id_in_different_samples_is_fine(tmp_path: Path) -> None:
    samples = load_samplesheet(*make_sheet(tmp_path))
    assert samples["DEMO001"].units[0].unit_id == samples["DEMO002"].units[0].unit_id


def test_fastq_used_by_two_units(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with units_tsv.open("a") as handle:
        handle.write(
            "DEMO002\tHYYYYYY.1\tfastq/b_R1.fastq.gz\tfastq/x/../b_R2.fastq.gz\tILLUMINA\tL\n"
        )
    (tmp_path / "fastq" / "x").mkdir()
    problems = problems_of(samples_tsv, units_tsv)
    assert "line 3" in find(problems, units_tsv, 5, "fq1", "also used").message
    find(problems, units_tsv, 5, "fq2", "also used")


def test_unit_of_unknown_sample(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with units_tsv.open("a") as handle:
        handle.write("DEMO009\tU1\tfastq/a_R1.fastq.gz\tfastq/a_R2.fastq.gz\tILLUMINA\tL\n")
        handle.write("demo001\tU1\tfastq/b_R1.fastq.gz\tfastq/b_R2.fastq.gz\tILLUMINA\tL\n")
    problems = problems_of(samples_tsv, units_tsv, check_fastq=False)
    find(problems, units_tsv, 5, "sample_id", "'DEMO009'", "not listed in")
    assert "Did you mean 'DEMO001'" in find(problems, units_tsv, 6, "sample_id", "demo001").fix


def test_sample_without_units(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with samples_tsv.open("a") as handle:
        handle.write("DEMO003\tmale\troutine\tx\t\tC\n")
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1
    find(problems, samples_tsv, 4, "sample_id", "'DEMO003'", "no units")


# ---- enumerations --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "value", "fragment", "fix"),
    [
        ("sex", "M", "is not one of female, male, unknown", "one of female, male, unknown"),
        ("sex", "Male", "is not one of female, male, unknown", "lower case: write 'male'"),
        ("sex", "FEMALE", "is not one of", "lower case: write 'female'"),
        ("sex", "male ", "is not one of", "Remove the spaces"),
        ("sex", "", "sex is empty", "female, male, unknown"),
        ("priority", "high", "not one of acute, urgent, routine, research", "acute, urgent"),
        ("priority", "Acute", "not one of acute, urgent, routine, research", "lower case"),
        ("indication", "", "indication is empty", "free text"),
        ("indication", "   ", "only whitespace", "free text"),
        ("received", "20-11-2026", "not an ISO 8601 date", "YYYY-MM-DD"),
        ("received", "2026-13-01", "not an ISO 8601 date", "2026-11-20"),
    ],
)
def test_bad_sample_values(
    tmp_path: Path, column: str, value: str, fragment: str, fix: str
) -> None:
    row = {"sample_id": "DEMO003", "sex": "male", "priority": "routine", "indication": "x"}
    row["received"] = ""
    row[column] = value
    samples_tsv, units_tsv = make_sheet(tmp_path)
    with samples_tsv.open("a") as handle:
        handle.write("\t".join([*row.values(), "C"]) + "\n")
    write_fastq(tmp_path / "fastq" / "d_R1.fastq.gz", READS)
    write_fastq(tmp_path / "fastq" / "d_R2.fastq.gz", READS)
    with units_tsv.open("a") as handle:
        handle.write("DEMO003\tU1\tfastq/d_R1.fastq.gz\tfastq/d_R2.fastq.gz\tILLUMINA\tL3\n")
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1, problems
    problem = find(problems, samples_tsv, 4, column, fragment)
    assert fix.lower() in problem.fix.lower()
    if value.strip():
        assert repr(value) in str(problem)  # names the bad value


def test_sex_message_format(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    samples_tsv.write_text(samples_tsv.read_text().replace("\tmale\t", "\tM\t"))
    (problem,) = problems_of(samples_tsv, units_tsv)
    assert str(problem).startswith(
        f"{samples_tsv}:2: column 'sex': 'M' is not one of female, male, unknown. Fix: "
    )


@pytest.mark.parametrize("platform", ["illumna", "Novaseq", "MGI", ""])
def test_bad_platform(tmp_path: Path, platform: str) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    units_tsv.write_text(units_tsv.read_text().replace("\tILLUMINA\t", f"\t{platform}\t"))
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1
    problem = find(problems, units_tsv, 3, "platform")
    if platform:
        assert "SAM-specification platform" in problem.message
        assert "CAPILLARY, DNBSEQ, ELEMENT" in problem.fix and "ULTIMA" in problem.fix
    if platform == "MGI":
        assert "use DNBSEQ" in problem.fix
    if platform == "Novaseq":
        assert "use ILLUMINA" in problem.fix


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_sam_platform_accepted_any_case(tmp_path: Path, platform: str) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    units_tsv.write_text(units_tsv.read_text().replace("\tILLUMINA\t", f"\t{platform.lower()}\t"))
    assert load_samplesheet(samples_tsv, units_tsv)["DEMO002"].units[0].platform == platform


# ---- IDs unsafe in paths -------------------------------------------------------------------
UNSAFE_IDS = [
    ("", "empty"),
    ("DEMO 1", "whitespace"),
    ("DEMO\u00a01", "whitespace"),
    ("DEMO/1", "'/', a path separator"),
    ("DEMO\\1", "'\\\\', a path separator"),
    ("DEMO..1", "'..'"),
    ("..", "'..'"),
    ("-DEMO1", "starts with '-'"),
    (".DEMO1", "starts with '.'"),
    ("DEMO;1", "not allowed in IDs: ';'"),
    ("DEMØ1", "not allowed in IDs: 'Ø'"),
    ("DEMO$(rm)", "not allowed in IDs: '$', '(', ')'"),
]


@pytest.mark.parametrize(("value", "reason"), UNSAFE_IDS)
@pytest.mark.parametrize("column", ["unit_id", "library"])
def test_unsafe_unit_ids(tmp_path: Path, column: str, value: str, reason: str) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    index = UNITS_HEADER.index(column)
    row = units_row("DEMO002", "HYYYYYY.1", "fastq/a_R1.fastq.gz", "fastq/a_R2.fastq.gz")
    row[index] = value
    write_tsv(
        units_tsv,
        [
            UNITS_HEADER,
            row,
            units_row("DEMO001", "U", "fastq/b_R1.fastq.gz", "fastq/b_R2.fastq.gz"),
        ],
    )
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1, problems
    problem = find(problems, units_tsv, 2, column, reason)
    if value:
        assert repr(value) in problem.message
    assert "letters" in problem.fix


@pytest.mark.parametrize(("value", "reason"), UNSAFE_IDS)
def test_unsafe_sample_ids(tmp_path: Path, value: str, reason: str) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[SAMPLES_HEADER, [value, "male", "routine", "x", ""]],
        units=[UNITS_HEADER, units_row(value, "U1", "fastq/a_R1.fastq.gz", "fastq/a_R2.fastq.gz")],
    )
    problems = problems_of(samples_tsv, units_tsv)
    find(problems, samples_tsv, 2, "sample_id", reason)
    find(problems, units_tsv, 2, "sample_id", reason)
    assert not any("not listed" in p.message or "no units" in p.message for p in problems)


# ---- CPR numbers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        CPR,
        CPR_DIGITS,
        "P0101901234X",
        "311299-0000",
        "patient 010190-1234 epilepsy",
        "/data/0101901234/reads_R1.fastq.gz",
        "DEMO_3112991234",
    ],
)
def test_looks_like_cpr_positives(text: str) -> None:
    assert looks_like_cpr(text)


@pytest.mark.parametrize(
    "text",
    [
        "HXXXXXX.1",
        "12345",
        "321390-1234",  # day 32
        "011390-1234",  # month 13
        "000190-1234",  # day 00
        "010090-1234",  # month 00
        "010190-123",
        "20231122123456",  # 14-digit run
        "12345678901",  # 11-digit run
        "123456789",
        "DEMO001",
        "2026-11-20",
        "2026-11-20T08:30:00+01:00",
        "HXXXXXX.1_010190",
        "",
    ],
)
def test_looks_like_cpr_negatives(text: str) -> None:
    assert not looks_like_cpr(text)


def cpr_leaks(text: str) -> bool:
    return CPR in text or CPR_DIGITS in text or "1234" in text


@pytest.mark.parametrize(
    ("sheet", "column", "value"),
    [
        ("samples", "sample_id", CPR),
        ("samples", "indication", f"referral for {CPR}"),
        ("samples", "ward", CPR_DIGITS),
        ("samples", "received", CPR_DIGITS),
        ("units", "unit_id", f"H{CPR_DIGITS}.1"),
        ("units", "library", CPR),
        ("units", "fq1", f"fastq/{CPR_DIGITS}_R1.fastq.gz"),
        ("units", "platform", CPR),
    ],
)
def test_cpr_in_a_cell_is_rejected_and_masked(
    tmp_path: Path, sheet: str, column: str, value: str
) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    if sheet == "samples":
        header = SAMPLES_HEADER + ["ward"]
        row = dict(zip(header, ["DEMO002", "male", "routine", "x", "", "B"], strict=True))
        row[column] = value
        if column == "sample_id":
            units_tsv.write_text(units_tsv.read_text().replace("DEMO002", value))
        lines = samples_tsv.read_text().splitlines()
        lines[1] = "\t".join(row.values())
        samples_tsv.write_text("\n".join(lines) + "\n")
        path = samples_tsv
    else:
        row = dict(
            zip(
                UNITS_HEADER,
                units_row("DEMO002", "U1", "fastq/b_R1.fastq.gz", "fastq/b_R2.fastq.gz"),
                strict=True,
            )
        )
        row[column] = value
        lines = units_tsv.read_text().splitlines()
        lines[2] = "\t".join(row.values())
        units_tsv.write_text("\n".join(lines) + "\n")
        path = units_tsv
    with pytest.raises(SampleSheetError) as info:
        load_samplesheet(samples_tsv, units_tsv)
    problems = info.value.problems
    line = 2 if sheet == "samples" else 3
    problem = find(problems, path, line, column, "looks like a CPR number")
    assert "pseudonym" in problem.fix and "personal identifier" in problem.fix
    assert "******" in problem.message or "**********" in problem.message
    # the value never leaks, in any problem or in the exception text
    assert not cpr_leaks(str(info.value)), str(info.value)
    for p in problems:
        assert not any(cpr_leaks(text) for text in (p.message, p.fix, p.column or ""))
    # the CPR cell gets one problem, not a pile of follow-up messages
    assert (
        len([p for p in problems if p.line == line and p.column == column and p.file == path]) == 1
    )


def test_cpr_in_comment_header_and_malformed_row(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    text = samples_tsv.read_text().splitlines()
    text.insert(0, f"# sheet for {CPR}")
    text[1] += f"\t{CPR_DIGITS}"
    text.append(f"DEMO009 {CPR} male")
    samples_tsv.write_text("\n".join(text) + "\n")
    with pytest.raises(SampleSheetError) as info:
        load_samplesheet(samples_tsv, units_tsv)
    problems = info.value.problems
    find(problems, samples_tsv, 1, None, "comment", "CPR")
    find(problems, samples_tsv, 2, None, "header column 7", "CPR")
    find(problems, samples_tsv, 5, None, "CPR")
    assert not cpr_leaks(str(info.value)), str(info.value)


def test_problem_masks_cpr_even_if_given_one() -> None:
    problem = Problem(Path("s.tsv"), 2, "c", f"bad {CPR}", f"not {CPR_DIGITS}")
    assert problem.message == "bad ******-****" and problem.fix == "not **********"


# ---- FASTQ checks --------------------------------------------------------------------------
def fastq_problem(tmp_path: Path, column: str, *fragments: str, **kwargs: bool) -> Problem:
    samples_tsv, units_tsv = tmp_path / "samples.tsv", tmp_path / "units.tsv"
    problems = problems_of(samples_tsv, units_tsv, **kwargs)
    return find(problems, units_tsv, 2, column, *fragments)


def replace_fastq(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "fastq" / name
    path.write_bytes(data)
    return path


def test_fastq_missing(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    (tmp_path / "fastq" / "a_R2.fastq.gz").unlink()
    problem = fastq_problem(tmp_path, "fq2", "not found", str(tmp_path / "fastq" / "a_R2.fastq.gz"))
    assert str(tmp_path) in problem.fix  # says where relative paths are resolved


def test_fastq_path_with_surrounding_spaces(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    units_tsv.write_text(
        units_tsv.read_text().replace("fastq/a_R1.fastq.gz", "fastq/a_R1.fastq.gz ")
    )
    fastq_problem(tmp_path, "fq1", "'fastq/a_R1.fastq.gz '", "spaces")


def test_fastq_broken_symlink(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    target = tmp_path / "fastq" / "a_R1.fastq.gz"
    target.unlink()
    target.symlink_to(tmp_path / "gone.fastq.gz")
    fastq_problem(tmp_path, "fq1", "broken symbolic link")


def test_fastq_is_a_directory(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    target = tmp_path / "fastq" / "a_R1.fastq.gz"
    target.unlink()
    target.mkdir()
    fastq_problem(tmp_path, "fq1", "is a directory")


def test_fastq_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_sheet(tmp_path)
    target = tmp_path / "fastq" / "a_R1.fastq.gz"
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    problem = fastq_problem(tmp_path, "fq1", "cannot be read", "Permission denied")
    assert "readable" in problem.fix


def test_fastq_empty(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    replace_fastq(tmp_path, "a_R1.fastq.gz", b"")
    fastq_problem(tmp_path, "fq1", "empty (0 bytes)")


def test_fastq_gzip_without_reads(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    replace_fastq(tmp_path, "a_R1.fastq.gz", gzip.compress(b""))
    fastq_problem(tmp_path, "fq1", "no reads")


def test_fastq_same_file(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(tmp_path)
    units_tsv.write_text(
        units_tsv.read_text().replace("fastq/a_R2.fastq.gz", "fastq/./a_R1.fastq.gz")
    )
    fastq_problem(tmp_path, "fq2", "same file")


def test_fastq_truncated_gzip(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    data = gzip.compress(fastq_text(READS).encode())
    replace_fastq(tmp_path, "a_R2.fastq.gz", data[: len(data) // 2])
    problem = fastq_problem(tmp_path, "fq2", "gzip", "a_R2.fastq.gz")
    assert "truncated or corrupt" in problem.fix


def test_fastq_corrupt_gzip(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    data = bytearray(gzip.compress(fastq_text(READS).encode()))
    data[12:40] = bytes(28)
    replace_fastq(tmp_path, "a_R1.fastq.gz", bytes(data))
    fastq_problem(tmp_path, "fq1", "not readable gzip data")


def test_fastq_other_compression(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    replace_fastq(tmp_path, "a_R1.fastq.gz", bz2.compress(fastq_text(READS).encode()))
    fastq_problem(tmp_path, "fq1", "bzip2-compressed")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (">r1\nACGT\n", "line 1 (record 1) should be a read header starting with '@'"),
        ("@r1\nACGT\n-\nIIII\n", "line 3 (record 1) should start with '+'"),
        (
            "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n",
            "record 2 (lines 5-8) has 4 bases but 3 quality",
        ),
        ("@r1\nACGT\n+\nIIII\n@r2\nACGT\n", "ends in the middle of record 2"),
        ("chr1\t100\n", "read header"),
    ],
)
def test_fastq_malformed_records(tmp_path: Path, text: str, fragment: str) -> None:
    make_sheet(tmp_path)
    replace_fastq(tmp_path, "a_R1.fastq.gz", gzip.compress(text.encode()))
    fastq_problem(tmp_path, "fq1", fragment)


def test_fastq_plain_malformed(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    replace_fastq(tmp_path, "a_R1.fastq.gz", b"@r1\nACGT\n+\nII\n")
    fastq_problem(tmp_path, "fq1", "4 bases but 2 quality")


def test_fastq_only_first_records_are_checked(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    text = fastq_text(READS[:4], "/1") + "garbage\n"
    replace_fastq(tmp_path, "a_R1.fastq.gz", gzip.compress(text.encode()))
    load_samplesheet(tmp_path / "samples.tsv", tmp_path / "units.tsv")


def test_fastq_read_names_do_not_pair(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    write_fastq(tmp_path / "fastq" / "a_R2.fastq.gz", ["r1", "r2", "rX", "r4"], "/2")
    problem = fastq_problem(tmp_path, "fq2", "do not pair up", "read 3", "'r3'", "'rX'")
    assert str(tmp_path / "fastq" / "a_R1.fastq.gz") in problem.message
    assert str(tmp_path / "fastq" / "a_R2.fastq.gz") in problem.message


def test_fastq_read_counts_do_not_pair(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    write_fastq(tmp_path / "fastq" / "a_R2.fastq.gz", ["r1", "r2"], "/2")
    fastq_problem(tmp_path, "fq2", "do not pair up", "4 read(s)", "has 2")


def test_fastq_names_pair_with_casava_style_headers(tmp_path: Path) -> None:
    make_sheet(tmp_path)
    (tmp_path / "fastq" / "a_R1.fastq.gz").write_bytes(
        gzip.compress(b"@A:1:FC:1:1:1:1 1:N:0:ACGT\nAC\n+\nII\n")
    )
    (tmp_path / "fastq" / "a_R2.fastq.gz").write_bytes(
        gzip.compress(b"@A:1:FC:1:1:1:1 2:N:0:ACGT\nAC\n+\nII\n")
    )
    load_samplesheet(tmp_path / "samples.tsv", tmp_path / "units.tsv")


@needs_giab
def test_giab_pair_is_valid(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[SAMPLES_HEADER, ["NA12878", "female", "research", "GIAB reference", ""]],
        units=[UNITS_HEADER, units_row("NA12878", "C0D8DACXX.1", str(GIAB_R1), str(GIAB_R2))],
    )
    (unit,) = load_samplesheet(samples_tsv, units_tsv)["NA12878"].units
    assert unit.fq1 == GIAB_R1 and unit.fq2 == GIAB_R2


@needs_giab
def test_giab_orphans_do_not_pair(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[SAMPLES_HEADER, ["NA12878", "female", "research", "GIAB reference", ""]],
        units=[UNITS_HEADER, units_row("NA12878", "C0D8DACXX.1", str(GIAB_ORPHANS), str(GIAB_R2))],
    )
    problems = problems_of(samples_tsv, units_tsv)
    assert len(problems) == 1
    problem = find(problems, units_tsv, 2, "fq2", "do not pair up")
    assert GIAB_ORPHANS.name in problem.message and GIAB_R2.name in problem.message


@needs_giab
def test_giab_truncated_bgzf(tmp_path: Path) -> None:
    data = GIAB_R1.read_bytes()
    truncated = tmp_path / "truncated_R1.fastq.gz"
    truncated.write_bytes(data[: len(data) // 3])
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[SAMPLES_HEADER, ["NA12878", "female", "research", "x", ""]],
        units=[UNITS_HEADER, units_row("NA12878", "C0D8DACXX.1", truncated.name, str(GIAB_R2))],
    )
    fastq_problem(tmp_path, "fq1", "truncated", "end-of-file marker")


# ---- several problems at once --------------------------------------------------------------
def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    samples_tsv, units_tsv = make_sheet(
        tmp_path,
        samples=[
            SAMPLES_HEADER,
            ["DEMO001", "M", "acute", "x", ""],
            ["DEMO002", "male", "asap", "x", "yesterday"],
            ["DEMO001", "female", "routine", "x", ""],
        ],
        units=[
            UNITS_HEADER,
            units_row("DEMO001", "H.1", "fastq/a_R1.fastq.gz", "fastq/nope.fastq.gz", "solexa"),
            units_row("DEMO003", "H/2", "fastq/b_R1.fastq.gz", "fastq/b_R2.fastq.gz"),
        ],
    )
    problems = problems_of(samples_tsv, units_tsv)
    expected = [
        (samples_tsv, 2, "sex"),
        (samples_tsv, 3, "sample_id"),  # DEMO002 has no units
        (samples_tsv, 3, "priority"),
        (samples_tsv, 3, "received"),
        (samples_tsv, 4, "sample_id"),  # duplicate
        (units_tsv, 2, "fq2"),  # missing file
        (units_tsv, 2, "platform"),
        (units_tsv, 3, "sample_id"),  # unknown sample
        (units_tsv, 3, "unit_id"),  # unsafe
    ]
    assert sorted((p.file, p.line, p.column) for p in problems) == sorted(expected)
    # samples.tsv first, then units.tsv; by line within a file
    assert [p.file for p in problems] == [samples_tsv] * 5 + [units_tsv] * 4
    lines = [p.line for p in problems if p.file == samples_tsv]
    assert lines == sorted(lines)
    text = str(SampleSheetError(problems))
    assert text.splitlines()[0] == "9 problem(s) in the sample sheet:"
    assert len(text.splitlines()) == 10


def test_problem_str_without_line_or_column() -> None:
    problem = Problem(Path("runs/samples.tsv"), None, None, "samples.tsv not found.", "Check it.")
    assert str(problem) == "runs/samples.tsv: samples.tsv not found. Fix: Check it."
    problem = Problem(Path("units.tsv"), 3, None, "bad row", "Use tabs.")
    assert str(problem) == "units.tsv:3: bad row. Fix: Use tabs."


def test_error_is_a_value_error() -> None:
    error = SampleSheetError([Problem(Path("s.tsv"), 1, "sex", "x", "y")])
    assert isinstance(error, ValueError)
    assert error.problems[0].column == "sex"


# ---- read groups ---------------------------------------------------------------------------
def test_read_group() -> None:
    unit = Unit(
        "DEMO001", "HXXXXXX.1", Path("/a_R1.fq.gz"), Path("/a_R2.fq.gz"), "ILLUMINA", "LIB1", 2
    )
    assert read_group_fields(unit) == {
        "ID": "DEMO001.HXXXXXX.1",
        "SM": "DEMO001",
        "PU": "HXXXXXX.1",
        "LB": "LIB1",
        "PL": "ILLUMINA",
    }
    rg = read_group(unit)
    assert rg == r"@RG\tID:DEMO001.HXXXXXX.1\tSM:DEMO001\tPU:HXXXXXX.1\tLB:LIB1\tPL:ILLUMINA"
    assert "\t" not in rg and rg.count("\\t") == 5


def test_read_group_of_loaded_unit(tmp_path: Path) -> None:
    unit = load_samplesheet(*make_sheet(tmp_path))["DEMO001"].units[1]
    assert read_group(unit).endswith(r"\tPU:HXXXXXX.2\tLB:LIB1\tPL:ILLUMINA")


def test_read_group_rejects_unsafe_values() -> None:
    unit = Unit("DEMO 1", "U1", Path("a"), Path("b"), "ILLUMINA", "L'1", 2)
    with pytest.raises(ValueError, match="may only contain"):
        read_group(unit)


# ---- schemas and constants -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["samples", "units"])
def test_schemas_are_valid_and_documented(name: str) -> None:
    schema = yaml.safe_load((ss.SCHEMA_DIR / f"{name}.schema.yaml").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    for prop, sub in schema["properties"].items():
        assert sub.get("description", "").strip(), f"{name}.{prop} has no description"
        assert sub["type"] == "string"
    required = ss.SAMPLES_REQUIRED if name == "samples" else ss.UNITS_REQUIRED
    if name == "units":  # fq1/fq2 or aligned: checked in helgenom.samplesheet
        required = tuple(c for c in required if c not in ss.FASTQ_COLUMNS)
    assert schema["required"] == list(required)


def test_schema_enums_match_constants() -> None:
    samples = yaml.safe_load((ss.SCHEMA_DIR / "samples.schema.yaml").read_text())
    units = yaml.safe_load((ss.SCHEMA_DIR / "units.schema.yaml").read_text())
    assert tuple(samples["properties"]["sex"]["enum"]) == SEXES
    assert tuple(samples["properties"]["priority"]["enum"]) == PRIORITIES
    assert tuple(units["properties"]["platform"]["enum"]) == PLATFORMS
    assert PRIORITIES == ("acute", "urgent", "routine", "research")


def test_schema_id_pattern_agrees_with_python_check() -> None:
    pattern = re.compile(
        yaml.safe_load((ss.SCHEMA_DIR / "units.schema.yaml").read_text())["properties"]["unit_id"][
            "pattern"
        ]
    )
    for value, _ in UNSAFE_IDS:
        assert not pattern.search(value), value
    for value in ["HXXXXXX.1", "DEMO001", "a-b_c.d", "1"]:
        assert pattern.search(value) and not ss._id_reasons(value)
