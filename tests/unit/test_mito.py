"""helgenom.mito: allele fractions, classes, filters, the VCF/summary/MultiQC outputs, the
config checks, and the contig's exclusion from the nuclear chunks and coverage regions."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest

from helgenom.calling import write_chunk_beds
from helgenom.mito import (
    MitoCall,
    MitoSettings,
    Pileup,
    allele_fractions,
    classify,
    compare_mito,
    mito_contig,
    pileup_options,
    read_mito_region,
    read_pileup,
    summarise_mito,
    write_mito_mqc,
    write_mito_region,
    write_mito_vcf,
)

S = MitoSettings(("chrM", "MT"), 0.03, 0.95, 100, 5, 20, 20, 100_000)


def test_allele_fractions_are_read_shares() -> None:
    assert allele_fractions([90, 10, 0]) == [0.9, 0.1, 0.0]
    assert allele_fractions([0, 0]) == [0.0, 0.0]


@pytest.mark.parametrize(
    ("af", "kind"),
    [
        (0.0299, None),
        (0.03, "heteroplasmic"),
        (0.5, "heteroplasmic"),
        (0.9499, "heteroplasmic"),
        (0.95, "homoplasmic"),
        (1.0, "homoplasmic"),
    ],
)
def test_classify_at_the_thresholds(af: float, kind: str | None) -> None:
    assert classify(af, S) == kind


def test_contig_is_the_first_configured_name_present(tmp_path: Path) -> None:
    assert mito_contig(["1", "2", "MT"], S) == "MT"
    assert mito_contig(["chrM", "MT"], S) == "chrM"
    assert mito_contig(["chr20"], S) is None
    fai = tmp_path / "ref.fa.fai"
    fai.write_text("chr20\t64444167\t7\t60\t61\nchrM\t16569\t65000000\t60\t61\n")
    assert write_mito_region(fai, tmp_path / "m.bed", S) == ("chrM", 16569)
    assert (tmp_path / "m.bed").read_text() == "chrM\t0\t16569\n"
    assert read_mito_region(tmp_path / "m.bed") == ("chrM", 16569)
    fai.write_text("chr20\t64444167\t7\t60\t61\n")  # the GIAB slice: no chrM
    assert write_mito_region(fai, tmp_path / "m.bed", S) is None
    assert read_mito_region(tmp_path / "m.bed") is None


def test_pileup_options_raise_the_depth_caps() -> None:
    options = pileup_options(S)
    assert "-d 100000 -L 100000" in options and "-q 20 -Q 20" in options
    assert "FORMAT/AD,FORMAT/ADF,FORMAT/ADR" in options


def _pileup_vcf(path: Path, records: list[str]) -> Path:
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chrM,length=16569>",
        '##INFO=<ID=INDEL,Number=0,Type=Flag,Description="indel">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="d">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="a">',
        '##FORMAT=<ID=ADF,Number=R,Type=Integer,Description="f">',
        '##FORMAT=<ID=ADR,Number=R,Type=Integer,Description="r">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    path.write_text("\n".join(header + records) + "\n")
    return path


def test_read_pileup_fractions_classes_and_filters(tmp_path: Path) -> None:
    fmt = "DP:AD:ADF:ADR"
    vcf = _pileup_vcf(
        tmp_path / "p.vcf",
        [
            f"chrM\t10\t.\tA\t<*>\t0\t.\t.\t{fmt}\t500:500,0:250,0:250,0",
            f"chrM\t11\t.\tC\tT,<*>\t0\t.\t.\t{fmt}\t1000:900,100,0:450,50,0:450,50,0",
            f"chrM\t12\t.\tG\tA,<*>\t0\t.\t.\t{fmt}\t600:0,600,0:0,300,0:0,300,0",
            f"chrM\t13\t.\tT\tG,<*>\t0\t.\t.\t{fmt}\t1000:980,20,0:490,10,0:490,10,0",  # 2%
            f"chrM\t14\t.\tT\tG,<*>\t0\t.\t.\t{fmt}\t60:30,30,0:15,15,0:15,15,0",  # low depth
            f"chrM\t15\t.\tT\tC,<*>\t0\t.\t.\t{fmt}\t500:400,100,0:200,100,0:200,0,0",  # strand
            f"chrM\t16\t.\tA\tC,G,<*>\t0\t.\t.\t{fmt}\t400:200,100,100,0:100,50,50,0:100,50,50,0",
            f"chrM\t16\t.\tA\tAT,<*>\t0\t.\tINDEL\t{fmt}\t30:20,10,0:10,5,0:10,5,0",  # indel
        ],
    )
    pileup = read_pileup(vcf, S)
    got = {(c.pos, c.alt): (round(c.af, 3), c.kind, c.filter) for c in pileup.calls}
    assert got == {
        (11, "T"): (0.1, "heteroplasmic", "PASS"),
        (12, "A"): (1.0, "homoplasmic", "PASS"),
        (14, "G"): (0.5, "heteroplasmic", "low_depth"),
        (15, "C"): (0.2, "heteroplasmic", "strand_bias"),
        (16, "C"): (0.25, "heteroplasmic", "PASS"),
        (16, "G"): (0.25, "heteroplasmic", "PASS"),
        (16, "AT"): (0.333, "heteroplasmic", "low_depth"),
    }
    # depth: the SNV records' read counts (the indel record repeats position 16)
    assert pileup.depths == {10: 500, 11: 1000, 12: 600, 13: 1000, 14: 60, 15: 500, 16: 400}

    summary = summarise_mito("S1", pileup, S, ("chrM", 16569))
    assert summary["assessed"] and summary["contig"] == "chrM"
    assert summary["counts"] == {"reported": 4, "heteroplasmic": 3, "homoplasmic": 1}
    assert summary["mean_depth"] == round(4060 / 16569, 1)
    assert summary["pct_ge_min_depth"] == round(100 * 6 / 16569, 2)
    assert {f["filter"] for f in summary["filtered"]} == {"low_depth", "strand_bias"}
    assert summary["interpretation"].startswith("4 mitochondrial variant(s) at an allele")

    out = tmp_path / "S1.vcf.gz"
    write_mito_vcf(pileup.calls, out, "S1", S, ("chrM", 16569), "demo.fa")
    with pysam.VariantFile(str(out)) as fh:
        recs = list(fh)
        assert fh.header.contigs["chrM"].length == 16569
    assert [(r.pos, r.alts[0], list(r.filter)) for r in recs][:3] == [
        (11, "T", ["PASS"]),
        (12, "A", ["PASS"]),
        (14, "G", ["low_depth"]),
    ]
    homoplasmic = recs[1].samples["S1"]
    assert homoplasmic["GT"] == (1,) and homoplasmic["AD"] == (0, 600)
    assert (
        recs[0].samples["S1"]["AF"] == pytest.approx((0.1,))
        and recs[0].info["PLASMY"] == "heteroplasmic"
    )
    with pysam.VariantFile(str(out)) as fh:  # tabix-indexed
        assert [r.pos for r in fh.fetch("chrM", 10, 12)] == [11, 12]


def test_not_assessed_without_a_contig(tmp_path: Path) -> None:
    summary = summarise_mito("S1", None, S, None)
    assert summary["assessed"] is False and summary["variants"] == []
    assert summary["interpretation"] == (
        "Not assessed: the reference has no mitochondrial contig (chrM or MT; config mito.contigs)"
    )
    out = tmp_path / "S1.vcf.gz"
    write_mito_vcf([], out, "S1", S, None)
    text = gzip.decompress(out.read_bytes()).decode()
    assert "##contig" not in text and text.splitlines()[-1].startswith("#CHROM")
    assert Path(f"{out}.tbi").is_file()
    found = summarise_mito(
        "S2",
        Pileup(
            [MitoCall("chrM", 5, "A", "G", 0.5, 700, 350, 175, 175, "heteroplasmic", "PASS")],
            {5: 700},
        ),
        S,
        ("chrM", 100),
    )
    mqc = tmp_path / "mito_mqc.tsv"
    write_mito_mqc([summary, found], mqc)
    rows = [line.split("\t") for line in mqc.read_text().splitlines() if not line.startswith("#")]
    assert rows == [
        ["Sample", "mito_contig", "mito_mean_depth", "mito_pct_ge_min_depth", "mito_variants"]
        + ["heteroplasmic", "homoplasmic"],
        ["S1", "none", "NA", "NA", "NA", "NA", "NA"],
        ["S2", "chrM", "7.0", "1.00", "1", "1", "0"],
    ]


def test_compare_mito_matches_alleles() -> None:
    planted = [("chrM", 100, "A", "G", 0.1), ("chrM", 200, "C", "T", 1.0)]
    found = [
        {"contig": "chrM", "pos": 100, "ref": "A", "alt": "G", "af": 0.11},
        {"contig": "chrM", "pos": 300, "ref": "G", "alt": "A", "af": 0.04},
    ]
    matched, extra = compare_mito(planted, found)
    assert matched == [(planted[0], 0.11), (planted[1], None)]
    assert extra == [found[1]]


def test_config_checks_name_the_key_and_fix(tmp_path: Path) -> None:
    from helgenom.config import ConfigError, check_mito, validate_config

    config_file = tmp_path / "config.yaml"
    config_file.write_text("mito:\n  min_af: 0.97\n  contigs: [chrM, chrM]\n")
    config = {"mito": {"min_af": 0.97, "homoplasmic_af": 0.95, "contigs": ["chrM", "chrM"]}}
    with pytest.raises(ConfigError) as error:
        check_mito(config, [config_file])
    text = str(error.value)
    assert f"{config_file}:2: 'mito.min_af' (0.97) is not below mito.homoplasmic_af" in text
    assert f"{config_file}:3: 'mito.contigs' names a contig twice" in text
    check_mito({"mito": {"min_af": 0.03, "homoplasmic_af": 0.95, "contigs": ["chrM"]}})
    # the schema: defaults, and bounds with the file and line
    base = {"samples": "s.tsv", "units": "u.tsv", "reference": {"fasta": "r.fa", "build": "b"}}
    checked = validate_config(base)
    assert checked["mito"] == {
        "contigs": ["chrM", "MT"],
        "min_af": 0.03,
        "homoplasmic_af": 0.95,
        "min_depth": 100,
        "min_alt_reads": 5,
        "min_mapq": 20,
        "min_baseq": 20,
        "max_depth": 100000,
    }
    with pytest.raises(ConfigError, match="mito.min_af"):
        validate_config(base | {"mito": {"min_af": 0}})
    with pytest.raises(ConfigError, match="mito"):
        validate_config(base | {"mito": {"contig": "chrM"}})  # a typo of contigs


def test_mito_contig_left_out_of_nuclear_chunks_and_coverage(tmp_path: Path) -> None:
    from helgenom.qc.coverage import write_coverage_regions

    fai = tmp_path / "g.fa.fai"
    fai.write_text("a\t1000\t3\t60\t61\nb\t1000\t1023\t60\t61\nchrM\t500\t2043\t60\t61\n")
    beds = [tmp_path / f"{i}.bed" for i in range(2)]
    write_chunk_beds(fai, beds, exclude=["chrM", "MT"])
    assert "chrM" not in "".join(b.read_text() for b in beds)
    write_chunk_beds(fai, beds)
    assert "chrM" in "".join(b.read_text() for b in beds)
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\n" + "ACGT" * 25 + "\n>chrM\n" + "ACGT" * 10 + "\n")
    pysam.faidx(str(fasta))
    write_coverage_regions(fasta, tmp_path / "r.bed", tmp_path / "acgt.tsv", exclude=["chrM"])
    assert (tmp_path / "r.bed").read_text() == "a\t0\t100\n"
    assert "chrM\t40\t40" in (tmp_path / "acgt.tsv").read_text()
