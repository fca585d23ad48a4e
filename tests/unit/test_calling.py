from __future__ import annotations

from pathlib import Path

import pytest
from calling_examples import FILTERS

from helgenom.calling import (
    call_chunk_command,
    filter_header_lines,
    freebayes_arguments,
    mode_callers,
    rescue_exclude,
    soft_filter_pipeline,
    write_chunk_beds,
)
from helgenom.versions import tools_in_command


def test_write_chunk_beds(tmp_path: Path) -> None:
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t100\t6\t60\t61\nchr2\t50\t200\t60\t61\n")
    beds = [tmp_path / f"{i}.bed" for i in range(3)]
    write_chunk_beds(fai, beds)
    rows = [b.read_text().splitlines() for b in beds]
    assert rows == [["chr1\t0\t50"], ["chr1\t50\t100"], ["chr2\t0\t50"]]


def test_write_chunk_beds_too_many_chunks(tmp_path: Path) -> None:
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t2\t6\t60\t61\n")
    try:
        write_chunk_beds(fai, [tmp_path / f"{i}.bed" for i in range(3)])
    except ValueError as error:
        assert "lower calling.chunks" in str(error)
    else:
        raise AssertionError("expected a ValueError")


def test_filter_header_lines_escape_quotes() -> None:
    lines = filter_header_lines(FILTERS).splitlines()
    assert lines[1] == "##FILTER=<ID=LowDepth,Description=\"Fewer than 8 'reads' (INFO/DP<8)\">"


def test_no_filters_no_stages() -> None:
    assert soft_filter_pipeline([]) == ""


# ---- calling modes and the gVCF ------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "tools"),
    [
        ("bcftools", {"bcftools"}),
        ("freebayes", {"freebayes", "bcftools"}),
        ("bcftools+freebayes", {"freebayes", "bcftools"}),
    ],
)
def test_call_chunk_command_runs_the_modes_callers(mode: str, tools: set[str]) -> None:
    assert mode_callers(mode)[0] == mode.split("+")[0]
    with_gvcf, without = call_chunk_command(mode, True), call_chunk_command(mode, False)
    assert tools_in_command(with_gvcf) == tools
    assert "{output.gvcf}" in with_gvcf and "{output.gvcf}" not in without
    assert ("rescued.bcf" in without) == (mode == "bcftools+freebayes")
    # The VCF is the caller's variant records whether or not the gVCF is kept.
    assert "bcftools call {params.call} --gvcf {params.gvcf_bands}" in without or (
        mode == "freebayes"
    )


def test_freebayes_gvcf_only_when_its_gvcf_is_kept() -> None:
    assert freebayes_arguments("freebayes", True, "-n 4") == "--gvcf -n 4"
    assert freebayes_arguments("freebayes", False, "-n 4") == "-n 4"
    assert freebayes_arguments("bcftools+freebayes", True, "") == ""
    with pytest.raises(ValueError, match="unknown calling.mode"):
        mode_callers("gatk")


def test_rescue_exclude_joins_the_filters() -> None:
    assert rescue_exclude([]) == ""
    assert rescue_exclude(FILTERS) == "--exclude '(QUAL<20) || (INFO/DP<8)'"
