"""The report model and its renderings on small made-up inputs: panels, panel coverage from a
mosdepth-style quantized BED, variants and consequences, answer categories, the JSON schema,
the HTML, the FHIR bundle (fhir.resources R4B) and the parameters hash."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pysam
import pytest

from helgenom.cnv import CnvCall, CnvSettings, not_assessed, summarise_cnv
from helgenom.config import validate_config
from helgenom.mito import MitoCall, MitoSettings, Pileup, summarise_mito
from helgenom.qc.gate import gate
from helgenom.qc.overrides import Override
from helgenom.report import (
    FOR_INTERPRETATION,
    NO_FINDINGS,
    QC_FAILURE,
    build_report,
    validate_report,
)
from helgenom.report.coverage import panel_coverage, panel_totals
from helgenom.report.fhir import build_bundle, validate_bundle
from helgenom.report.model import ReportError, parameters_hash, reference_checksum
from helgenom.report.panels import (
    DEFAULT_CATALOGUE,
    Panel,
    PanelError,
    assign_panels,
    load_catalogue,
    panel_for,
    read_panel_bed,
)
from helgenom.report.render import render_html
from helgenom.report.variants import parse_bcsq, zygosity
from helgenom.roh import RohSettings, Segment, summarise_roh
from helgenom.sv import SvCall, SvSettings, summarise_sv

BASE = {"samples": "s", "units": "u", "reference": {"fasta": "r.fa", "build": "test"}}
CNV_SETTINGS = CnvSettings(True, "cnvkit", 5000, "flat", None, 5, 1e-4, -0.4, 0.3, 3)
SAMPLE = {
    "sample_id": "S1",
    "indication": "hereditary test disease",
    "priority": "urgent",
    "sex": "female",
    "received": "2026-11-20",
}


def _quantized(path: Path, runs: list[tuple[str, int, int, str]]) -> Path:
    plain = path.with_suffix("")
    plain.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in runs))
    pysam.tabix_index(str(plain), preset="bed", csi=True, force=True)
    return path


def _vcf(path: Path, records: list[tuple[int, str, str, tuple, str, str | None]]) -> Path:
    header = pysam.VariantHeader()
    header.contigs.add("c1", length=10_000)
    header.add_sample("S1")
    header.formats.add("GT", 1, "String", "Genotype")
    header.formats.add("AD", "R", "Integer", "Allelic depths")
    header.formats.add("DP", 1, "Integer", "Depth")
    header.filters.add("LowDepth", None, None, "low depth")
    header.info.add("BCSQ", ".", "String", "consequences (bcftools csq)")
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for pos, ref, alt, gt, filt, bcsq in records:
            record = out.new_record(contig="c1", start=pos - 1, alleles=(ref, alt), qual=99)
            record.samples["S1"]["GT"] = gt
            record.samples["S1"]["AD"] = (10, 12) if gt == (0, 1) else (0, 20)
            record.samples["S1"]["DP"] = 22 if gt == (0, 1) else 20
            record.filter.add(filt)
            if bcsq:
                record.info["BCSQ"] = bcsq
            out.write(record)
    return path


ROH_SETTINGS = RohSettings(1000, 10, 5000, 0.02, 0.4)
MITO_SETTINGS = MitoSettings(("chrM", "MT"), 0.03, 0.95, 100, 5, 20, 20, 100_000)


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    bed = tmp_path / "panel.bed"
    bed.write_text("# test panel\nc1\t100\t200\tGENEA\texon1\nc1\t300\t400\tGENEA\texon2\n"
                   "c1\t1000\t1100\tGENEB\texon1\n")  # fmt: skip
    quantized = _quantized(
        tmp_path / "q.quantized.bed.gz",
        [("c1", 0, 150, "CALLABLE"), ("c1", 150, 160, "LOW_COVERAGE"),
         ("c1", 160, 170, "NO_COVERAGE"), ("c1", 170, 1050, "CALLABLE"),
         ("c1", 1050, 10_000, "NO_COVERAGE")],
    )  # fmt: skip
    vcf = _vcf(
        tmp_path / "panel.vcf.gz",
        [
            (120, "A", "G", (0, 1), "PASS", "missense|GENEA|T1|protein_coding|+|7K>7E|120A>G"),
            (350, "C", "T", (1, 1), "PASS", None),
            (360, "G", "T", (0, 1), "LowDepth", None),
            (5000, "T", "C", (0, 1), "PASS", None),  # outside the panel
            (1010, "G", "A", (0, 0), "PASS", None),  # no ALT allele called
        ],
    )
    versions = tmp_path / "versions.yaml"
    versions.write_text("bcftools: '1.16'\nsamtools: 1.16.1\n")
    ref_dict = tmp_path / "r.dict"
    ref_dict.write_text("@HD\tVN:1.0\n@SQ\tSN:c1\tLN:10000\tM5:0123456789abcdef0123456789abcdef\n")
    config = validate_config(BASE)
    panel = Panel("TEST-1", "Test panel", "2", bed, ("hereditary test disease",))
    metrics = {
        "sample_id": "S1",
        "values": {"mean_coverage": 33.0, "pct_ge_20x": 98.0, "duplicates_pct": 5.0,
                   "mapped_pct": 99.5, "properly_paired_pct": 98.0, "titv": 2.05,
                   "het_hom_ratio": 1.6, "contamination_pct": 0.3, "sex_check": "female"},
        "coverage": {"scope": "test regions"},
        "sex": {"reason": "X/autosomes 1.00"},
        "contamination": {"reason": "maximum likelihood", "het_allele_balance_median": 0.49},
    }  # fmt: skip
    return {
        "sample": SAMPLE,
        "config": config,
        "metrics": metrics,
        "panel": panel,
        "quantized_bed": quantized,
        "panel_vcf": vcf,
        "versions_yaml": versions,
        "reference_dict": ref_dict,
        "roh": summarise_roh(
            "S1", [Segment("c1", 1001, 9000, 120, 60.0)], {"c1": (10_000, 10_000)}, ROH_SETTINGS
        ),
        "mito": summarise_mito(
            "S1",
            Pileup(
                [
                    MitoCall(
                        "chrM", 3243, "A", "G", 0.25, 800, 200, 90, 110, "heteroplasmic", "PASS"
                    )
                ],
                {p: 800 for p in range(1, 16570)},
            ),
            MITO_SETTINGS,
            ("chrM", 16569),
        ),
        "sv": summarise_sv(
            "S1",
            [
                SvCall("c1", 2000, 2600, "DEL", "0/1", "DEL1", genes=("GENE1",)),
                SvCall("c1", 7000, 7000, "BND", "0/1", "BND1", "c2", 500, genes=("GENE2",)),
                SvCall("c1", 9000, 9400, "DUP", "0/1", "DUP1"),
            ],
            SvSettings(("delly",), 50),
        ),
        "cnv": summarise_cnv(
            "S1",
            [
                CnvCall("c1", 1000, 4000, 1, 2, -0.98, 6, ("GENE1",), "CNV1"),
                CnvCall("c1", 6000, 9000, 3, 2, 0.57, 6, (), "CNV2"),
            ],
            [],
            CNV_SETTINGS,
        ),
        "input_record": {
            "sample_id": "S1",
            "source": "fastq",
            "mode": None,
            "units": [{"unit_id": "FC1.1", "source": "fastq", "fq1": "a.fq.gz", "fq2": "b.fq.gz"}],
        },
    }


def _build(inputs: dict, **changes: object) -> dict:
    metrics = json.loads(json.dumps(inputs["metrics"]))
    metrics["values"].update(changes.pop("values", {}))
    thresholds = inputs["config"]["qc"]["thresholds"]["wgs_germline"]
    result = gate(metrics, "wgs_germline", thresholds, changes.pop("overrides", []), "female")
    return build_report(**(inputs | {"metrics": metrics, "gate": result}))


def test_runs_of_homozygosity_in_report_and_fhir_withheld_on_qc_failure(inputs: dict) -> None:
    report = _build(inputs)
    assert report["roh"]["hints"] == ["upd:c1"]
    assert report["roh"]["total"]["roh_bases"] == 8000
    bundle = build_bundle(report)
    roh = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "roh"
    ]
    assert len(roh) == 1
    assert roh[0]["valueQuantity"]["value"] == 80.0
    assert [c["valueString"] for c in roh[0]["component"]] == ["upd:c1"]
    failed = _build(inputs, values={"mean_coverage": 10.0})
    assert failed["roh"] is None and failed["variants_withheld"]


def test_mito_section_in_report_html_and_fhir(inputs: dict) -> None:
    report = _build(inputs)
    assert report["mito"]["counts"] == {"reported": 1, "heteroplasmic": 1, "homoplasmic": 0}
    assert report["mito"]["mean_depth"] == 800.0
    html = render_html(report)
    assert "Mitochondrial variants" in html and "25.0%" in html and "200/800" in html
    assert any("allele fraction of 3%" in item for item in report["limitations"])
    obs = [
        e["resource"]
        for e in build_bundle(report)["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "mito-variants"
    ]
    assert obs[0]["valueQuantity"]["value"] == 1
    assert obs[0]["component"][0]["valueString"] == "chrM:3243 A>G AF 0.250 heteroplasmic"
    # no mitochondrial contig in the reference: not assessed, said in the report and FHIR
    absent = summarise_mito("S1", None, MITO_SETTINGS, None)
    report = _build(inputs | {"mito": absent})
    assert report["mito"]["assessed"] is False
    assert "Not assessed: the reference has no mitochondrial contig" in render_html(report)
    obs = [
        e["resource"]
        for e in build_bundle(report)["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "mito-variants"
    ]
    assert obs[0]["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" not in obs[0] and "component" not in obs[0]
    failed = _build(inputs, values={"mean_coverage": 10.0})
    assert failed["mito"] is None


def test_structural_variants_in_report_html_and_fhir_withheld_on_qc_failure(
    inputs: dict,
) -> None:
    report = _build(inputs)
    assert report["sv"]["counts"] == {"DEL": 1, "DUP": 1, "INV": 0, "INS": 0, "BND": 1}
    assert [c["id"] for c in report["sv"]["panel_calls"]] == ["DEL1", "BND1"]
    assert any("Structural variants: delly" in item for item in report["limitations"])
    html = render_html(report)
    assert "2 structural variant(s) touch panel genes (GENE1, GENE2)" in html
    assert "c1:7,000 &rarr; c2:500" in html
    (sv,) = [
        e["resource"]
        for e in build_bundle(report)["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "sv"
    ]
    assert sv["valueQuantity"]["value"] == 3
    counts = {c["code"]["coding"][0]["code"]: c.get("valueQuantity", {}).get("value")
              for c in sv["component"]}  # fmt: skip
    assert counts["sv-count-del"] == 1 and counts["sv-count-inv"] == 0
    assert [c["valueString"] for c in sv["component"] if "valueString" in c] == [
        "DEL c1:2000-2600 0/1: GENE1",
        "BND c1:7000-7000 0/1 (to c2:500): GENE2",
    ]
    failed = _build(inputs, values={"mean_coverage": 10.0})
    assert failed["sv"] is None
    assert not [
        e for e in build_bundle(failed)["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "sv"
    ]  # fmt: skip


def test_copy_number_variants_in_report_html_and_fhir_withheld_on_qc_failure(
    inputs: dict,
) -> None:
    report = _build(inputs)
    assert report["schema_version"] == "1.3"
    assert report["cnv"]["counts"] == {"loss": 1, "gain": 1}
    assert [c["id"] for c in report["cnv"]["panel_calls"]] == ["CNV1"]
    assert any("Copy-number variants are called from read depth" in item
               for item in report["limitations"])  # fmt: skip
    html = render_html(report)
    assert '<span class="num">7</span> Copy-number variants' in html
    assert "1 copy-number variant(s) overlap panel genes (GENE1)" in html
    assert "c1:1,001-4,000" in html and "1 (expected 2)" in html
    assert '<span class="num">10</span> Limitations' in html
    (cnv,) = [
        e["resource"]
        for e in build_bundle(report)["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "cnv"
    ]
    assert cnv["valueQuantity"]["value"] == 2
    assert [c["valueString"] for c in cnv["component"] if "valueString" in c] == [
        "loss c1:1001-4000 CN 1 (expected 2): GENE1"
    ]
    failed = _build(inputs, values={"mean_coverage": 10.0})
    assert failed["cnv"] is None
    assert not [
        e for e in build_bundle(failed)["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "cnv"
    ]  # fmt: skip


def test_copy_number_not_assessed_is_said_in_report_and_fhir(inputs: dict) -> None:
    off = not_assessed("S1", "cnv.enabled is false", CNV_SETTINGS)
    report = _build(inputs | {"cnv": off})
    assert report["cnv"]["assessed"] is False
    assert "Copy number not assessed: cnv.enabled is false" in render_html(report)
    assert any(item.startswith("Copy-number variants: Copy number not assessed")
               for item in report["limitations"])  # fmt: skip
    (cnv,) = [
        e["resource"]
        for e in build_bundle(report)["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "cnv"
    ]
    assert cnv["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" not in cnv and "component" not in cnv


def test_method_input_names_the_source_of_the_reads(inputs: dict) -> None:
    report = _build(inputs)
    assert report["method"]["input"] == {
        "source": "fastq",
        "mode": None,
        "summary": "FC1.1: FASTQ",
        "units": [{"unit_id": "FC1.1", "source": "fastq"}],
    }
    assert not any("Re-analysis" in item for item in report["limitations"])
    sha = "ab" * 32
    unit = {"unit_id": "re1", "source": "aligned", "mode": "reuse", "file": "S1.cram",
            "format": "CRAM", "sha256": sha, "reference_match": True,
            "previous_programs": ["bwa"]}  # fmt: skip
    record = {"sample_id": "S1", "source": "aligned", "mode": "reuse", "units": [unit]}
    report = _build(inputs | {"input_record": record})
    assert report["method"]["input"]["units"][0]["sha256"] == sha
    assert "previous_programs" not in report["method"]["input"]["units"][0]
    assert any("existing alignments" in item for item in report["limitations"])
    html = render_html(report)
    assert "alignments reused" in html and "S1.cram (sha256 abababababab)" in html
    realigned = dict(unit, mode="realign", unpaired_reads_dropped=1234)
    report = _build(inputs | {"input_record": {**record, "mode": "realign", "units": [realigned]}})
    assert any("1,234 reads without their mate" in item for item in report["limitations"])
    assert "reads realigned" in render_html(report)


def test_panel_coverage_from_quantized_runs(inputs: dict) -> None:
    genes = panel_coverage(inputs["panel"].intervals(), inputs["quantized_bed"])
    a, b = genes
    assert (a.gene, a.length, a.covered) == ("GENEA", 200, 180)
    assert [g.as_dict() for g in a.gaps] == [
        {"contig": "c1", "start": 150, "end": 170, "length": 20, "zero_coverage_bases": 10}
    ]
    assert (b.gene, b.length, b.covered, b.pct_covered) == ("GENEB", 100, 50, 50.0)
    assert panel_totals(genes) == {
        "genes": 2, "length": 300, "bases_at_min_depth": 230, "pct_at_min_depth": 76.67,
        "genes_fully_covered": 0,
    }  # fmt: skip


def test_report_with_variants_for_interpretation(inputs: dict) -> None:
    report = _build(inputs)
    assert report["answer"]["category"] == FOR_INTERPRETATION
    assert report["report_id"].startswith("S1-")
    positions = [(v["pos"], v["genotype"], v["zygosity"], v["filter"]) for v in report["variants"]]
    assert positions == [
        (120, "0/1", "heterozygous", "PASS"),
        (350, "1/1", "homozygous", "PASS"),
        (360, "0/1", "heterozygous", "LowDepth"),
    ]
    first = report["variants"][0]
    assert (first["genes"], first["depth"], first["allele_fraction"]) == (["GENEA"], 22, 0.5455)
    assert first["consequences"][0]["protein_change"] == "7K>7E"
    assert "2 variant(s) in 1 gene(s) of the panel (GENEA)" in report["answer"]["text"]
    assert report["method"]["tools"] == {"bcftools": "1.16", "samtools": "1.16.1"}
    assert report["method"]["reference"]["checksum"]["contigs"] == 1
    assert report["sample"]["sample_id"] == "S1" and report["qc"]["reportable"]


def test_no_findings_and_qc_failure(inputs: dict, tmp_path: Path) -> None:
    inputs["panel_vcf"] = _vcf(
        tmp_path / "empty.vcf.gz", [(360, "G", "T", (0, 1), "LowDepth", None)]
    )
    assert _build(inputs)["answer"]["category"] == NO_FINDINGS
    failed = _build(inputs, values={"mean_coverage": 12.0})
    assert failed["answer"]["category"] == QC_FAILURE
    assert failed["variants"] == [] and failed["variants_withheld"]
    assert failed["qc"]["verdict"] == "fail (mean_coverage)"
    override = Override("S1", ("mean_coverage",), "kbj", "panel genes covered", "2026-11-25")
    released = _build(inputs, values={"mean_coverage": 12.0}, overrides=[override])
    assert released["answer"]["category"] == NO_FINDINGS
    assert (
        released["answer"]["override_applied"] and "recorded override" in released["answer"]["text"]
    )
    assert released["qc"]["overrides"][0]["who"] == "kbj"


def test_schema_rejects_inconsistent_reports(inputs: dict) -> None:
    report = _build(inputs, values={"mean_coverage": 12.0})
    validate_report(report)
    leaked = json.loads(json.dumps(report))
    leaked["variants"] = _build(inputs)["variants"]
    with pytest.raises(ReportError, match="variants"):
        validate_report(leaked)
    bad_id = json.loads(json.dumps(report))
    bad_id["sample"]["sample_id"] = "S 1/x"
    with pytest.raises(ReportError, match="sample_id"):
        validate_report(bad_id)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained(inputs: dict) -> None:
    html = render_html(_build(inputs))
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.text)
    assert "Variants for interpretation" in text and "GENEA" in text and "7K>7E" in text
    assert "c1:151-170" in text  # under-covered interval, 1-based
    assert not {"script", "img", "link", "iframe"} & set(parser.tags)
    assert "http://" not in html and "https://" not in html


def test_fhir_bundle(inputs: dict, tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")
    report = _build(inputs)
    bundle = build_bundle(report, pdf)
    model = validate_bundle(bundle)
    kinds = [e.resource.__resource_type__ for e in model.entry]
    assert kinds[0] == "DiagnosticReport" and kinds.count("Specimen") == 1
    diagnostic = bundle["entry"][0]["resource"]
    assert diagnostic["code"]["coding"][0]["code"] == "51969-4"
    assert diagnostic["conclusionCode"][0]["coding"][0]["code"] == "variants-for-interpretation"
    assert diagnostic["presentedForm"][0]["contentType"] == "application/pdf"
    variants = [
        e["resource"] for e in bundle["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "69548-6"
    ]  # fmt: skip
    assert len(variants) == 2  # PASS calls only
    text = json.dumps(bundle)
    assert '"LA6706-1"' in text and '"LA6705-3"' in text  # heterozygous, homozygous
    assert all(e["request"]["method"] == "POST" for e in bundle["entry"])
    failed = build_bundle(_build(inputs, values={"mean_coverage": 12.0}))
    overall = failed["entry"][2]["resource"]
    assert overall["valueCodeableConcept"]["coding"][0]["code"] == "LA9664-9"  # Failure
    assert "69548-6" not in json.dumps(failed)


def test_parameters_hash_and_reference_checksum(tmp_path: Path) -> None:
    config = validate_config(BASE)
    moved = validate_config(BASE | {"samples": "other.tsv", "site": "abacus"})
    assert parameters_hash(config)["value"] == parameters_hash(moved)["value"]
    changed = validate_config(BASE | {"calling": {"chunks": 8}})
    assert parameters_hash(config)["value"] != parameters_hash(changed)["value"]
    d1, d2 = tmp_path / "a.dict", tmp_path / "b.dict"
    d1.write_text("@SQ\tSN:c1\tLN:10\tM5:aa\tUR:/x/a.fa\n")
    d2.write_text("@SQ\tSN:c1\tLN:10\tM5:aa\tUR:/y/b.fa\n")
    assert reference_checksum(d1) == reference_checksum(d2)  # the sequence, not the path


def test_bcsq_and_zygosity() -> None:
    assert parse_bcsq("missense|G|T|protein_coding|+|7K>7E|120A>G,@150") == [
        {"consequence": "missense", "gene": "G", "transcript": "T", "biotype": "protein_coding",
         "strand": "+", "protein_change": "7K>7E", "dna_change": "120A>G"},
        {"consequence": "see the record at position 150"},
    ]  # fmt: skip
    assert parse_bcsq(None) == []
    assert zygosity([0, 1]) == "heterozygous" and zygosity([1, 1]) == "homozygous"
    assert zygosity([1]) == "hemizygous" and zygosity([0, 0]) is None and zygosity([-1, -1]) is None


def test_shipped_panel_catalogue() -> None:
    panels = load_catalogue()
    assert {p.id for p in panels} == {"DEMO-SYNTH", "TEST-GIAB-CHR20"}
    assert all("not for clinical use" in p.name for p in panels)
    giab = panel_for("  Validation:  GIAB reference material ", panels)
    assert giab is not None and giab.id == "TEST-GIAB-CHR20"
    assert panel_for("neonatal epilepsy", panels) is None
    assert len(giab.genes()) == 5
    assert DEFAULT_CATALOGUE.parent.name == "panels"


def test_panel_catalogue_problems(tmp_path: Path) -> None:
    (tmp_path / "a.bed").write_text("c1\t10\t5\tGENEA\nc1\t1\t2\n")
    (tmp_path / "panels.yaml").write_text(
        "panels:\n"
        "  - id: A\n    name: a\n    version: '1'\n    bed: a.bed\n    indications: [x]\n"
        "  - id: A\n    name: b\n    version: '1'\n    bed: missing.bed\n    indications: [y]\n"
        "  - id: C\n    name: c\n    version: '1'\n    bed: a.bed\n"
        "  - id: D\n    name: d\n    version: '1'\n    bed: a.bed\n    indications: [' X']\n"
    )
    with pytest.raises(PanelError) as info:
        load_catalogue(tmp_path / "panels.yaml")
    text = str(info.value)
    assert "a.bed:1: start 10 is not below end 5" in text
    assert "a.bed:2: not 'contig<TAB>start<TAB>end<TAB>gene'" in text
    assert "panels.yaml:7: panels[1]: id 'A' is also used on line 2" in text
    assert "panels.yaml:16: panels[3]: indication ' X' is already served by panel 'A'" in text
    assert "missing.bed does not exist" in text
    assert "panels.yaml:12: panels[2]: missing key(s) indications" in text


def test_assign_panels_checks_contigs_and_warns(tmp_path: Path) -> None:
    from types import SimpleNamespace

    fasta = tmp_path / "r.fa"
    fasta.write_text(">chr20_9995001_11095000\nACGT\n")
    pysam.faidx(str(fasta))
    samples = {
        "S1": SimpleNamespace(indication="validation: GIAB reference material"),
        "S2": SimpleNamespace(indication="x"),
    }
    config = validate_config(BASE | {"reference": {"fasta": str(fasta), "build": "b"}})
    with pytest.raises(PanelError, match="beyond the end of chr20_9995001_11095000"):
        assign_panels(config, samples)
    assert read_panel_bed(load_catalogue()[1].bed)[0].gene == "TGENE1"
    del samples["S1"]
    assigned, warnings = assign_panels(config, samples)
    assert assigned == {} and "sample S2: no gene panel" in warnings[0]


def _family_summary(check: str = "consistent") -> dict:
    """A family JSON (helgenom.family.family_summary) of the trio S1 (child), F1, M1."""

    def tv(pos: int, ref: str, alt: str, gts: tuple[str, str, str], pattern: str) -> dict:
        return {
            "variant": f"c1:{pos} {ref}>{alt}", "chrom": "c1", "pos": pos, "ref": ref,
            "alt": alt, "child": gts[0], "father": gts[1], "mother": gts[2],
            "child_vaf": 0.5, "qual": 99.0, "pattern": pattern, "gene": "GENEA",
        }  # fmt: skip

    members = [
        {"sample_id": "S1", "father": "F1", "mother": "M1", "sex": "female",
         "affected": "affected", "pedigree_check": check},
        {"sample_id": "F1", "father": None, "mother": None, "sex": "male",
         "affected": "unaffected", "pedigree_check": check},
        {"sample_id": "M1", "father": None, "mother": None, "sex": "female",
         "affected": "unaffected", "pedigree_check": "consistent"},
    ]  # fmt: skip
    message = "S1 and F1: parent-offspring, as declared" if check == "consistent" else (
        "S1 and F1 are declared parent-offspring but look unrelated (kinship -0.050, IBS0 "
        "0.120): check for a sample swap"
    )  # fmt: skip
    de_novo = tv(120, "A", "G", ("0/1", "0/0", "0/0"), "de_novo")
    return {
        "family": "FAM1",
        "members": members,
        "pairs": [
            {
                "a": "S1",
                "b": "F1",
                "status": "pass" if check == "consistent" else "fail",
                "message": message,
            },
            {"a": "S1", "b": "M1", "status": "pass", "message": "S1 and M1: parent-offspring"},
        ],  # fmt: skip
        "trios": [
            {
                "child": "S1",
                "father": "F1",
                "mother": "M1",
                "mendelian": {
                    "consistent_sites": 990,
                    "mendelian_errors": 10,
                    "mendelian_error_pct": 1.0,
                },
                "de_novo": [de_novo, {**de_novo, "pos": 5000, "gene": None}],
                "panel_variants": [
                    de_novo,
                    tv(350, "C", "T", ("1/1", "0/1", "0/1"), "homozygous"),
                    tv(360, "G", "T", ("0/1", "0/1", "0/0"), "compound_heterozygous"),
                ],
                "pattern_counts": {"de_novo": 2},
            }
        ],  # fmt: skip
    }


def test_family_section_inheritance_in_report_html_and_fhir(inputs: dict) -> None:
    """A trio's child: the report names its family and the pedigree check, the de novo
    candidates in the panel's genes (the one outside counted only), the compound heterozygous
    gene, each panel variant's inheritance (in the table and the FHIR variant's
    variant-inheritance component); a swapped sample withholds the family results."""
    report = _build(inputs | {"family": _family_summary()})
    family = report["family"]
    assert (family["family"], family["role"], family["pedigree_check"]) == ("FAM1", "child",
                                                                          "consistent")  # fmt: skip
    trio = family["trio"]
    assert trio["de_novo_total"] == 2 and [v["pos"] for v in trio["de_novo"]] == [120]
    assert trio["compound_heterozygous_genes"] == ["GENEA"]
    assert family["interpretation"] == (
        "Relations consistent with the genotypes; 2 de novo candidate(s) genome-wide, 1 in the "
        "panel's genes; compound heterozygous in GENEA; Mendelian errors 1.00 %"
    )
    inheritance = {v["pos"]: v.get("inheritance") for v in report["variants"]}
    assert inheritance == {120: "de_novo", 350: "homozygous",
                           360: "compound_heterozygous:paternal"}  # fmt: skip
    html = render_html(report)
    assert "Family FAM1 in this run; this sample: child." in html
    assert '<td class="strong">compound heterozygous</td>' in html
    assert '<div class="small strong">de novo</div>' in html  # the variants table
    entries = [e["resource"] for e in build_bundle(report)["entry"]]
    (obs,) = [r for r in entries if r["resourceType"] == "Observation"
              and r["code"]["coding"][0]["code"] == "family"]  # fmt: skip
    assert obs["valueCodeableConcept"]["text"] == "consistent"
    values = [c.get("valueString") for c in obs["component"]]
    assert "GENEA: c1:120 A>G" in values and "GENEA" in values
    inherited = [
        c["valueCodeableConcept"]
        for r in entries
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "69548-6"
        for c in r["component"]
        if c["code"]["coding"][0]["code"] == "variant-inheritance"
    ]
    assert [i["coding"][0]["code"] for i in inherited] == ["de-novo", "homozygous"]
    assert report["schema_version"] == "1.3"

    swapped = _build(inputs | {"family": _family_summary("inconsistent")})
    assert (
        swapped["family"]["trio"] is None and "sample swap" in swapped["family"]["interpretation"]
    )
    assert "look unrelated" in swapped["family"]["pedigree_reason"]
    assert not any("inheritance" in v for v in swapped["variants"])

    alone = _build(inputs)
    assert alone["family"]["family"] is None and alone["family"]["trio"] is None
    assert "no relative of the sample is in this run" in render_html(alone)
    assert (
        _build(inputs | {"family": _family_summary()}, values={"mean_coverage": 10.0})["family"]
        is None
    )  # withheld on a QC failure
