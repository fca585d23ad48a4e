"""End to end on GIAB NA12878: validation runs, accuracy targets, gVCF, the calling modes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pysam
import pytest

from helgenom.testing import GIAB_SAMPLE as SAMPLE
from helgenom.testing import write_giab_run_dir
from helgenom.truth import compare, read_bed
from workflow_helpers import GIAB_CHUNKS, giab_validation, snakemake

SLICE = "chr20_9995001_11095000"


def _run(run_dir: Path, giab: Path, validate: bool = True, **calling: Any) -> Path:
    config: dict[str, Any] = {"calling": {"chunks": GIAB_CHUNKS, **calling}}
    if validate:
        config.update(giab_validation(giab))
    write_giab_run_dir(run_dir, giab, extra_config=config)
    snakemake(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def validated(giab_validated: Path) -> Path:
    """A validation run in the default calling mode (with the gVCF, the default): the
    session's shared one."""
    return giab_validated


@pytest.fixture(scope="module")
def freebayes_run(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("freebayes"), giab, mode="freebayes")


def _report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results" / "validation" / f"{SAMPLE}.json").read_text())


def _records(vcf: Path) -> list[str]:
    with gzip.open(vcf, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def test_default_mode_meets_the_confident_target(validated: Path, giab: Path) -> None:
    counts = _report(validated)["confident"]["counts"]["all"]
    assert (counts["tp"], counts["fn"], counts["fp"], counts["genotype_match"]) == (49, 0, 0, 49)
    # The same from the comparison module on the run's VCF, as a lab would rerun it.
    result = compare(
        validated / "results" / "vcf" / f"{SAMPLE}.vcf.gz",
        giab / "slice" / "truth_shifted.vcf.gz",
        giab / "slice" / f"{SLICE}.fa",
        giab / "slice" / "confident_shifted.bed",
    )
    total = result.total()
    assert (total.tp, total.fn, total.fp, total.genotype_match) == (49, 0, 0, 49)


def test_default_mode_meets_the_truth_span_targets(validated: Path) -> None:
    span = _report(validated)["truth_span"]["counts"]
    assert span["snp"]["truth_total"] == 186 and span["indel"]["truth_total"] == 36
    assert span["snp"]["recall"] >= 0.995, _report(validated)["truth_span"]["false_negatives"]
    assert span["indel"]["recall"] >= 0.85


def test_validation_table_in_the_reports(validated: Path) -> None:
    rows = (validated / "results" / "validation" / f"{SAMPLE}.tsv").read_text().splitlines()
    header = rows[0].split("\t")
    table = [dict(zip(header, r.split("\t"), strict=True)) for r in rows[1:]]
    assert [(r["scope"], r["type"]) for r in table] == [
        (scope, kind) for scope in ("confident", "truth_span") for kind in ("snp", "indel", "all")
    ]
    assert all(r["sample"] == SAMPLE for r in table)
    mqc = (validated / "results" / "qc" / "validation_mqc.tsv").read_text().splitlines()
    values = dict(zip(mqc[-2].split("\t"), mqc[-1].split("\t"), strict=True))
    assert values["Sample"] == SAMPLE and values["snp_f1"] == "1.0000"
    html = (validated / "results" / "qc" / "multiqc" / "multiqc_report.html").read_text()
    assert "Truth comparison (helgenom)" in html


def _gvcf_spans(gvcf: Path) -> list[tuple[str, int, int, bool, tuple[str, ...]]]:
    """(contig, 0-based start, end, is a reference block, alleles) of every gVCF record.

    Reference blocks: one reference base and no ALT allele (or <*>), spanning POS to END.
    """
    with pysam.VariantFile(str(gvcf)) as handle:
        assert list(handle.header.samples) == [SAMPLE]
        return [
            (r.contig, r.start, r.stop, len(r.ref) == 1 and r.alts in (None, ("<*>",)), r.alleles)
            for r in handle
        ]


def _assert_gvcf_covers_the_chunks(run_dir: Path) -> None:
    gvcf = run_dir / "results" / "gvcf" / f"{SAMPLE}.g.vcf.gz"
    assert (gvcf.parent / f"{gvcf.name}.tbi").exists()
    with pysam.VariantFile(str(gvcf)) as handle:
        assert len(list(handle.fetch(SLICE, 17_000, 18_000))) > 0  # the index works
    spans = _gvcf_spans(gvcf)
    assert [s[:2] for s in spans] == sorted(s[:2] for s in spans)
    blocks = [s for s in spans if s[3]]
    assert all(a[2] <= b[1] for a, b in zip(blocks, blocks[1:], strict=False)), "blocks overlap"
    assert len(set(spans)) == len(spans), "a record is repeated (chunk boundary)"
    beds = sorted((run_dir / "results" / "calls" / "chunks").glob("*.bed"))
    assert len(beds) == GIAB_CHUNKS
    for bed in beds:
        for contig, intervals in read_bed(bed).items():
            for start, end in intervals:
                cursor = start
                for c, s, e, *_ in spans:
                    if c == contig and s <= cursor < e:
                        cursor = max(cursor, e)
                    elif c == contig and s > cursor:
                        break
                assert cursor >= end, f"{bed.name}: {contig}:{cursor + 1}-{end} not in the gVCF"


def test_gvcf_is_indexed_and_covers_every_chunk(validated: Path) -> None:
    _assert_gvcf_covers_the_chunks(validated)
    spans = _gvcf_spans(validated / "results" / "gvcf" / f"{SAMPLE}.g.vcf.gz")
    # Outside the 100 kb with reads, no-data blocks (GT ./., DP 0) stand for the genome.
    with pysam.VariantFile(str(validated / "results" / "gvcf" / f"{SAMPLE}.g.vcf.gz")) as h:
        last = list(h.fetch(SLICE, 1_099_000, 1_100_000))[-1]
        assert last.stop == 1_100_000 and last.samples[0]["GT"] == (None, None)
        assert last.samples[0]["DP"] == 0
    assert sum(1 for s in spans if not s[3]) > 200  # variant and single-site records


def test_vcf_records_unchanged_by_the_gvcf(validated: Path, giab: Path, tmp_path: Path) -> None:
    plain = _run(tmp_path / "plain", giab, validate=False, gvcf=False)
    assert not (plain / "results" / "gvcf").exists()
    vcf = Path("results") / "vcf" / f"{SAMPLE}.vcf.gz"
    assert _records(plain / vcf) == _records(validated / vcf)


def test_freebayes_mode(freebayes_run: Path) -> None:
    versions = (freebayes_run / "results" / "versions.yaml").read_text()
    assert "freebayes: 1.3.6" in versions
    header = str(
        pysam.VariantFile(str(freebayes_run / "results" / "vcf" / f"{SAMPLE}.vcf.gz")).header
    )
    assert "freeBayes" in header and "INFO/SAP>60" in header  # freebayes' own soft filters
    counts = _report(freebayes_run)["confident"]["counts"]["all"]
    assert (counts["tp"], counts["fn"], counts["fp"], counts["genotype_match"]) == (49, 0, 0, 49)
    _assert_gvcf_covers_the_chunks(freebayes_run)


def test_bcftools_mode_misses_what_the_default_rescues(giab: Path, tmp_path: Path) -> None:
    run = _run(tmp_path / "bcftools", giab, mode="bcftools", gvcf=False)
    assert "freebayes" not in (run / "results" / "versions.yaml").read_text()
    span = _report(run)["truth_span"]
    # bcftools alone misses the SNP next to an insertion that freebayes (default mode) adds.
    assert [v.split(":")[1] for v in span["false_negatives"] if ":17636:" in v] == ["17636"]
    assert span["counts"]["snp"]["recall"] < 0.995
