"""Runs of homozygosity (helgenom.roh): bcftools roh's regions parsed, counted per chromosome
and turned into UPD and consanguinity hints; the MultiQC table; the command's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from helgenom.config import validate_config
from helgenom.roh import (
    RohSettings,
    Segment,
    analysed_contigs,
    read_roh_regions,
    roh_command_options,
    summarise_roh,
    write_roh_mqc,
)

MB = 1_000_000
# The config's defaults: 1 Mb segments, 50 markers, UPD from 10 Mb, consanguinity from 2 %.
DEFAULTS = RohSettings.from_config(
    validate_config(
        {
            "samples": "s",
            "units": "u",
            "reference": {"fasta": "r.fa", "build": "b", "prep_dir": "p"},
        }
    )["roh"]
)
# Three autosomes of 100 Mb each plus X (ignored: male X reads as one long ROH).
ACGT = {"chr1": (100 * MB, 100 * MB), "chr2": (100 * MB, 100 * MB), "chr3": (100 * MB, 100 * MB),
        "chrX": (150 * MB, 150 * MB), "chrM": (16_569, 16_569)}  # fmt: skip


def seg(contig: str, start_mb: float, length_mb: float, markers: int = 500) -> Segment:
    start = int(start_mb * MB) + 1
    return Segment(contig, start, start + int(length_mb * MB) - 1, markers, 60.0)


def test_defaults_are_the_documented_ones() -> None:
    assert RohSettings(MB, 50, 10 * MB, 0.02, 0.4, None) == DEFAULTS


def test_outbred_genome_gives_no_hint() -> None:
    summary = summarise_roh("S1", [seg("chr1", 10, 1.5), seg("chr2", 50, 2)], ACGT, DEFAULTS)
    assert summary["hints"] == []
    assert summary["total"] == {
        "segments": 2, "roh_bases": int(3.5 * MB), "acgt_bases": 300 * MB,
        "fraction": round(3.5 / 300, 4), "longest": 2 * MB,
    }  # fmt: skip
    assert "No ROH pattern" in summary["interpretation"]


def test_one_long_segment_on_one_chromosome_hints_upd() -> None:
    summary = summarise_roh("S1", [seg("chr2", 20, 40), seg("chr1", 5, 1.2)], ACGT, DEFAULTS)
    assert summary["hints"] == ["upd:chr2"]
    rows = {r["contig"]: r for r in summary["chromosomes"]}
    assert rows["chr2"]["hint"] == "upd" and rows["chr2"]["fraction"] == 0.4
    assert rows["chr1"]["hint"] == "" and rows["chr1"]["segments"] == 1
    assert "uniparental isodisomy" in summary["interpretation"]


def test_roh_spread_over_chromosomes_hints_consanguinity_not_upd() -> None:
    # ~6 % of the autosomes (first cousins: 1/16) in 4-8 Mb pieces on every chromosome
    segments = [seg(c, s, 6) for c in ("chr1", "chr2", "chr3") for s in (10, 60)]
    summary = summarise_roh("S1", segments, ACGT, DEFAULTS)
    assert summary["hints"] == ["consanguinity"]
    assert summary["total"]["fraction"] == 0.12


def test_long_segments_with_consanguinity_elsewhere_are_no_upd() -> None:
    segments = [seg("chr1", 10, 30)] + [seg(c, 10, 5) for c in ("chr2", "chr3")]
    summary = summarise_roh("S1", segments, ACGT, DEFAULTS)
    assert summary["hints"] == ["consanguinity"]


def test_short_thin_and_non_autosomal_segments_are_not_counted() -> None:
    segments = [
        seg("chr1", 10, 0.9),  # shorter than min_length
        seg("chr1", 30, 20, markers=49),  # fewer markers than min_markers
        seg("chrX", 0, 150),  # male X
        Segment("chrM", 1, 16_569, 60, 50.0),
    ]
    summary = summarise_roh("S1", segments, ACGT, DEFAULTS)
    assert summary["total"]["segments"] == 0 and summary["hints"] == []
    assert [r["contig"] for r in summary["chromosomes"]] == ["chr1", "chr2", "chr3"]


@pytest.mark.parametrize(
    ("contigs", "analysed"),
    [
        (["chr1", "chr2", "chrX", "chrY", "chrM", "chrUn_x"], ["chr1", "chr2"]),
        (["1", "22", "X", "MT"], ["1", "22"]),
        (["demo1", "demo2", "chrM"], ["demo1", "demo2"]),  # no human autosome names
    ],
)
def test_analysed_contigs(contigs: list[str], analysed: list[str]) -> None:
    assert analysed_contigs(contigs) == analysed


def test_reads_bcftools_roh_regions_of_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "S1.roh.txt"
    path.write_text(
        "# This file was produced by: bcftools roh(1.16+htslib-1.16)\n"
        "# RG\t[2]Sample\t[3]Chromosome\t[4]Start\t[5]End\t[6]Length (bp)\t[7]Number of "
        "markers\t[8]Quality (average fwd-bwd phred score)\n"
        "RG\tS1\tdemo2\t20755\t83985\t63231\t54\t57.4\n"
        "RG\tOTHER\tdemo2\t1\t100\t100\t3\t10.0\n"
    )
    assert read_roh_regions(path, "S1") == [Segment("demo2", 20755, 83985, 54, 57.4)]
    assert read_roh_regions(path, "S1")[0].length == 63231
    path.write_text("RG\tS1\tdemo2\t1\n")
    with pytest.raises(ValueError, match=r"S1.roh.txt, line 1: an RG line needs 8 fields"):
        read_roh_regions(path, "S1")


def test_mqc_table(tmp_path: Path) -> None:
    summaries = [
        summarise_roh("A", [seg("chr2", 20, 40)], ACGT, DEFAULTS),
        summarise_roh("B", [], ACGT, DEFAULTS),
    ]
    out = tmp_path / "roh_mqc.tsv"
    write_roh_mqc(summaries, out)
    rows = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows == [
        ["Sample", "roh_segments", "roh_mb", "roh_pct", "longest_kb", "hints"],
        ["A", "1", "40.000", "13.33", "40000.0", "upd:chr2"],
        ["B", "0", "0.000", "0.00", "0.0", "none"],
    ]


def test_command_options_use_the_af_file_when_given() -> None:
    assert "--AF-dflt 0.4" in roh_command_options(DEFAULTS)
    assert "--skip-indels" in roh_command_options(DEFAULTS)
    with_file = RohSettings(MB, 50, 10 * MB, 0.02, 0.4, "gnomad.af.tsv.gz")
    assert "--AF-file gnomad.af.tsv.gz" in roh_command_options(with_file)
    assert "--AF-dflt" not in roh_command_options(with_file)


def test_config_problems_name_the_key_and_fix(tmp_path: Path) -> None:
    from helgenom.config import ConfigError, check_roh

    config_file = tmp_path / "config.yaml"
    config_file.write_text("roh:\n  af_file: missing.tsv.gz\n  upd_min_length: 10\n")
    config = {"roh": {"af_file": str(tmp_path / "missing.tsv.gz"), "upd_min_length": 10,
                      "min_length": 1000}}  # fmt: skip
    with pytest.raises(ConfigError) as error:
        check_roh(config, [config_file])
    text = str(error.value)
    assert f"{config_file}:2: 'roh.af_file': file" in text and "does not exist" in text
    assert f"{config_file}:3: 'roh.upd_min_length' (10) is below roh.min_length" in text
    af = tmp_path / "af.tsv.gz"
    af.write_bytes(b"")
    config = {"roh": {"af_file": str(af), "upd_min_length": 2000, "min_length": 1000}}
    with pytest.raises(ConfigError, match="has no tabix index. Fix: tabix"):
        check_roh(config, [config_file])
    (tmp_path / "af.tsv.gz.tbi").write_bytes(b"")
    check_roh(config, [config_file])


def test_compare_roh_counts_base_pairs() -> None:
    from helgenom.roh import compare_roh

    found = [{"contig": "demo2", "start": 20755, "end": 83985}]  # 1-based inclusive
    recall, precision = compare_roh([("demo2", 20000, 80000)], found)  # BED
    assert recall == (80000 - 20754) / 60000 and precision == (80000 - 20754) / 63231
    assert compare_roh([], []) == (None, None)
    assert compare_roh([("demo1", 0, 100)], []) == (0.0, None)
    assert compare_roh([], found) == (None, 0.0)
