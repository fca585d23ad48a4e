"""End to end on real data: GIAB NA12878 reads over hg19 chr20:10.0-10.1 Mb (the slice)."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import pysam
import pytest

from helgenom.runs import snakemake_command
from helgenom.testing import GIAB_SAMPLE as SAMPLE
from helgenom.testing import write_giab_run_dir
from helgenom.truth import compare
from workflow_helpers import GIAB_CHUNKS, copy_run, giab_validation, snakemake


def _giab_run_dir(run_dir: Path, giab: Path, aligner: str = "bwa") -> Path:
    extra = {"calling": {"chunks": GIAB_CHUNKS}, "alignment": {"aligner": aligner}}
    return write_giab_run_dir(run_dir, giab, extra_config=extra)


@pytest.fixture(scope="module")
def run2(giab_validated: Path) -> Path:
    """The GIAB slice run with 2 cores (the session's shared validation run)."""
    return giab_validated


@pytest.fixture(scope="module")
def run1(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run with 1 core (every tool single-threaded)."""
    run_dir = tmp_path_factory.mktemp("giab1")
    config = {"calling": {"chunks": GIAB_CHUNKS}, **giab_validation(giab)}
    write_giab_run_dir(run_dir, giab, extra_config=config)
    snakemake(run_dir, cores=1)
    return run_dir


def _records(vcf: Path) -> list[str]:
    with gzip.open(vcf, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def test_all_confident_truth_variants_called_with_correct_genotype(run2: Path, giab: Path) -> None:
    result = compare(
        run2 / "results" / "vcf" / f"{SAMPLE}.vcf.gz",
        giab / "slice" / "truth_shifted.vcf.gz",
        giab / "slice" / "chr20_9995001_11095000.fa",
        giab / "slice" / "confident_shifted.bed",
    )
    total = result.total()
    assert total.tp == 49, result.false_negatives
    assert total.fn == 0
    assert total.genotype_match == 49, result.genotype_mismatches
    assert total.fp == 0, result.false_positives


def test_snp_recall_over_whole_truth_span(run2: Path, giab: Path) -> None:
    result = compare(
        run2 / "results" / "vcf" / f"{SAMPLE}.vcf.gz",
        giab / "slice" / "truth_shifted.vcf.gz",
        giab / "slice" / "chr20_9995001_11095000.fa",
    )
    snp = result.counts["snp"]
    assert snp.tp + snp.fn == 186  # the slice truth holds 186 SNPs (221 variants in all)
    assert snp.recall >= 0.99


def test_vcf_sample_index_and_filters(run2: Path) -> None:
    vcf = run2 / "results" / "vcf" / f"{SAMPLE}.vcf.gz"
    assert (vcf.parent / f"{vcf.name}.tbi").exists()
    with pysam.VariantFile(str(vcf)) as handle:
        assert list(handle.header.samples) == [SAMPLE]
        filters = set(handle.header.filters)
        assert {"LowQual", "LowDepth", "StrandBias"} <= filters
        assert "Variant quality below 20" in handle.header.filters["LowQual"].description
        records = list(handle)
    assert all(len(r.alts) == 1 for r in records), "multi-allelic records must be split"
    positions = [r.pos for r in records]
    assert positions == sorted(positions)
    # The gathered VCF holds records from several chunks, each record exactly once.
    beds = sorted((run2 / "results" / "calls" / "chunks").glob("*.bed"))
    assert len(beds) == GIAB_CHUNKS
    starts = [int(b.read_text().split("\t")[1]) for b in beds]
    used = {sum(1 for s in starts if s < pos) for pos in positions}
    assert len(used) >= 2
    assert len({(r.pos, r.ref, r.alts) for r in records}) == len(records)


def test_cram_holds_every_input_read(run2: Path, giab: Path) -> None:
    names: dict[str, int] = {}
    for mate in ("R1", "R2"):
        with pysam.FastxFile(str(giab / "reads" / f"NA12878_chr20_10mb_{mate}.fastq.gz")) as fq:
            for rec in fq:
                names[rec.name] = names.get(rec.name, 0) + 1
    seen: dict[str, int] = {}
    cram = run2 / "results" / "cram" / f"{SAMPLE}.cram"
    ref = run2 / "reference" / "giab-slice.fa"
    with pysam.AlignmentFile(str(cram), reference_filename=str(ref)) as aln:
        for read in aln.fetch(until_eof=True):
            if read.is_secondary or read.is_supplementary:
                continue
            seen[read.query_name] = seen.get(read.query_name, 0) + 1
    assert seen == names
    assert len(names) == 25_839


def test_cram_header_and_index(run2: Path) -> None:
    cram = run2 / "results" / "cram" / f"{SAMPLE}.cram"
    assert (cram.parent / f"{cram.name}.crai").exists()
    header = subprocess.run(
        ["samtools", "view", "-H", str(cram)], capture_output=True, text=True, check=True
    ).stdout
    sq = [line for line in header.splitlines() if line.startswith("@SQ")]
    assert sq and all("\tM5:" in line for line in sq)
    programs = [line for line in header.splitlines() if line.startswith("@PG")]
    assert any("PN:bwa" in line for line in programs)
    assert any("markdup" in line for line in programs)
    rg = [line for line in header.splitlines() if line.startswith("@RG")]
    assert rg == [
        "@RG\tID:NA12878.C0D8DACXX.1\tSM:NA12878\tPU:C0D8DACXX.1\tLB:NA12878-PG\tPL:ILLUMINA"
    ]
    check = subprocess.run(
        ["samtools", "quickcheck", "-v", str(cram)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    stats = (run2 / "results" / "qc" / "samtools" / f"{SAMPLE}.markdup.txt").read_text()
    assert "DUPLICATE TOTAL" in stats


def test_qc_outputs(run2: Path) -> None:
    qc = run2 / "results" / "qc"
    for path in (
        qc / "multiqc" / "multiqc_report.html",
        qc / "samtools" / f"{SAMPLE}.stats.txt",
        qc / "samtools" / f"{SAMPLE}.flagstat.txt",
        qc / "mosdepth" / f"{SAMPLE}.mosdepth.summary.txt",
        qc / "bcftools" / f"{SAMPLE}.stats.txt",
        qc / "fastp" / SAMPLE / f"{SAMPLE}_C0D8DACXX.1.fastp.json",
        qc / "fastp" / SAMPLE / f"{SAMPLE}_C0D8DACXX.1.fastp.html",
    ):
        assert path.stat().st_size > 0, path
    table = (qc / "coverage_mqc.tsv").read_text().splitlines()
    row = dict(zip(table[-2].split("\t"), table[-1].split("\t"), strict=True))
    assert row["Sample"] == SAMPLE
    # ~52x over 100 kb of a 1.1 Mb slice: ~4-5x mean over the whole slice.
    assert 3 < float(row["mean_coverage"]) < 8
    versions = (run2 / "results" / "versions.yaml").read_text()
    assert "bwa: 0.7.17" in versions and "bcftools: '1.16'" in versions


def test_no_run_of_homozygosity_in_na12878(run2: Path) -> None:
    """NA12878 is outbred: bcftools roh finds no segment among the slice's PASS SNVs (its log
    shows how many it weighed), so the summary has no hint and the MultiQC table says none."""
    import json
    import re

    log = (run2 / "logs" / "roh" / f"{SAMPLE}.log").read_text()
    processed = int(re.search(r"Number of lines total/processed: \d+/(\d+)", log).group(1))
    assert processed >= 150, log  # ~200 PASS SNVs over the covered 100 kb
    raw = (run2 / "results" / "roh" / f"{SAMPLE}.roh.txt").read_text()
    assert "bcftools roh" in raw and not [x for x in raw.splitlines() if x.startswith("RG")]
    summary = json.loads((run2 / "results" / "roh" / f"{SAMPLE}.roh.json").read_text())
    assert summary["hints"] == [] and summary["total"]["segments"] == 0
    assert (
        f"{SAMPLE}\t0\t0.000\t0.00\t0.0\tnone"
        in (run2 / "results" / "qc" / "roh_mqc.tsv").read_text()
    )


def test_no_mitochondrial_contig_in_the_slice(run2: Path) -> None:
    """The GIAB slice's reference (a piece of chr20) has no chrM: the mitochondrial analysis is
    "not assessed" (summary, header-only VCF, MultiQC row), the run does not fail."""
    import json

    assert (run2 / "results" / "mito" / "region.bed").read_text() == ""
    summary = json.loads((run2 / "results" / "mito" / f"{SAMPLE}.mito.json").read_text())
    assert summary["assessed"] is False and summary["variants"] == []
    assert summary["interpretation"].startswith("Not assessed: the reference has no mito")
    vcf = run2 / "results" / "mito" / f"{SAMPLE}.vcf.gz"
    assert vcf.is_file() and Path(f"{vcf}.tbi").is_file()
    mqc = (run2 / "results" / "qc" / "mito_mqc.tsv").read_text()
    assert f"{SAMPLE}\tnone\tNA" in mqc


def test_copy_number_not_assessed_on_the_slice(run2: Path) -> None:
    """The GIAB slice has reads over 100 kb of its 1.1 Mb contig: cnvkit runs, but only ~11% of
    the 5 kb bins have reads, so the copy number is "not assessed" (no call, header-only VCF,
    MultiQC row) instead of a 1 Mb "homozygous deletion" where the slice has no reads."""
    import json

    summary = json.loads((run2 / "results" / "cnv" / f"{SAMPLE}.cnv.json").read_text())
    assert summary["assessed"] is False and summary["calls"] == []
    assert 0.05 < summary["covered_fraction"] < 0.2, summary
    assert "not a whole genome" in summary["interpretation"]
    assert (run2 / "results" / "cnv" / f"{SAMPLE}.cns").is_file()  # cnvkit did run
    vcf = run2 / "results" / "cnv" / f"{SAMPLE}.vcf.gz"
    assert vcf.is_file() and Path(f"{vcf}.tbi").is_file()
    with pysam.VariantFile(str(vcf)) as records:
        assert list(records) == []
    mqc = (run2 / "results" / "qc" / "cnv_mqc.tsv").read_text()
    assert f"{SAMPLE}\tno\t0\t0\t0\t0\t0" in mqc


def test_intermediates_removed(run2: Path) -> None:
    assert not list((run2 / "results").glob("trimmed/**/*.fastq.gz"))
    assert not list((run2 / "results").glob("align/**/*.bam"))
    assert not list((run2 / "results").glob("calls/*/chunks/*.bcf"))


def test_vcf_records_identical_with_one_and_two_threads(run1: Path, run2: Path) -> None:
    vcf = Path("results") / "vcf" / f"{SAMPLE}.vcf.gz"
    assert _records(run1 / vcf) == _records(run2 / vcf)
    assert len(_records(run2 / vcf)) > 200


def test_second_run_does_nothing(run2: Path, tmp_path: Path) -> None:
    """Run again (in a copy of the finished run, time stamps kept: the shared run is only read,
    and a run directory moved to another place is not redone either)."""
    again = copy_run(run2, tmp_path / "again")
    before = {p: p.stat().st_mtime_ns for p in (again / "results").rglob("*") if p.is_file()}
    proc = snakemake(again)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    after = {p: p.stat().st_mtime_ns for p in (again / "results").rglob("*") if p.is_file()}
    assert before == after


def test_rerun_after_kill_completes_with_same_results(
    run2: Path, giab: Path, tmp_path: Path
) -> None:
    run_dir = _giab_run_dir(tmp_path / "killed", giab)
    cmd = snakemake_command(run_dir)
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    # Kill the whole run (scheduler and tools) as a crashed node would, mid-alignment.
    align_log = run_dir / "logs" / "align_bwa" / SAMPLE / "C0D8DACXX.1.log"
    deadline = time.monotonic() + 300
    while not align_log.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "results" / "vcf" / f"{SAMPLE}.vcf.gz").exists()

    snakemake(run_dir, "--unlock")
    snakemake(run_dir)
    vcf = Path("results") / "vcf" / f"{SAMPLE}.vcf.gz"
    assert _records(run_dir / vcf) == _records(run2 / vcf)


def test_minimap2_aligner_finds_all_confident_variants(giab: Path, tmp_path: Path) -> None:
    run_dir = _giab_run_dir(tmp_path / "mm2", giab, aligner="minimap2")
    snakemake(run_dir)
    header = subprocess.run(
        ["samtools", "view", "-H", str(run_dir / "results" / "cram" / f"{SAMPLE}.cram")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PN:minimap2" in header and "PN:bwa" not in header
    result = compare(
        run_dir / "results" / "vcf" / f"{SAMPLE}.vcf.gz",
        giab / "slice" / "truth_shifted.vcf.gz",
        giab / "slice" / "chr20_9995001_11095000.fa",
        giab / "slice" / "confident_shifted.bed",
    )
    total = result.total()
    assert (total.tp, total.fp, total.fn, total.genotype_match) == (49, 0, 0, 49)
    versions = (run_dir / "results" / "versions.yaml").read_text()
    assert "minimap2: '2.24'" in versions


def test_identity_fingerprint_finds_one_individual_in_two_read_halves(
    run2: Path, giab: Path, tmp_path: Path
) -> None:
    """Real data for the identity check (helgenom.family): NA12878's reads split in two disjoint
    halves (by read name), each called to a gVCF on its own (~26x), merged as the relatedness
    step merges (bcftools merge --gvcf, variant sites): KING-robust kinship ~0.5 and almost no
    opposite homozygotes, i.e. one individual as two samples, which the check fails."""
    import zlib

    from helgenom.family import Settings, all_pairs, check_pair, read_genotypes

    reference = giab / "slice" / "chr20_9995001_11095000.fa"
    cram = run2 / "results" / "cram" / f"{SAMPLE}.cram"
    halves = [tmp_path / f"half{i}.bam" for i in (0, 1)]
    with pysam.AlignmentFile(str(cram), reference_filename=str(reference)) as source:
        outs = [pysam.AlignmentFile(str(p), "wb", template=source) for p in halves]
        for read in source:
            outs[zlib.crc32(read.query_name.encode()) % 2].write(read)
        for out in outs:
            out.close()
    gvcfs = []
    for i, bam in enumerate(halves):
        pysam.index(str(bam))
        names = tmp_path / f"half{i}.names"
        names.write_text(f"{SAMPLE} {SAMPLE}_half{i}\n")
        gvcf = tmp_path / f"half{i}.g.vcf.gz"
        subprocess.run(
            f"bcftools mpileup -a AD,DP -f {reference} {bam} -Ou | bcftools call -m -g 5 "
            f"-Ou | bcftools reheader -s {names} | bcftools view -Oz -o {gvcf} "
            f"&& tabix -p vcf {gvcf}",
            shell=True, check=True, capture_output=True,
        )  # fmt: skip
        gvcfs.append(str(gvcf))
    merged = tmp_path / "merged.vcf.gz"
    subprocess.run(
        f"bcftools merge --gvcf {reference} -Ou {' '.join(gvcfs)} | bcftools view -e "
        f"'ALT=\".\" || ALT=\"<*>\"' -Oz -o {merged}",
        shell=True, check=True, capture_output=True,
    )  # fmt: skip
    settings = Settings(min_depth=10, min_sites=100, po_max_ibs0=0.01)
    (pair,) = all_pairs(read_genotypes(merged, settings), settings)
    assert pair.sites >= 150, pair  # ~200 variant sites over the covered 100 kb
    # measured: kinship 0.483, IBS0 0.005 (1 of 196 sites: a genotyping error), IBS2 0.974
    assert pair.kinship > 0.4 and pair.ibs0 < 0.01 and pair.relation == "duplicate", pair
    check = check_pair(pair, None)
    assert check.status == "fail" and "are one individual" in check.message
