"""helgenom.cnv: bins, segment levels, copy-number calls, VCF, summary, MultiQC table, truth
comparison; the cnv config checks; the demo's planted copy-number changes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest
import yaml

from helgenom.cnv import (
    CnvCall,
    CnvSettings,
    Segment,
    TruthCnv,
    call_cnvs,
    compare_cnv,
    copy_number,
    covered_fraction,
    expected_copies,
    not_assessed,
    read_bin_log2,
    read_cnv_truth,
    read_cnv_vcf,
    read_segments,
    summarise_cnv,
    with_median_log2,
    write_bins,
    write_cnv_mqc,
    write_cnv_vcf,
    write_coverage_table,
    write_empty_coverage,
)
from helgenom.config import ConfigError, check_cnv, validate_config
from helgenom.demo import DEMO002_CNVS, DemoCNV, DemoSample, _cnv_svs, generate_demo
from helgenom.sv import GeneInterval

SETTINGS = CnvSettings(True, "cnvkit", 1000, "flat", None, 5, 1e-4, -0.4, 0.3, 3)
CONTIGS = [("chr1", 100_000), ("chrX", 50_000), ("chrY", 20_000)]


def _seg(contig: str, start: int, end: int, log2: float, bins: int | None = None) -> Segment:
    return Segment(contig, start, end, log2, bins if bins is not None else (end - start) // 1000)


def test_bins_split_each_accessible_interval_evenly_and_leave_out_chrm(tmp_path: Path) -> None:
    access = tmp_path / "access.bed"
    access.write_text("chr1\t0\t2500\nchr1\t3000\t3999\nchrM\t0\t16569\n")
    n = write_bins(access, tmp_path / "bins.bed", 1000, ["chrM", "MT"])
    rows = [line.split("\t") for line in (tmp_path / "bins.bed").read_text().splitlines()]
    assert n == 4
    assert [(r[0], int(r[1]), int(r[2])) for r in rows] == [
        ("chr1", 0, 833), ("chr1", 833, 1667), ("chr1", 1667, 2500), ("chr1", 3000, 3999),
    ]  # fmt: skip
    access.write_text("chrM\t0\t16569\n")
    with pytest.raises(ValueError, match="no accessible interval"):
        write_bins(access, tmp_path / "bins.bed", 1000, ["chrM"])


def test_mosdepth_bin_depths_become_cnvkits_coverage_table(tmp_path: Path) -> None:
    regions = tmp_path / "S1.regions.bed.gz"
    with gzip.open(regions, "wt") as handle:
        handle.write("chr1\t0\t1000\t-\t32.00\nchr1\t1000\t2000\t-\t0.00\nchr2\t0\t833\t-\t8.5\n")
    assert write_coverage_table(regions, tmp_path / "S1.cnn") == 3
    assert (tmp_path / "S1.cnn").read_text().splitlines() == [
        "chromosome\tstart\tend\tgene\tdepth\tlog2",
        "chr1\t0\t1000\t-\t32\t5",
        "chr1\t1000\t2000\t-\t0\t-20",  # cnvkit's floor for a bin without reads
        "chr2\t0\t833\t-\t8.5\t3.08746",
    ]
    assert covered_fraction(tmp_path / "S1.cnn") == (2 / 3, 3)
    with gzip.open(regions, "wt") as handle:
        handle.write("chr1\t0\n")
    with pytest.raises(ValueError, match="not a mosdepth region line"):
        write_coverage_table(regions, tmp_path / "S1.cnn")


def test_empty_coverage_is_a_cnvkit_table_without_bins(tmp_path: Path) -> None:
    write_empty_coverage(tmp_path / "a.cnn")
    assert (tmp_path / "a.cnn").read_text() == "chromosome\tstart\tend\tgene\tdepth\tlog2\n"


def test_segments_and_bins_are_read_and_a_non_cnvkit_file_refused(tmp_path: Path) -> None:
    cns = tmp_path / "s.cns"
    cns.write_text(
        "chromosome\tstart\tend\tgene\tlog2\tdepth\tprobes\tweight\n"
        "chr1\t0\t5000\t-\t-0.9\t15.2\t5\t4.9\n"
    )
    assert read_segments(cns) == [Segment("chr1", 0, 5000, -0.9, 5, 15.2)]
    bad = tmp_path / "x.cns"
    bad.write_text("contig\tstart\tend\n")
    with pytest.raises(ValueError, match="not a cnvkit segment file"):
        read_segments(bad)
    cnr = tmp_path / "s.cnr"
    cnr.write_text(
        "chromosome\tstart\tend\tgene\tdepth\tlog2\tweight\nchr1\t0\t1000\t-\t30\t0.1\t1\n"
    )
    assert read_bin_log2(cnr) == {"chr1": [(0, 0.1)]}


def test_covered_fraction_tells_a_genome_from_a_slice(tmp_path: Path) -> None:
    cnn = tmp_path / "s.targetcoverage.cnn"
    rows = [
        f"chr1\t{i * 1000}\t{(i + 1) * 1000}\t-\t{30.0 if i < 9 else 0.0}\t4.9\n" for i in range(10)
    ]
    cnn.write_text("chromosome\tstart\tend\tgene\tdepth\tlog2\n" + "".join(rows))
    assert covered_fraction(cnn) == (0.9, 10)
    write_empty_coverage(tmp_path / "empty.cnn")
    assert covered_fraction(tmp_path / "empty.cnn") == (0.0, 0)
    (tmp_path / "bad.cnn").write_text("chromosome\tstart\tend\n")
    with pytest.raises(ValueError, match="no depth column"):
        covered_fraction(tmp_path / "bad.cnn")


def test_median_level_keeps_a_normal_segment_normal_despite_deleted_bins() -> None:
    # CBS left two bins of a homozygous deletion (log2 -20) in a 10-bin normal segment: the
    # mean (-4) would call a loss, the median (0.0) does not
    seg = _seg("chr1", 0, 10_000, -4.0)
    bins = {"chr1": [(i * 1000, -20.0 if i in (4, 5) else 0.0) for i in range(10)]}
    (level,) = with_median_log2([seg], bins)
    assert level.log2 == 0.0
    assert call_cnvs([level], "female", SETTINGS) == []
    assert len(call_cnvs([seg], "female", SETTINGS)) == 1  # the mean would have


@pytest.mark.parametrize(
    ("contig", "sex", "copies"),
    [
        ("chr1", "male", 2),
        ("chrX", "female", 2),
        ("X", "male", 1),
        ("chrY", "female", 0),
        ("chrY", "male", 1),
        ("chrX", "unknown", None),
    ],
)
def test_expected_copies_follow_the_declared_sex(contig: str, sex: str, copies: int) -> None:
    assert expected_copies(contig, sex) == copies


@pytest.mark.parametrize(
    ("log2", "copies"), [(-20.0, 0), (-2.5, 0), (-1.0, 1), (0.0, 2), (0.585, 3), (1.0, 4)]
)
def test_copy_number_of_a_diploid_reference(log2: float, copies: int) -> None:
    assert copy_number(log2) == copies


def test_losses_and_gains_called_at_their_copy_number_with_panel_genes() -> None:
    segments = [
        _seg("chr1", 0, 18_000, 0.02),
        _seg("chr1", 18_000, 28_000, -0.93),  # CN1
        _seg("chr1", 28_000, 40_000, -0.03),
        _seg("chr1", 40_000, 41_000, -14.8),  # CN0, cut by CBS where the floor changes ...
        _seg("chr1", 41_000, 48_000, -24.8),  # ... joined into one call
        _seg("chr1", 48_000, 60_000, 0.25),  # below gain_log2: not called
        _seg("chr1", 60_000, 72_000, 0.55),  # CN3
        _seg("chr1", 72_000, 74_000, 1.0),  # CN4 but 2 bins: below min_bins
        _seg("chr1", 74_000, 100_000, -0.35),  # above loss_log2: not called
    ]
    genes = [GeneInterval("chr1", 20_000, 21_500, "GENEA"), GeneInterval("chr1", 90, 99, "X")]
    calls = call_cnvs(segments, "female", SETTINGS, genes)
    assert [(c.start, c.end, c.copies, c.kind, c.bins) for c in calls] == [
        (18_000, 28_000, 1, "loss", 10),
        (40_000, 48_000, 0, "loss", 8),
        (60_000, 72_000, 3, "gain", 12),
    ]
    assert [c.genes for c in calls] == [("GENEA",), (), ()]
    assert [c.record_id for c in calls] == ["CNV1", "CNV2", "CNV3"]


def test_sex_chromosomes_are_called_against_the_copies_the_sex_expects() -> None:
    male_x = _seg("chrX", 0, 50_000, -1.0)  # one X: expected in a male, a loss in a female
    female_y = _seg("chrY", 0, 20_000, -20.0)
    assert call_cnvs([male_x, female_y], "male", SETTINGS)[0].copies == 0  # chrY lost in a male
    assert call_cnvs([male_x], "male", SETTINGS) == []
    (loss,) = call_cnvs([male_x, female_y], "female", SETTINGS)
    assert (loss.contig, loss.copies, loss.expected) == ("chrX", 1, 2)
    assert call_cnvs([male_x], "unknown", SETTINGS) == []  # not assessable
    gain = _seg("chrX", 0, 10_000, 0.0)  # two X in a male: a gain of one copy
    (xx,) = call_cnvs([gain], "male", SETTINGS)
    assert (xx.copies, xx.expected, xx.kind) == (2, 1, "gain")


def test_vcf_round_trip_with_copy_numbers_and_genes(tmp_path: Path) -> None:
    calls = [
        CnvCall("chrX", 1000, 9000, 3, 2, 0.57, 8, (), "CNV2"),
        CnvCall("chr1", 18_000, 28_000, 1, 2, -0.93, 10, ("GENEA",), "CNV1"),
    ]
    out = tmp_path / "S1.vcf.gz"
    write_cnv_vcf(calls, out, "S1", CONTIGS)
    with pysam.VariantFile(str(out)) as vcf:
        records = list(vcf)
        assert list(vcf.header.samples) == ["S1"]
    assert [(r.contig, r.pos, r.stop, r.alts[0], r.samples[0]["CN"]) for r in records] == [
        ("chr1", 18_000, 28_000, "<DEL>", 1),
        ("chrX", 1000, 9000, "<DUP>", 3),
    ]
    assert records[0].info["SVLEN"] == -10_000 and records[0].info["PANEL_GENES"] == ("GENEA",)
    assert (tmp_path / "S1.vcf.gz.tbi").is_file()
    back = read_cnv_vcf(out)
    assert [(c.contig, c.start, c.end, c.copies, c.genes) for c in back] == [
        ("chr1", 18_000, 28_000, 1, ("GENEA",)),
        ("chrX", 1000, 9000, 3, ()),
    ]
    write_cnv_vcf([], tmp_path / "none.vcf.gz", "S1", CONTIGS)
    assert read_cnv_vcf(tmp_path / "none.vcf.gz") == []


def test_summary_and_multiqc_table(tmp_path: Path) -> None:
    calls = [
        CnvCall("chr1", 18_000, 28_000, 1, 2, -0.93, 10, ("GENEA",), "CNV1"),
        CnvCall("chr1", 60_000, 72_000, 3, 2, 0.55, 12, (), "CNV2"),
    ]
    summary = summarise_cnv("S1", calls, [_seg("chr1", 0, 100_000, 0.0)] * 3, SETTINGS)
    assert summary["counts"] == {"loss": 1, "gain": 1} and summary["total"] == 2
    assert summary["interpretation"] == "1 copy-number variant(s) overlap panel genes (GENEA)"
    assert [c["copy_number"] for c in summary["panel_calls"]] == [1]
    assert summary["segments"] == 3 and summary["settings"]["reference"] == "flat"
    off = not_assessed("S2", "cnv.enabled is false", SETTINGS)
    assert off["assessed"] is False and off["total"] == 0
    write_cnv_mqc([summary, off], tmp_path / "cnv_mqc.tsv")
    lines = (tmp_path / "cnv_mqc.tsv").read_text().splitlines()
    header = yaml.safe_load("\n".join(line[2:] for line in lines if line.startswith("# ")))
    assert header["id"] == "helgenom_cnv" and header["section_name"] == "Copy-number variants"
    assert lines[-2:] == ["S1\tyes\t1\t1\t2\t1\t3", "S2\tno\t0\t0\t0\t0\t0"]


def test_truth_comparison_needs_overlap_and_counts_copies_and_false_calls(tmp_path: Path) -> None:
    truth_bed = tmp_path / "t.bed"
    truth_bed.write_text("chr1\t18000\t28000\t1\nchr1\t50000\t52000\t0\nchr1\t60000\t72000\t3\n")
    truth = read_cnv_truth(truth_bed)
    assert truth[0] == TruthCnv("chr1", 18_000, 28_000, 1)
    calls = [
        CnvCall("chr1", 19_000, 28_000, 1, 2, -0.9, 9),  # found, right copies
        CnvCall("chr1", 66_000, 72_000, 4, 2, 1.0, 6),  # overlap 0.5: found, wrong copies
        CnvCall("chr1", 90_000, 99_000, 1, 2, -0.9, 9),  # no truth event there: false
    ]
    result = compare_cnv(truth, calls, min_size=5000)
    assert [c is not None for _, c in result.found] == [True, True]
    assert result.right_copies == 1
    assert result.below_resolution == [TruthCnv("chr1", 50_000, 52_000, 0)]
    assert [c.start for c in result.extra] == [90_000]
    assert compare_cnv(truth, calls[1:2], min_overlap=0.6).found[1][1] is None


# ---- config ----------------------------------------------------------------------------------
BASE = {"samples": "s", "units": "u", "reference": {"fasta": "r.fa", "build": "test"}}


def _config(tmp_path: Path, cnv: dict) -> tuple[dict, list[Path]]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(BASE | {"cnv": cnv}))
    return validate_config(BASE | {"cnv": cnv}, [path]), [path]


def test_cnv_defaults_are_filled_in(tmp_path: Path) -> None:
    config, _ = _config(tmp_path, {})
    assert CnvSettings.from_config(config["cnv"]) == CnvSettings(
        True, "cnvkit", 5000, "flat", None, 5, 0.0001, -0.4, 0.3, 3
    )


@pytest.mark.parametrize(
    ("cnv", "samples", "message"),
    [
        ({"reference": "file"}, 1, "'cnv.reference' is file but 'cnv.reference_file' is not set"),
        ({"reference": "file", "reference_file": "missing.cnn"}, 1, "missing.cnn does not exist"),
        ({"reference_file": "pon.cnn"}, 1, "is set but cnv.reference is flat"),
        (
            {"reference": "run"},
            3,
            "sample 'S1' has 2 unrelated other(s) as its panel of normals, "
            "fewer than cnv.min_normals (5)",
        ),
        (
            {"reference": "run", "min_normals": 2},
            {"S1": ["S3"], "S2": ["S3"], "S3": ["S1", "S2"]},
            "'S1' has 1 unrelated other(s) as its panel of normals "
            "(1 relative(s) of its family left out), fewer than cnv.min_normals (2)",
        ),
        ({"exclude_bed": "nowhere.bed"}, 1, "nowhere.bed does not exist"),
    ],
)
def test_cnv_config_problems_name_file_key_and_fix(
    tmp_path: Path, cnv: dict, samples: int | dict[str, list[str]], message: str
) -> None:
    if isinstance(samples, int):  # unrelated samples S1..Sn
        ids = [f"S{i}" for i in range(1, samples + 1)]
        samples = {s: [t for t in ids if t != s] for s in ids}
    (tmp_path / "pon.cnn").write_text("chromosome\tstart\tend\tgene\tlog2\tdepth\n")
    cnv = {k: str(tmp_path / v) if k.endswith(("_file", "_bed")) and v != "missing.cnn" else v
           for k, v in cnv.items()}  # fmt: skip
    config, files = _config(tmp_path, cnv)
    with pytest.raises(ConfigError) as error:
        check_cnv(config, files, samples)
    text = str(error.value)
    assert message in text and "config.yaml" in text and "Fix:" in text


def test_cnv_reference_file_must_be_a_cnvkit_reference(tmp_path: Path) -> None:
    bad = tmp_path / "pon.cnn"
    bad.write_text("contig\tpos\n")
    config, files = _config(tmp_path, {"reference": "file", "reference_file": str(bad)})
    with pytest.raises(ConfigError, match="is not a cnvkit reference"):
        check_cnv(config, files, {"S1": []})
    bad.write_text("chromosome\tstart\tend\tgene\tlog2\tdepth\tgc\n")
    check_cnv(config, files, {"S1": []})  # a cnvkit reference passes
    run, files = _config(tmp_path, {"reference": "run", "min_normals": 2})
    check_cnv(
        run, files, {"S1": ["S2", "S3"], "S2": ["S1", "S3"], "S3": ["S1", "S2"]}
    )  # two suffice
    off, files = _config(tmp_path, {"enabled": False, "reference": "file"})
    check_cnv(off, files, {"S1": []})  # not used when disabled


def test_cnv_thresholds_out_of_range_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cnv.loss_log2"):
        _config(tmp_path, {"loss_log2": 0.2})
    with pytest.raises(ConfigError, match="cnv.reference"):
        _config(tmp_path, {"reference": "pon"})


# ---- demo ----------------------------------------------------------------------------------
def test_demo_copy_numbers_are_planted_as_deletions_and_duplications() -> None:
    svs = _cnv_svs(DemoSample("D", "routine", "male", "x", 1, 1, cnvs=DEMO002_CNVS))
    assert [(s.svtype, s.haps) for s in svs] == [
        ("DEL", (True, False)), ("DEL", (True, True)), ("DUP", (True, False)),
        ("DUP", (True, True)),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="copies must be 0, 1, 3 or 4"):
        _cnv_svs(DemoSample("D", "routine", "male", "x", 1, 1, cnvs=(DemoCNV(0, 0.1, 0.2, 2),)))


def test_demo_truth_lists_the_planted_copy_numbers(tmp_path: Path) -> None:
    sample = DemoSample(
        "D1",
        "routine",
        "male",
        "x",
        1,
        1,
        mito=(),
        cnvs=(DemoCNV(0, 0.2, 0.4, 0), DemoCNV(0, 0.6, 0.8, 4)),
    )
    data = generate_demo(tmp_path, genome_length=40_000, coverage=8.0, samples=[sample])
    truth = read_cnv_truth(data.cnv["D1"])
    assert [(t.start, t.end, t.copies) for t in truth] == [(4800, 9600, 0), (14400, 19200, 4)]
    sv_truth = data.sv["D1"].read_text()
    assert "<DEL>" in sv_truth and "<DUP>" in sv_truth
