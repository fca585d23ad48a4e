"""Structural variants (helgenom.sv): the config section, the merge step (PASS calls, sizes,
order, INFO SVCALLERS and PANEL_GENES), the panel-gene overlap, the summary and MultiQC table,
the truth comparison; and the SVs the demo plants (helgenom.demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest

from helgenom import demo
from helgenom.config import ConfigError, check_sv, validate_config
from helgenom.sv import (
    GeneInterval,
    SvCall,
    SvSettings,
    compare_sv,
    genes_touched,
    merge_sv_calls,
    read_gene_intervals,
    read_sv_calls,
    summarise_sv,
    write_sv_mqc,
)

BASE = {"samples": "s", "units": "u", "reference": {"fasta": "r.fa", "build": "b"}}
DEFAULTS = SvSettings.from_config(validate_config(BASE)["sv"])

# A delly-like single-sample VCF: contigs c1 (out of order in the records), c2.
HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Poor quality and insufficient number of PEs and SRs.">
##contig=<ID=c1,length=100000>
##contig=<ID=c2,length=50000>
##ALT=<ID=DEL,Description="Deletion">
##INFO=<ID=PRECISE,Number=0,Type=Flag,Description="Precise structural variation">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
##INFO=<ID=CHR2,Number=1,Type=String,Description="Chromosome for POS2">
##INFO=<ID=POS2,Number=1,Type=Integer,Description="Genomic position for CHR2">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1
"""
RECORDS = [
    "c2\t1000\tBND1\tA\tA[c1:5001[\t900\tPASS\tPRECISE;SVTYPE=BND;END=1001;CHR2=c1;POS2=5000"
    "\tGT\t0/1",
    "c1\t20000\tDEL1\tA\t<DEL>\t800\tPASS\tPRECISE;SVTYPE=DEL;END=22000\tGT\t1/1",
    "c1\t3000\tDUP1\tA\t<DUP>\t700\tPASS\tSVTYPE=DUP;END=3400\tGT\t0/1",
    "c1\t40000\tDEL2\tA\t<DEL>\t20\tLowQual\tSVTYPE=DEL;END=41000\tGT\t0/1",  # not PASS
    "c1\t60000\tDEL3\tA\t<DEL>\t500\tPASS\tSVTYPE=DEL;END=60030\tGT\t0/1",  # 30 bp
    "c1\t70000\tINV1\tA\t<INV>\t500\tPASS\tSVTYPE=INV;END=75000\tGT\t0/1",
]
# Panel genes: G1 holds the translocation's c1 breakpoint and the DUP's end, G2 lies inside
# the deletion, G3 starts right after it (0-based 22000 = 1-based 22001: untouched).
BED = "# a panel\nc1\t4990\t5010\tG1\texon1\nc1\t3399\t3500\tG1\texon2\nc1\t21000\t21100\tG2\n"
BED += "c1\t22000\t23000\tG3\n"


def _write_vcf(path: Path, records: list[str]) -> Path:
    path.write_text(HEADER.replace("\\t", "\t") + "".join(r + "\n" for r in records))
    return path


def _bed(tmp_path: Path) -> list[GeneInterval]:
    bed = tmp_path / "panel.bed"
    bed.write_text(BED)
    return read_gene_intervals(bed)


def test_defaults_are_the_documented_ones() -> None:
    assert SvSettings(("delly",), 50, None) == DEFAULTS


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"callers": ["tiddit"]}, r"'sv.callers\[0\]': 'tiddit' is not one of"),
        ({"callers": ["delly", "delly"]}, "'sv.callers'"),
        ({"callers": []}, "'sv.callers'"),
        ({"min_size": 0}, "'sv.min_size'"),
        ({"window": 3}, "'sv'"),
    ],
)
def test_schema_rejects_bad_sections(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config({**BASE, "sv": section})


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
    calls = merge_sv_calls({"delly": vcf}, out, _bed(tmp_path), DEFAULTS)
    assert [c.record_id for c in calls] == ["DUP1", "DEL1", "INV1", "BND1"]
    assert (tmp_path / "S1.vcf.gz.tbi").is_file()
    back = read_sv_calls(out)
    assert back == calls
    by_id = {c.record_id: c for c in back}
    assert by_id["DUP1"].genes == ("G1",) and by_id["DEL1"].genes == ("G2",)
    assert by_id["INV1"].genes == () and by_id["BND1"].genes == ("G1",)
    assert all(c.callers == ("delly",) for c in back)
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
    with pytest.raises(ValueError, match="merging 2 SV callers is not implemented"):
        merge_sv_calls({"delly": vcf, "tiddit": vcf}, tmp_path / "x.vcf.gz", [], DEFAULTS)


def test_unknown_sv_type_is_an_error(tmp_path: Path) -> None:
    vcf = _write_vcf(
        tmp_path / "odd.vcf", ["c1\t100\tX\tA\t<CNV>\t5\tPASS\tSVTYPE=CNV;END=900\tGT\t0/1"]
    )
    with pytest.raises(ValueError, match=r"c1:100: SV type 'CNV' is none of"):
        read_sv_calls(vcf)


def test_summary_and_mqc_table(tmp_path: Path) -> None:
    vcf = _write_vcf(tmp_path / "delly.vcf", RECORDS)
    calls = merge_sv_calls({"delly": vcf}, tmp_path / "S1.vcf.gz", _bed(tmp_path), DEFAULTS)
    summary = summarise_sv("S1", calls, DEFAULTS)
    assert summary["counts"] == {"DEL": 1, "DUP": 1, "INV": 1, "INS": 0, "BND": 1}
    assert summary["total"] == 4
    assert [c["id"] for c in summary["panel_calls"]] == ["DUP1", "DEL1", "BND1"]
    assert summary["interpretation"] == "3 structural variant(s) touch panel genes (G1, G2)"
    assert summary["settings"] == {"callers": ["delly"], "min_size": 50, "exclude_bed": None}
    none = summarise_sv("S2", [], DEFAULTS)
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
