"""helgenom.sv.merge_sv_calls with two callers: SURVIVOR merge (the Debian package, which
bash scripts/setup.sh installs) on delly-like and TIDDIT-like calls (tests/sv_examples.py)."""

from __future__ import annotations

from pathlib import Path

import pysam
from sv_examples import BED, two_callers

from helgenom.sv import SvSettings, merge_sv_calls, read_gene_intervals, read_sv_calls

BOTH = SvSettings(("delly", "tiddit"), 50)


def _bed(tmp_path: Path) -> list:
    bed = tmp_path / "panel.bed"
    bed.write_text(BED)
    return read_gene_intervals(bed)


def test_two_callers_are_merged_by_survivor(tmp_path: Path) -> None:
    """delly's and TIDDIT's PASS calls: the deletion, duplication and translocation both made
    are one record each (delly's, SVCALLERS delly,tiddit; TIDDIT's two sides of the junction
    both named), delly's inversion and TIDDIT's own deletion are kept with their one caller,
    TIDDIT's filtered and small calls are left out."""
    notes: list[str] = []
    out = tmp_path / "S1.vcf.gz"
    calls = merge_sv_calls(two_callers(tmp_path), out, _bed(tmp_path), BOTH, notes=notes)
    got = [(c.record_id, c.svtype, c.contig, c.pos, c.callers, c.genes) for c in calls]
    assert got == [
        ("DUP1", "DUP", "c1", 3000, ("delly", "tiddit"), ("G1",)),
        ("DEL1", "DEL", "c1", 20000, ("delly", "tiddit"), ("G2",)),
        ("INV1", "INV", "c1", 70000, ("delly",), ()),
        ("SV_6_1", "DEL", "c1", 90000, ("tiddit",), ()),
        ("BND1", "BND", "c2", 1000, ("delly", "tiddit"), ("G1",)),
    ]
    assert read_sv_calls(out) == calls
    with pysam.VariantFile(str(out)) as fh:
        records = {r.id: r for r in fh}
        assert "DUP:TANDEM" in fh.header.alts and "BelowExpectedLinks" in fh.header.filters
        assert fh.header.formats["DR"].number == 1  # delly's definition
    assert records["BND1"].info["SVCALLER_IDS"] == ("delly:BND1", "tiddit:SV_2_1", "tiddit:SV_2_2")
    assert records["DEL1"].info["SVCALLER_IDS"] == ("delly:DEL1", "tiddit:SV_3_1")
    own = records["SV_6_1"]  # TIDDIT's record: its fields the output defines alike
    assert (own.stop, own.info["LTE"], own.info["SVLEN"]) == (92000, (15, 6), (2000,))
    assert own.samples[0]["GT"] == (0, 1) and own.samples[0]["CN"] == 1
    assert "DR" not in own.format  # two values in TIDDIT's, one in delly's: left out
    assert notes and "(delly 4, tiddit 5): 5 SVs, 3 made by several callers" in notes[0], notes


def test_merge_distance_decides_what_is_one_sv(tmp_path: Path) -> None:
    shifted = ["c1\t20600\tSV_9_1\tN\t<DEL>\t80\tPASS\tSVTYPE=DEL;SVLEN=2000;END=22600;"
               "LTE=20,8\tGT:CN:DR\t1/1:0:0,1"]  # fmt: skip
    vcfs = two_callers(tmp_path, shifted)
    near = merge_sv_calls(vcfs, tmp_path / "a.vcf.gz", [], BOTH)  # 1000 bp
    assert [(c.record_id, c.callers) for c in near if c.svtype == "DEL"] == [
        ("DEL1", ("delly", "tiddit"))
    ]
    strict = SvSettings(("delly", "tiddit"), 50, None, 500)
    apart = merge_sv_calls(vcfs, tmp_path / "b.vcf.gz", [], strict)
    assert [(c.record_id, c.callers) for c in apart if c.svtype == "DEL"] == [
        ("DEL1", ("delly",)), ("SV_9_1", ("tiddit",)),
    ]  # fmt: skip
