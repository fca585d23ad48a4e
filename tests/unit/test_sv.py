"""Structural variants (helgenom.sv): the config section, the merge step (PASS calls, sizes,
order, INFO SVCALLERS and PANEL_GENES), the panel-gene overlap, the summary and MultiQC table,
the truth comparison; and the SVs the demo plants (helgenom.demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest
from sv_examples import BED, HEADER, RECORDS, two_callers

from helgenom import demo
from helgenom.config import ConfigError, check_sv, validate_config
from helgenom.sv import (
    GeneInterval,
    SvCall,
    SvSettings,
    breakend_junction,
    caller_calls,
    compare_sv,
    genes_touched,
    merge_sv_calls,
    parse_survivor_merge,
    read_gene_intervals,
    read_regions,
    read_sv_calls,
    summarise_sv,
    write_sv_mqc,
)

BASE = {"samples": "s", "units": "u", "reference": {"fasta": "r.fa", "build": "b"}}
DEFAULTS = SvSettings.from_config(validate_config(BASE)["sv"])


def _write_vcf(path: Path, records: list[str]) -> Path:
    path.write_text(HEADER.replace("\\t", "\t") + "".join(r + "\n" for r in records))
    return path


def _bed(tmp_path: Path) -> list[GeneInterval]:
    bed = tmp_path / "panel.bed"
    bed.write_text(BED)
    return read_gene_intervals(bed)


DELLY = SvSettings(("delly",), 50)


def test_defaults_are_the_documented_ones() -> None:
    assert SvSettings(("delly", "tiddit"), 50, None, 1000) == DEFAULTS


@pytest.mark.parametrize(
    "callers", [["delly"], ["tiddit"], ["delly", "tiddit"], ["tiddit", "delly"]]
)
def test_schema_takes_each_caller_and_both(callers: list[str]) -> None:
    section = validate_config({**BASE, "sv": {"callers": callers}})["sv"]
    # always in helgenom.sv.SV_CALLERS order: a call both made is written as delly's
    assert SvSettings.from_config(section).callers == tuple(
        c for c in ("delly", "tiddit") if c in callers
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"callers": ["manta"]}, r"'sv.callers\[0\]': 'manta' is not one of \['delly', 'tiddit'\]"),
        ({"callers": ["delly", "delly"]}, "'sv.callers'"),
        ({"callers": ["delly", "tiddit", "delly"]}, "'sv.callers'"),
        ({"callers": []}, "'sv.callers'"),
        ({"callers": "delly"}, "'sv.callers'"),
        ({"min_size": 0}, "'sv.min_size'"),
        ({"merge_distance": 0}, "'sv.merge_distance'"),
        ({"window": 3}, "'sv'"),
    ],
)
def test_schema_rejects_bad_sections(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        validate_config({**BASE, "sv": section})
    assert "Fix:" in str(error.value)


def test_bad_caller_names_the_file_line_and_the_callers(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text("sv:\n  callers: [delly, manta]\n")
    with pytest.raises(ConfigError) as error:
        validate_config({**BASE, "sv": {"callers": ["delly", "manta"]}}, [config_file])
    text = str(error.value)
    assert f"{config_file}:2: 'sv.callers[1]': 'manta' is not one of" in text, text
    assert "Fix: an SV caller helgenom runs: delly (delly call) or tiddit" in text, text
    with pytest.raises(ValueError, match="none of"):
        SvSettings.from_config({"callers": ["manta"], "min_size": 50})


def test_missing_exclude_file_names_file_line_and_fix(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text("sv:\n  min_size: 100\n  exclude_bed: gone.tsv\n")
    config = {"sv": {"exclude_bed": str(tmp_path / "gone.tsv")}}
    with pytest.raises(ConfigError) as error:
        check_sv(config, [config_file])
    text = str(error.value)
    assert f"{config_file}:3: 'sv.exclude_bed': file" in text and "does not exist" in text
    assert "Fix:" in text
    (tmp_path / "gone.tsv").write_text("c1\t0\t100\n")
    check_sv(config, [config_file])
    check_sv({"sv": {"exclude_bed": None}}, [config_file])


def test_genes_touched_by_spans_and_breakpoints(tmp_path: Path) -> None:
    genes = _bed(tmp_path)
    deletion = SvCall("c1", 20000, 22000, "DEL")
    assert genes_touched(deletion, genes) == ("G2",)  # G3 begins after END
    assert genes_touched(SvCall("c1", 22000, 22500, "DEL"), genes) == ("G3",)
    assert genes_touched(SvCall("c1", 3000, 3399, "DUP"), genes) == ()  # G1 exon2 from 3400
    assert genes_touched(SvCall("c1", 3000, 3400, "DUP"), genes) == ("G1",)
    bnd = SvCall("c2", 1000, 1000, "BND", chr2="c1", pos2=5000)
    assert genes_touched(bnd, genes) == ("G1",)  # the breakpoint on its other contig
    assert genes_touched(SvCall("c1", 100, 100, "BND", chr2="c2", pos2=1), genes) == ()
    # a translocation's span is no span: c1:100 to c2 does not cover G1
    assert genes_touched(SvCall("c1", 4000, 4000, "BND", chr2="c1", pos2=6000), genes) == ()


def test_merge_keeps_pass_calls_sorted_with_callers_and_genes(tmp_path: Path) -> None:
    vcf = _write_vcf(tmp_path / "delly.vcf", RECORDS)
    out = tmp_path / "S1.vcf.gz"
    calls = merge_sv_calls({"delly": vcf}, out, _bed(tmp_path), DELLY)
    assert [c.record_id for c in calls] == ["DUP1", "DEL1", "INV1", "BND1"]
    assert (tmp_path / "S1.vcf.gz.tbi").is_file()
    back = read_sv_calls(out)
    assert back == calls
    by_id = {c.record_id: c for c in back}
    assert by_id["DUP1"].genes == ("G1",) and by_id["DEL1"].genes == ("G2",)
    assert by_id["INV1"].genes == () and by_id["BND1"].genes == ("G1",)
    assert all(c.callers == ("delly",) for c in back)
    with pysam.VariantFile(str(out)) as fh:
        ids = {r.id: r.info["SVCALLER_IDS"] for r in fh}
    assert ids["DEL1"] == ("delly:DEL1",)
    assert by_id["DEL1"].genotype == "1/1" and by_id["DEL1"].precise
    assert by_id["BND1"].chr2 == "c1" and by_id["BND1"].pos2 == 5000
    assert by_id["DEL1"].size == 2000 and by_id["BND1"].size is None
    with pysam.VariantFile(str(out)) as fh:
        assert list(fh.header.contigs) == ["c1", "c2"]
        assert "PANEL_GENES" in fh.header.info and "SVCALLERS" in fh.header.info
        assert "G1" in str(fh.fetch("c2").__next__())  # the index works
    # a smaller minimum keeps the 30 bp deletion; PASS is always required
    small = merge_sv_calls({"delly": vcf}, tmp_path / "s.vcf.gz", [], SvSettings(("delly",), 10))
    assert {c.record_id for c in small} == {"DUP1", "DEL1", "DEL3", "INV1", "BND1"}
    with pytest.raises(ValueError, match=r"SV callers \['manta'\]"):
        merge_sv_calls({"manta": vcf}, tmp_path / "x.vcf.gz", [], DEFAULTS)


def test_unknown_sv_type_is_an_error(tmp_path: Path) -> None:
    vcf = _write_vcf(
        tmp_path / "odd.vcf", ["c1\t100\tX\tA\t<CNV>\t5\tPASS\tSVTYPE=CNV;END=900\tGT\t0/1"]
    )
    with pytest.raises(ValueError, match=r"c1:100: SV type 'CNV' is none of"):
        read_sv_calls(vcf)


def test_summary_and_mqc_table(tmp_path: Path) -> None:
    vcf = _write_vcf(tmp_path / "delly.vcf", RECORDS)
    calls = merge_sv_calls({"delly": vcf}, tmp_path / "S1.vcf.gz", _bed(tmp_path), DELLY)
    summary = summarise_sv("S1", calls, DELLY)
    assert summary["counts"] == {"DEL": 1, "DUP": 1, "INV": 1, "INS": 0, "BND": 1}
    assert summary["total"] == 4
    assert [c["id"] for c in summary["panel_calls"]] == ["DUP1", "DEL1", "BND1"]
    assert summary["interpretation"] == "3 structural variant(s) touch panel genes (G1, G2)"
    assert summary["settings"] == {
        "callers": ["delly"], "min_size": 50, "exclude_bed": None, "merge_distance": 1000,
    }  # fmt: skip
    none = summarise_sv("S2", [], DELLY)
    assert none["interpretation"] == "No structural variant touches a panel gene"
    table = tmp_path / "sv_mqc.tsv"
    write_sv_mqc([summary, none], table)
    lines = table.read_text().splitlines()
    assert lines[4] == "Sample\tDEL\tDUP\tINV\tINS\tBND\ttotal\tin panel genes"
    assert lines[5:] == ["S1\t1\t1\t1\t0\t1\t4\t3", "S2\t0\t0\t0\t0\t0\t0\t0"]


def test_compare_sv_by_overlap_and_breakpoints() -> None:
    truth = [
        SvCall("c1", 1000, 3000, "DEL"),
        SvCall("c1", 5000, 9000, "INV"),
        SvCall("c1", 20000, 20000, "BND", chr2="c2", pos2=700),
        SvCall("c2", 100, 600, "DUP"),
    ]
    calls = [
        SvCall("c1", 1003, 3001, "DEL"),
        SvCall("c1", 5000, 9000, "INV"),  # an inversion's two junctions: both count as found
        SvCall("c1", 5002, 9001, "INV"),
        SvCall("c2", 701, 701, "BND", chr2="c1", pos2=20001),  # the other way round
        SvCall("c2", 100, 600, "DEL"),  # wrong type
        SvCall("c1", 1000, 6000, "DEL"),  # overlaps the deletion by 2000 of 5000 bp
    ]
    result = compare_sv(truth, calls)
    assert [t.svtype for t, _ in result.matched] == ["DEL", "INV", "BND"]
    assert [t.svtype for t in result.missed] == ["DUP"]
    assert [(c.svtype, c.pos) for c in result.extra] == [("DEL", 100), ("DEL", 1000)]
    assert result.recall == 0.75 and result.precision == 4 / 6
    assert compare_sv([], []).recall is None and compare_sv([], []).precision is None
    far = [SvCall("c2", 1300, 1300, "BND", chr2="c1", pos2=20000)]
    assert compare_sv(truth[2:3], far).recall == 0.0  # 600 bp off: beyond 500


def test_demo_svs_are_applied_to_the_haplotypes() -> None:
    rng = np.random.default_rng(1)
    contigs = [rng.integers(0, 4, 3000).astype(np.uint8), rng.integers(0, 4, 2000).astype(np.uint8)]
    sample = demo.DemoSample(
        "T", "routine", "female", "x", 1, 1,
        svs=(demo.DemoSV("DEL", 0, 0.2, 0.3, (True, True)),
             demo.DemoSV("DUP", 0, 0.4, 0.5, (True, False)),
             demo.DemoSV("INV", 1, 0.2, 0.4, (False, True)),
             demo.DemoSV("BND", 0, 0.8, 0.75, (True, False), contig2=1)),
    )  # fmt: skip
    svs = demo._sv_coordinates(sample, [3000, 2000])
    # a 2 bp insertion on haplotype 0 before everything shifts its coordinates by 2
    ref = demo._decode(contigs[0][100:101])
    ins = demo._Variant(0, 100, ref, ref + "TT", (True, False))
    near = demo._Variant(0, 1190, "A", "C", (True, True))  # 10 bp before the duplication
    inside = demo._Variant(0, 700, "A", "C", (False, True))  # inside the deletion
    kept = demo._clear_sv_breakpoints([ins, near, inside], svs)
    assert kept == [ins]
    haps = demo._apply_svs(demo._haplotypes(contigs, kept), kept, svs)
    c1, c2 = (demo._decode(c) for c in contigs)
    i = c1[:101] + "TT" + c1[101:]  # haplotype 0 of contig 1 with the insertion (shift 2)
    rc = demo._decode((3 - contigs[1][400:800])[::-1])
    assert demo._decode(haps[1][0]) == c1[:600] + c1[900:]  # deletion only
    assert demo._decode(haps[1][1]) == c2[:400] + rc + c2[800:]  # inversion
    # haplotype 0: deletion, duplication, and contig tails swapped at 2400 / 1500
    assert demo._decode(haps[0][0]) == i[:602] + i[902:1502] + i[1202:2402] + c2[1500:]
    assert demo._decode(haps[0][1]) == c2[:1500] + i[2402:]
    with pytest.raises(ValueError, match="must lie before the translocation"):
        demo._sv_coordinates(
            demo.DemoSample(
                "T",
                "routine",
                "female",
                "x",
                1,
                1,
                svs=(
                    demo.DemoSV("DEL", 1, 0.7, 0.76, (True, True)),
                    demo.DemoSV("BND", 0, 0.8, 0.75, (True, False), contig2=1),
                ),
            ),  # fmt: skip
            [3000, 2000],
        )


def test_demo_truth_holds_the_planted_svs(demo_data: demo.DemoData) -> None:
    truth = read_sv_calls(demo_data.sv["DEMO001"])
    assert [(c.svtype, c.contig, c.pos, c.end, c.genotype) for c in truth] == [
        ("DEL", "demo1", 50000, 52000, "1/1"),
        ("DUP", "demo1", 79000, 83000, "0/1"),
        ("BND", "demo1", 120000, 120000, "0/1"),
        ("INV", "demo2", 29000, 33000, "0/1"),
        ("BND", "demo2", 65000, 65000, "0/1"),
    ]
    assert (truth[2].chr2, truth[2].pos2, truth[4].chr2, truth[4].pos2) == (
        "demo2", 65000, "demo1", 120000,
    )  # fmt: skip
    # DEMO002's planted copy-number changes (helgenom.demo.DEMO002_CNVS) are SVs too
    assert [
        (c.svtype, c.pos, c.end, c.genotype) for c in read_sv_calls(demo_data.sv["DEMO002"])
    ] == [
        ("DEL", 18000, 28000, "0/1"),
        ("DEL", 40000, 48000, "1/1"),
        ("DUP", 60000, 72000, "0/1"),
        ("DUP", 100000, 110000, "1/1"),
    ]
    # no planted small variant inside the deletion or near a breakpoint
    with pysam.VariantFile(str(demo_data.truth["DEMO001"])) as fh:
        positions = [(r.contig, r.pos) for r in fh]
    assert not [p for c, p in positions if c == "demo1" and 49950 <= p <= 52050]
    assert not [p for c, p in positions if c == "demo2" and 64950 <= p <= 65050]


def test_breakend_junction_from_the_bracket_notation(tmp_path: Path) -> None:
    vcf = _write_vcf(
        tmp_path / "bnd.vcf",
        [
            "c1\t100\ta\tA\tA[c2:300[\t9\tPASS\tSVTYPE=BND\tGT\t0/1",
            "c1\t100\tb\tA\tA]c2:300]\t9\tPASS\tSVTYPE=BND\tGT\t0/1",
            "c1\t100\tc\tA\t]c2:300]A\t9\tPASS\tSVTYPE=BND\tGT\t0/1",
            "c1\t100\td\tA\t[c2:300[A\t9\tPASS\tSVTYPE=BND\tGT\t0/1",
            "c2\t300\te\tA\t]c1:100]A\t9\tPASS\tSVTYPE=BND\tGT\t0/1",  # a's other side
            "c1\t100\tf\tA\t<DEL>\t9\tPASS\tSVTYPE=DEL;END=900\tGT\t0/1",
        ],
    )
    with pysam.VariantFile(str(vcf)) as fh:
        junctions = {r.id: breakend_junction(r) for r in fh}
    assert junctions["a"] == (("c1", 100, "+"), ("c2", 300, "-"))
    assert junctions["b"] == (("c1", 100, "+"), ("c2", 300, "+"))
    assert junctions["c"] == (("c1", 100, "-"), ("c2", 300, "+"))
    assert junctions["d"] == (("c1", 100, "-"), ("c2", 300, "-"))
    assert junctions["e"] == (("c2", 300, "-"), ("c1", 100, "+"))  # a, from c2's side
    assert junctions["f"] is None


def test_parse_survivor_merge_maps_records_back_to_callers() -> None:
    fmt = "GT:PSV:LN:DR:ST:QV:TY:ID:RAL:AAL:CO"
    both = "0/1:NA:2000:0,0:+-:80:DEL:delly_1:NA:NA:c1_20000-c1_22000"
    none = "./.:NaN:0:0,0:--:NaN:NaN:NaN:NAN:NAN:NAN"
    text = (
        "##fileformat=VCFv4.1\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts\ts_1\n"
        f"c1\t20000\tx\tN\t<DEL>\t.\tPASS\tSUPP=2;SUPP_VEC=11\t{fmt}\t{both}\t"
        f"{both.replace('delly_1', 'tiddit_2')}\n"
        f"c1\t90000\ty\tN\t<DEL>\t.\tPASS\tSUPP=1;SUPP_VEC=01\t{fmt}\t{none}\t"
        f"{both.replace('delly_1', 'tiddit_5')}\n"
    )
    assert parse_survivor_merge(text, ["delly", "tiddit"]) == [
        {"delly": ["delly_1"], "tiddit": ["tiddit_2"]},
        {"tiddit": ["tiddit_5"]},
    ]
    with pytest.raises(ValueError, match="line 3: 2 sample columns, expected 3"):
        parse_survivor_merge(text, ["delly", "tiddit", "manta"])


def test_one_caller_tiddit_is_copied_and_two_need_survivor(tmp_path: Path) -> None:
    vcfs = two_callers(tmp_path)
    only = SvSettings(("tiddit",), 50)
    calls = merge_sv_calls({"tiddit": vcfs["tiddit"]}, tmp_path / "t.vcf.gz", [], only)
    assert [c.record_id for c in calls] == ["SV_1_1", "SV_2_1", "SV_3_1", "SV_6_1", "SV_2_2"]
    assert {c.svtype for c in calls} == {"DUP", "DEL", "BND"}  # DUP:TANDEM counted as DUP
    with pytest.raises(FileNotFoundError, match="needs SURVIVOR"):
        merge_sv_calls(vcfs, tmp_path / "x.vcf.gz", [], DEFAULTS, survivor="/no/SURVIVOR")


def test_tiddit_wrapper_percentile_is_numpys_except_for_an_empty_list() -> None:
    """TIDDIT 3.5.2 stops on a sample without discordant-pair or split-read candidates; the
    wrapper (helgenom/scripts/tiddit_sv.py) gives 0 there, as TIDDIT 3.6.1 does."""
    from helgenom.scripts.tiddit_sv import empty_safe_percentile

    percentile = empty_safe_percentile(np)
    q = [1, 5, 50, 97.5, 99]
    with pytest.raises(IndexError):
        np.percentile([], q)  # what stops TIDDIT 3.5.2
    assert list(percentile([], q)) == [0.0] * 5
    ratios = [0.1, 0.4, 0.2, 0.9, 0.35]
    assert list(percentile(ratios, q)) == list(np.percentile(ratios, q))
    assert percentile.__wrapped__ is np.percentile


def test_exclude_regions_drop_tiddits_calls_not_dellys(tmp_path: Path) -> None:
    """delly skips sv.exclude_bed itself (delly call -x); TIDDIT cannot, so the merge step
    leaves out its calls with a breakpoint in an excluded region (a breakend's mate too)."""
    vcfs = two_callers(tmp_path)
    exclude = tmp_path / "excl.tsv"
    exclude.write_text("# centromeres\nc1\t91000\t91999\tcentromere\nc2\t0\t500\ttelomere\n")
    tiddit = SvSettings(("tiddit",), 50, str(exclude))
    kept = caller_calls(vcfs["tiddit"], "tiddit", tiddit)
    # SV_6_1 (90000-92000) spans the region but has no breakpoint in it: kept
    assert [c.record_id for c in kept] == ["SV_1_1", "SV_2_1", "SV_3_1", "SV_6_1", "SV_2_2"]
    exclude.write_text("c1\t91999\t92000\tx\nc1\t4990\t5010\ty\n")
    kept = caller_calls(vcfs["tiddit"], "tiddit", tiddit)
    # SV_6_1's END (92000) and both sides of the junction c1:5001 <-> c2:1000 are excluded
    assert [c.record_id for c in kept] == ["SV_1_1", "SV_3_1"]
    out = merge_sv_calls({"tiddit": vcfs["tiddit"]}, tmp_path / "t.vcf.gz", [], tiddit)
    assert [c.record_id for c in out] == ["SV_1_1", "SV_3_1"]
    delly = SvSettings(("delly",), 50, str(exclude))  # delly's own calls: not filtered again
    assert len(caller_calls(vcfs["delly"], "delly", delly)) == 4
    assert read_regions(exclude) == {"c1": [(91999, 92000), (4990, 5010)]}
    exclude.write_text("c1\tstart\tend\n")
    with pytest.raises(ValueError, match=r"excl.tsv, line 1: a region needs contig, start, end"):
        read_regions(exclude)
