"""End to end on real data: the QC gate and the clinical report of GIAB NA12878 (chr20 slice).

The test panel (src/helgenom/panels/test-giab-chr20-slice.bed, made-up genes on the slice) is
mapped from the sample's indication. The slice's reads cover hg19 chr20:10.0-10.1 Mb only
(~52x there, ~4.7x over the whole 1.1 Mb slice), so the runs compute the gate's coverage over
that span (qc.coverage_regions = tests/data/giab-covered.bed) with the clinical wgs_germline
thresholds. A second sample, the same reads thinned to one pair in ten (~5x), must be a QC
failure in every rendering, until an override is recorded.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pysam
import pytest
import yaml

from helgenom.report import FOR_INTERPRETATION, QC_FAILURE, read_report
from helgenom.report.panels import load_catalogue
from helgenom.testing import GIAB_SAMPLE as SAMPLE
from helgenom.testing import GIAB_UNIT, write_giab_run_dir, write_run_dir
from workflow_helpers import REPO, snakemake

DATA = REPO / "tests" / "data"
CONTIG = "chr20_9995001_11095000"
EXTRA = {
    "calling": {"chunks": 4},
    "qc": {"coverage_regions": str(DATA / "giab-covered.bed")},
    "report": {"gff3": str(DATA / "giab-slice-test-genes.gff3")},
}
LOW = "NA12878-LOW"
CODONS = {
    a + b + c: aa
    for (a, b, c), aa in zip(
        ((x, y, z) for x in "TCAG" for y in "TCAG" for z in "TCAG"),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
        strict=True,
    )
}


def _panel():  # noqa: ANN202
    return next(p for p in load_catalogue() if p.id == "TEST-GIAB-CHR20")


@pytest.fixture(scope="module")
def passing(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = write_giab_run_dir(tmp_path_factory.mktemp("report"), giab, extra_config=EXTRA)
    snakemake(run_dir)
    return run_dir


def _thin(source: Path, out: Path, every: int = 10) -> None:
    """Keep every `every`-th read (record) of a FASTQ: the same pairs from R1 and R2."""
    with gzip.open(source, "rt") as handle, gzip.open(out, "wt") as dest:
        for index, line in enumerate(handle):
            if (index // 4) % every == 0:
                dest.write(line)


@pytest.fixture(scope="module")
def low(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("report_low")
    for mate in ("R1", "R2"):
        _thin(
            giab / "reads" / f"NA12878_chr20_10mb_{mate}.fastq.gz", run_dir / f"low_{mate}.fastq.gz"
        )
    write_run_dir(
        run_dir,
        samples=[{"sample_id": LOW, "sex": "female", "priority": "urgent",
                  "indication": "validation: GIAB reference material"}],
        units=[{"sample_id": LOW, "unit_id": GIAB_UNIT, "fq1": "low_R1.fastq.gz",
                "fq2": "low_R2.fastq.gz", "platform": "ILLUMINA", "library": "NA12878-PG"}],
        reference=giab / "slice" / "chr20_9995001_11095000.fa",
        build="giab-slice",
        extra_config=EXTRA,
    )  # fmt: skip
    snakemake(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def low_before_override(low: Path) -> Path:
    """The low-coverage run's gate, reports and MultiQC table as they were before `overridden`
    records an override in the same run directory."""
    snapshot = low.parent / "before_override"
    if not snapshot.exists():
        for part in ("report", "qc/gate", "qc/multiqc/multiqc_report_data"):
            shutil.copytree(low / "results" / part, snapshot / "results" / part)
    return snapshot


@pytest.fixture(scope="module")
def overridden(low: Path, low_before_override: Path) -> Path:
    """The low-coverage run again, with an override recorded for its failing metrics."""
    gate = json.loads((low / "results" / "qc" / "gate" / f"{LOW}.json").read_text())
    (low / "overrides.tsv").write_text(
        "sample_id\tmetrics\twho\twhy\twhen\n"
        f"{LOW}\t{','.join(gate['failed_checks'])}\tlab.lead\tvalidation material, coverage "
        "shortfall accepted for the test\t2026-11-20T10:15:00+01:00\n"
    )
    config = yaml.safe_load((low / "config.yaml").read_text())
    config["qc"]["overrides"] = "overrides.tsv"
    (low / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(low)
    jobs = proc.stdout + proc.stderr
    assert "qc_gate" in jobs and "qc_metrics" not in jobs  # only the gate and reports rerun
    return low


def _results(run_dir: Path, sample: str = SAMPLE) -> dict[str, Path]:
    report = run_dir / "results" / "report"
    return {
        "json": report / f"{sample}.json",
        "html": report / f"{sample}.html",
        "pdf": report / f"{sample}.pdf",
        "fhir": report / f"{sample}.fhir.json",
        "gate": run_dir / "results" / "qc" / "gate" / f"{sample}.json",
    }


def _normalised_truth(giab: Path, out: Path) -> list[tuple[int, str, str, str]]:
    ref = giab / "slice" / "chr20_9995001_11095000.fa"
    subprocess.run(
        ["bcftools", "norm", "-f", str(ref), "-m", "-both", "-Oz", "-o", str(out),
         str(giab / "slice" / "truth_shifted.vcf.gz")],
        check=True, capture_output=True,
    )  # fmt: skip
    rows = []
    with pysam.VariantFile(str(out)) as vcf:
        for record in vcf:
            gt = record.samples[0]["GT"]
            zyg = "homozygous" if len(set(gt)) == 1 else "heterozygous"
            rows.append((record.pos, record.ref.upper(), record.alts[0].upper(), zyg))
    return rows


def _in(regions: list[tuple[int, int]], pos: int) -> bool:
    return any(start < pos <= end for start, end in regions)


def test_truth_variants_in_the_panel_are_listed_with_their_genotypes(
    passing: Path, giab: Path, tmp_path: Path
) -> None:
    report = read_report(_results(passing)["json"])
    assert report["answer"]["category"] == FOR_INTERPRETATION
    assert report["qc"]["reportable"] and not report["variants_withheld"]
    panel = [(i.start, i.end) for i in _panel().intervals()]
    confident = []
    for line in (giab / "slice" / "confident_shifted.bed").read_text().splitlines():
        _, start, end = line.split("\t")[:3]
        confident.append((int(start), int(end)))
    truth = [t for t in _normalised_truth(giab, tmp_path / "t.vcf.gz") if _in(panel, t[0])]
    expected = {t for t in truth if _in(confident, t[0])}
    assert len(expected) == 49  # every GIAB confident variant lies in TGENE1-3
    listed = {
        (v["pos"], v["ref"], v["alt"], v["zygosity"])
        for v in report["variants"]
        if v["filter"] == "PASS"
    }
    assert expected <= listed, sorted(expected - listed)
    # Outside the confident regions the truth is incomplete: still, most truth calls are found.
    found = sum(1 for t in truth if t in listed)
    assert found >= 0.9 * len(truth), (found, len(truth))
    for variant in report["variants"]:
        assert variant["depth"] > 0 and variant["quality"] > 0
        if variant["zygosity"] == "homozygous" and variant["filter"] == "PASS":
            assert variant["allele_fraction"] >= 0.8
        assert set(variant["genes"]) <= {"TGENE1", "TGENE2", "TGENE3", "TGENE4", "TGENE5"}


def _mosdepth(cram: Path, ref: Path, bed: Path, prefix: Path) -> dict[str, int]:
    subprocess.run(
        ["mosdepth", "--no-per-base", "--fast-mode", "--fasta", str(ref), "--by", str(bed),
         "--thresholds", "20", str(prefix), str(cram)],
        check=True, capture_output=True,
    )  # fmt: skip
    per_region: dict[str, int] = {}
    with gzip.open(f"{prefix}.thresholds.bed.gz", "rt") as handle:
        next(handle)
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            per_region[fields[3]] = per_region.get(fields[3], 0) + int(fields[4])
    return per_region


def test_coverage_figures_agree_with_mosdepth(passing: Path, tmp_path: Path) -> None:
    report = read_report(_results(passing)["json"])
    cram = passing / "results" / "cram" / f"{SAMPLE}.cram"
    ref = passing / "reference" / "giab-slice.fa"
    # A BED named by gene (4 columns): mosdepth counts the bases >= 20x per gene.
    panel_bed = tmp_path / "genes.bed"
    panel_bed.write_text(
        "".join(f"{i.contig}\t{i.start}\t{i.end}\t{i.gene}\n" for i in _panel().intervals())
    )
    per_gene = _mosdepth(cram, ref, panel_bed, tmp_path / "panel")
    genes = {g["gene"]: g for g in report["panel"]["genes"]}
    assert {name: g["bases_at_min_depth"] for name, g in genes.items()} == per_gene
    assert genes["TGENE1"]["pct_at_min_depth"] == 100.0
    assert genes["TGENE5"]["pct_at_min_depth"] < 60  # runs past the end of the reads
    gap = genes["TGENE5"]["under_covered"][-1]
    assert (gap["end"], gap["zero_coverage_bases"] > 1000) == (107_000, True)
    assert sum(g["length"] for g in genes["TGENE5"]["under_covered"]) == (
        genes["TGENE5"]["length"] - per_gene["TGENE5"]
    )
    # The gate's coverage: the same counts over the configured regions.
    covered = _mosdepth(cram, ref, DATA / "giab-covered.bed", tmp_path / "covered")
    rows = {m["id"]: m for m in report["qc"]["metrics"]}
    assert rows["pct_ge_20x"]["value"] == pytest.approx(
        100 * covered["unknown"] / 100_000, abs=1e-3
    )
    summary = (tmp_path / "covered.mosdepth.summary.txt").read_text().splitlines()
    total_region = next(line for line in summary if line.startswith("total_region"))
    assert rows["mean_coverage"]["value"] == pytest.approx(float(total_region.split("\t")[3]))
    assert rows["mean_coverage"]["status"] == "pass" and rows["mean_coverage"]["value"] > 45
    assert report["qc"]["coverage_scope"] == "configured regions (giab-covered.bed)"


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.classes: list[str] = []
        self.rows = 0
        self._table = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        self.classes.append(cls)
        if tag == "table":
            self._table = cls
        if tag == "tr" and "variants" in self._table:
            self.rows += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _html(path: Path) -> tuple[str, _Html]:
    parser = _Html()
    parser.feed(path.read_text())
    parser.close()
    return " ".join(" ".join(parser.text).split()), parser


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return " ".join(out.stdout.split())


def _assert_pdf_renders(pdf: Path, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:200]) / (image.width * image.height)
    assert image.width > 400 and 0.02 < dark < 0.6, dark  # text and tables, not blank
    assert ImageStat.Stat(image).stddev[0] > 20


def _fhir(path: Path):  # noqa: ANN202
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate_json(path.read_text())


def _observations(bundle, loinc: str) -> list:  # noqa: ANN001
    return [
        e.resource for e in bundle.entry
        if e.resource.__resource_type__ == "Observation"
        and e.resource.code.coding[0].code == loinc
    ]  # fmt: skip


def test_every_rendering_of_the_report(passing: Path, tmp_path: Path) -> None:
    files = _results(passing)
    report = read_report(files["json"])  # validates against report.schema.json
    passing_calls = [v for v in report["variants"] if v["filter"] == "PASS"]
    text, parser = _html(files["html"])
    assert f"Sample ID (pseudonymised) {SAMPLE}" in text
    assert "Variants for interpretation" in text and "TGENE1" in text
    assert parser.rows == 1 + len(passing_calls)  # header + one row per PASS variant
    assert "frameshift" in text
    pdf_text = _pdf_text(files["pdf"])
    assert "Variants for interpretation" in pdf_text and SAMPLE in pdf_text
    assert "Page 1 of" in pdf_text
    _assert_pdf_renders(files["pdf"], tmp_path)
    bundle = _fhir(files["fhir"])
    diagnostic = bundle.entry[0].resource
    assert diagnostic.__resource_type__ == "DiagnosticReport"
    assert diagnostic.code.coding[0].code == "51969-4"
    assert diagnostic.conclusionCode[0].coding[0].code == "variants-for-interpretation"
    assert diagnostic.subject.identifier.value == SAMPLE
    assert diagnostic.presentedForm[0].contentType == "application/pdf"
    form = json.loads(files["fhir"].read_text())["entry"][0]["resource"]["presentedForm"][0]
    pdf = files["pdf"].read_bytes()
    assert base64.b64decode(form["data"]) == pdf  # the PDF itself travels with the report
    assert base64.b64decode(form["hash"]) == hashlib.sha1(pdf).digest()
    assert len(_observations(bundle, "69548-6")) == len(passing_calls)
    assert len(_observations(bundle, "53041-0")) == 5  # one region studied per gene
    method = report["method"]
    assert method["tools"]["bcftools"] == "1.16" and method["reference"]["build"] == "giab-slice"
    assert len(method["parameters"]["value"]) == 64
    for path in (passing / "results" / "report").iterdir():
        assert path.name.startswith(f"{SAMPLE}."), path  # files named by the sample ID only


def test_consequences_from_bcftools_csq(passing: Path) -> None:
    report = read_report(_results(passing)["json"])
    assert report["consequences_annotated"]
    fasta = pysam.FastaFile(str(passing / "reference" / "giab-slice.fa"))
    # TGENE1: + strand, CDS 5900-7450 and 7501-9099 (1-based, tests/data GFF3)
    cds = list(range(5900, 7451)) + list(range(7501, 9100))
    index = {pos: i for i, pos in enumerate(cds)}
    checked = 0
    for v in report["variants"]:
        csq = v["consequences"]
        if "TGENE2" in v["genes"]:
            assert csq == []  # no transcript in the annotation
        if "TGENE3" in v["genes"] and csq and "strand" in csq[0]:
            assert csq[0]["strand"] == "-"
        if v["type"] != "SNV" or v["pos"] not in index:
            continue
        start = index[v["pos"]] - index[v["pos"]] % 3
        codon = "".join(fasta.fetch(CONTIG, p - 1, p).upper() for p in cds[start : start + 3])
        alt = list(codon)
        alt[index[v["pos"]] % 3] = v["alt"]
        before, after = CODONS[codon], CODONS["".join(alt)]
        expected = (
            "synonymous" if before == after
            else "stop_gained" if after == "*"
            else "stop_lost" if before == "*"
            else "missense"
        )  # fmt: skip
        assert csq[0]["consequence"] == expected, (v["pos"], codon, csq)
        assert csq[0]["gene"] == "TGENE1" and csq[0]["transcript"] == "TT0001"
        checked += 1
    assert checked >= 15
    insertion = next(v for v in report["variants"] if v["pos"] == 6436)
    assert insertion["consequences"][0]["consequence"] == "frameshift"


def test_multiqc_shows_the_gate_and_its_thresholds(passing: Path) -> None:
    qc = passing / "results" / "qc"
    html = (qc / "multiqc" / "multiqc_report.html").read_text()
    assert "QC gate (helgenom)" in html and "fail &lt; 30x; warn &lt; 32x" in html
    assert "Clinical Genomics Stockholm" in html
    table = qc / "multiqc" / "multiqc_report_data" / "multiqc_helgenom_qc_gate_table.txt"
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Sample"] == SAMPLE and row["qc_gate"] in ("pass", "warn")
    assert float(row["mean_coverage"]) > 45


def test_low_coverage_sample_is_a_qc_failure_in_every_rendering(
    low_before_override: Path, tmp_path: Path
) -> None:
    low = low_before_override
    files = _results(low, LOW)
    gate = json.loads(files["gate"].read_text())
    assert gate["decision"] == "fail" and "mean_coverage" in gate["failed_checks"]
    assert "override" not in gate
    report = read_report(files["json"])
    assert report["answer"]["category"] == QC_FAILURE
    assert report["variants"] == [] and report["variants_withheld"]
    rows = {m["id"]: m for m in report["qc"]["metrics"]}
    assert rows["mean_coverage"]["value"] < 10 and rows["mean_coverage"]["status"] == "fail"
    text, parser = _html(files["html"])
    assert "QC failure" in text and "Variant calls are withheld" in text and parser.rows == 0
    pdf_text = _pdf_text(files["pdf"])
    assert "QC failure" in pdf_text and "withheld" in pdf_text
    _assert_pdf_renders(files["pdf"], tmp_path)
    bundle = _fhir(files["fhir"])
    diagnostic = bundle.entry[0].resource
    assert diagnostic.conclusionCode[0].coding[0].code == "qc-failure"
    overall = _observations(bundle, "51968-6")[0]
    assert overall.valueCodeableConcept.coding[0].code == "LA9664-9"  # Failure
    assert _observations(bundle, "69548-6") == []
    mqc = low / "results" / "qc" / "multiqc" / "multiqc_report_data"
    assert "\tfail\t" in (mqc / "multiqc_helgenom_qc_gate_table.txt").read_text()


def test_override_is_recorded_and_shown(overridden: Path, tmp_path: Path) -> None:
    files = _results(overridden, LOW)
    gate = json.loads(files["gate"].read_text())
    assert gate["decision"] == "fail" and gate["reportable"]
    assert gate["override"]["by"] == "lab.lead"  # what helgenom.export records
    report = read_report(files["json"])
    assert report["answer"]["category"] != QC_FAILURE and report["answer"]["override_applied"]
    assert report["qc"]["verdict"].startswith("fail, overridden")
    override = report["qc"]["overrides"][0]
    assert (override["who"], override["when"]) == ("lab.lead", "2026-11-20T10:15:00+01:00")
    assert override["recorded_in"] == "overrides.tsv:2"
    text, _ = _html(files["html"])
    assert "QC override recorded" in text and "lab.lead" in text
    assert "coverage shortfall accepted for the test" in text
    pdf_text = _pdf_text(files["pdf"])
    assert "QC override recorded" in pdf_text and "lab.lead" in pdf_text
    bundle = _fhir(files["fhir"])
    assert "recorded override" in bundle.entry[0].resource.conclusion
    mqc = overridden / "results" / "qc" / "multiqc" / "multiqc_report_data"
    assert "fail (override)" in (mqc / "multiqc_helgenom_qc_gate_table.txt").read_text()


def test_bad_override_stops_the_run_before_any_job(low: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(low, run_dir, symlinks=True, ignore=shutil.ignore_patterns("results"))
    (run_dir / "overrides.tsv").write_text(
        "sample_id\tmetrics\twho\twhy\twhen\n"
        f"{LOW}\tmean_coverage\tkbj\tre-sampled, patient 010190-1234\t2026-11-20\n"
    )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["qc"]["overrides"] = "overrides.tsv"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(run_dir, "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "input validation failed before any job ran" in out
    assert "overrides.tsv:2: column 'why': the value looks like a CPR number" in out
    assert "010190" not in out
