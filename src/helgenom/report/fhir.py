"""The report as an HL7 FHIR R4 bundle for the patient record (EPJ), after the HL7 Genomics
Reporting implementation guide (STU2, FHIR R4).

Built and validated with `fhir.resources` 8 (its R4B models, `fhir.resources.R4B`: FHIR 4.3,
whose DiagnosticReport, Observation and Specimen are wire-compatible with R4 4.0.1 for the
elements used here). The bundle is a transaction (POST of every resource, internal references
as urn:uuid) holding:

* DiagnosticReport (genomics-report profile; LOINC 51969-4 "Genetic analysis report"),
  status "preliminary" (a technical report awaiting sign-off), the answer as `conclusion` and
  `conclusionCode`, and the PDF as `presentedForm`;
* an overall-interpretation Observation (LOINC 51968-6; Negative / Inconclusive / Failure);
* one variant Observation per PASS variant in the panel (LOINC 69548-6 with the components of
  the guide's variant profile: reference sequence, REF/ALT, 1-based position, allelic state,
  allele fraction, read depth, gene studied, DNA change type);
* one region-studied Observation per panel gene (LOINC 53041-0) with its coverage;
* one Observation per QC metric (local codes);
* one summary Observation per further analysis the report holds (local codes): runs of
  homozygosity, mitochondrial variants, structural variants, copy-number variants, and the
  family (pedigree check, a trio's Mendelian errors, de novo and compound heterozygous genes).

The subject is a logical reference by the pseudonymous sample ID (system
`urn:helgenom:pseudonym`): the EHR resolves it; no personal identifier is in the bundle.
Codes without a standard equivalent (QC metrics, panel coverage, the answer category) use the
local code system `urn:helgenom:fhir:codes`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helgenom.family import INHERITANCE_LABELS

FHIR_PACKAGE = "fhir.resources.R4B"
LOINC = "http://loinc.org"
LOCAL = "urn:helgenom:fhir:codes"
PSEUDONYM = "urn:helgenom:pseudonym"
SO = "http://www.sequenceontology.org"
UCUM = "http://unitsofmeasure.org"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition"
IG_CODES = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
# The guide's variant-inheritance value set (LOINC): by which parent the variant was inherited;
# helgenom's other trio patterns (de novo, both parents, ...) as local codes.
INHERITANCE = {
    "paternal": ("LA26321-2", "Paternal"),
    "maternal": ("LA26320-4", "Maternal"),
    "compound_heterozygous:paternal": ("LA26321-2", "Paternal"),
    "compound_heterozygous:maternal": ("LA26320-4", "Maternal"),
}
_NAMESPACE = uuid.UUID("5b6f1d3e-6a52-4c35-9a43-5f0f1f5c2a11")

CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    },
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                "code": "GE",
                "display": "Genetics",
            }
        ]
    },
]
OVERALL = {
    "no findings in panel": ("LA6577-6", "Negative"),
    "variants for interpretation": ("LA9663-1", "Inconclusive"),
    "QC failure": ("LA9664-9", "Failure"),
}
ZYGOSITY = {
    "heterozygous": ("LA6706-1", "Heterozygous"),
    "homozygous": ("LA6705-3", "Homozygous"),
    "hemizygous": ("LA6707-9", "Hemizygous"),
}
VARIANT_TYPE = {
    "SNV": ("SO:0001483", "SNV"),
    "MNV": ("SO:0002007", "MNV"),
    "insertion": ("SO:0000667", "insertion"),
    "deletion": ("SO:0000159", "deletion"),
    "delins": ("SO:1000032", "delins"),
}


def _cc(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def _uuid(report_id: str, *parts: Any) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(map(str, (report_id, *parts))))}"


def _component(code: dict, **value: Any) -> dict:
    return {"code": code, **value}


def _quantity(value: float, code: str = "1", unit: str | None = None) -> dict[str, Any]:
    """A UCUM Quantity: "1" a count or ratio, "%" a percentage, "{variants}" an annotated count."""
    out: dict[str, Any] = {"value": value, "system": UCUM, "code": code}
    if unit:
        out["unit"] = unit
    return out


def build_bundle(report: Mapping[str, Any], pdf: str | Path | None = None) -> dict[str, Any]:
    """The FHIR bundle (plain JSON data) of a report, validated with fhir.resources R4B."""
    rid = report["report_id"]
    sample_id = report["sample"]["sample_id"]
    subject = {
        "type": "Patient",
        "identifier": {"system": PSEUDONYM, "value": sample_id},
        "display": f"pseudonymised sample {sample_id}",
    }
    issued = report["generated"]
    performer = [{"display": report["laboratory"]}] if report.get("laboratory") else []
    entries: list[dict[str, Any]] = []

    def add(kind: str, key: Any, resource: dict[str, Any]) -> str:
        url = _uuid(rid, kind, key)
        entries.append(
            {"fullUrl": url, "resource": resource, "request": {"method": "POST", "url": kind}}
        )
        return url

    def observation(profile: str | None, code: dict, **fields: Any) -> dict[str, Any]:
        resource: dict[str, Any] = {"resourceType": "Observation"}
        if profile:
            resource["meta"] = {"profile": [f"{IG}/{profile}"]}
        resource.update({"status": "final", "category": CATEGORY, "code": code, "subject": subject})
        resource["issued"] = issued
        if performer:
            resource["performer"] = performer
        resource.update(fields)
        return resource

    specimen = add(
        "Specimen",
        sample_id,
        {
            "resourceType": "Specimen",
            "identifier": [{"system": PSEUDONYM, "value": sample_id}],
            "type": _cc(
                "http://terminology.hl7.org/CodeSystem/v2-0487", "DNA", "DNA", "genomic DNA"
            ),
            "subject": subject,
        },
    )
    specimen_ref = {"reference": specimen}
    results: list[dict[str, str]] = []

    category = report["answer"]["category"]
    loinc_answer, loinc_display = OVERALL[category]
    overall = observation(
        "overall-interpretation",
        _cc(LOINC, "51968-6", "Genetic disease analysis overall interpretation"),
        specimen=specimen_ref,
        valueCodeableConcept={
            "coding": [
                {"system": LOINC, "code": loinc_answer, "display": loinc_display},
                {"system": LOCAL, "code": _code(category), "display": category},
            ],
            "text": category,
        },
        note=[{"text": report["answer"]["text"]}],
    )
    results.append({"reference": add("Observation", "overall", overall)})

    build = report["method"]["reference"]["build"]
    for index, v in enumerate(report["variants"]):
        if v["filter"] != "PASS":
            continue
        components = [
            _component(
                _cc(LOINC, "48013-7", "Genomic reference sequence ID"),
                valueCodeableConcept={"text": f"{build} {v['chrom']}"},
            ),
            _component(_cc(LOINC, "69547-8", "Genomic ref allele [ID]"), valueString=v["ref"]),
            _component(_cc(LOINC, "69551-0", "Genomic alt allele [ID]"), valueString=v["alt"]),
            _component(
                _cc(LOINC, "92822-6", "Genomic coordinate system [Type]"),
                valueCodeableConcept=_cc(LOINC, "LA30102-0", "1-based character counting"),
            ),
            _component(
                _cc(LOINC, "81254-5", "Genomic allele start-end"),
                valueRange={
                    "low": {"value": v["pos"]},
                    "high": {"value": v["pos"] + len(v["ref"]) - 1},
                },
            ),
            _component(
                _cc(LOINC, "53034-5", "Allelic state"),
                valueCodeableConcept=_cc(LOINC, *ZYGOSITY[v["zygosity"]]),
            ),
            _component(
                _cc(LOINC, "48019-4", "DNA change type"),
                valueCodeableConcept=_cc(SO, *VARIANT_TYPE[v["type"]]),
            ),
        ]
        for gene in v["genes"]:
            components.append(
                _component(
                    _cc(LOINC, "48018-6", "Gene studied [ID]"),
                    valueCodeableConcept={"text": gene},
                )
            )
        if v["allele_fraction"] is not None:
            components.append(
                _component(
                    _cc(LOINC, "81258-6", "Sample variant allelic frequency [NFr]"),
                    valueQuantity=_quantity(v["allele_fraction"], unit="relative frequency"),
                )
            )
        if v["alt_reads"] is not None:
            components.append(
                _component(
                    _cc(LOINC, "82121-5", "Allelic read depth"),
                    valueQuantity=_quantity(v["alt_reads"]),
                )
            )
        if v["depth"] is not None:
            components.append(
                _component(
                    _cc(LOCAL, "read-depth", "Read depth at the variant"),
                    valueQuantity=_quantity(v["depth"]),
                )
            )
        if "inheritance" in v:  # the proband of a trio (helgenom.family)
            pattern = v["inheritance"]
            label = INHERITANCE_LABELS[pattern]
            value = (
                _cc(LOINC, *INHERITANCE[pattern], text=label)
                if pattern in INHERITANCE
                else _cc(LOCAL, pattern.replace("_", "-"), label)
            )
            components.append(
                _component(
                    _cc(IG_CODES, "variant-inheritance", "Variant Inheritance"),
                    valueCodeableConcept=value,
                )
            )
        consequences = v.get("consequences") or []
        text = "; ".join(
            c.get("consequence", "")
            + (f" {c['protein_change']}" if c.get("protein_change") else "")
            for c in consequences
        )
        if text:
            components.append(
                _component(
                    _cc(LOCAL, "bcftools-csq", "Predicted consequence (bcftools csq)"),
                    valueString=text,
                )
            )
        resource = observation(
            "variant",
            _cc(LOINC, "69548-6", "Genetic variant assessment"),
            specimen=specimen_ref,
            valueCodeableConcept=_cc(LOINC, "LA9633-4", "Present"),
            component=components,
            note=[
                {
                    "text": f"{v['chrom']}:{v['pos']} {v['ref']}>{v['alt']} ({v['genotype']}), "
                    f"quality {v['quality']}"
                }
            ],
        )
        results.append({"reference": add("Observation", f"variant-{index}", resource)})

    panel = report["panel"]
    for gene in panel["genes"]:
        components = [
            _component(
                _cc(LOINC, "48018-6", "Gene studied [ID]"),
                valueCodeableConcept={"text": gene["gene"]},
            ),
            _component(
                _cc(LOINC, "81293-3", "Description of ranges of DNA sequences examined"),
                valueString=f"{panel['id']} v{panel['version']}: {gene['intervals']} interval(s), "
                f"{gene['length']} bp",
            ),
            _component(
                _cc(LOCAL, "pct-at-min-depth", f"Bases covered >= {panel['min_depth']}x"),
                valueQuantity=_quantity(gene["pct_at_min_depth"], "%", "%"),
            ),
        ]
        for gap in gene["under_covered"]:
            components.append(
                _component(
                    _cc(LOCAL, "under-covered-region", f"Covered < {panel['min_depth']}x"),
                    valueString=f"{gap['contig']}:{gap['start'] + 1}-{gap['end']}",
                )
            )
        resource = observation(
            "region-studied",
            _cc(LOINC, "53041-0", "DNA region of interest panel"),
            specimen=specimen_ref,
            component=components,
        )
        results.append({"reference": add("Observation", f"region-{gene['gene']}", resource)})

    for metric in report["qc"]["metrics"]:
        fields: dict[str, Any] = {"specimen": specimen_ref}
        value = metric["value"]
        if value is None:
            fields["dataAbsentReason"] = _cc(
                DATA_ABSENT,
                "not-performed",
                "Not Performed",
                metric.get("note") or "not assessable",
            )
        elif isinstance(value, str):
            fields["valueString"] = value
        else:
            unit = {"%": "%", "x": "1"}.get(metric["unit"], "1")
            fields["valueQuantity"] = _quantity(value, unit)
        fields["interpretation"] = [
            {
                "coding": [{"system": LOCAL, "code": f"qc-{metric['status']}"}],
                "text": metric["status"].replace("_", " "),
            }
        ]
        fields["note"] = [{"text": f"threshold: {metric['threshold']}"}]
        resource = observation(None, _cc(LOCAL, f"qc-{metric['id']}", metric["label"]), **fields)
        results.append({"reference": add("Observation", f"qc-{metric['id']}", resource)})

    def summary(
        code: str, display: str, note: str, components: list[dict], entry: str = "", **value: Any
    ) -> None:
        """One Observation summarising an analysis (ROH, mitochondria, SV, CNV, family): a
        local code (`entry`: the key of its bundle entry, default the code), `value` (a
        value[x]; none: the data-absent reason "not performed"), the findings as components
        (none: no component list, FHIR allows no empty one), the interpretation as the note."""
        resource = observation(
            None,
            _cc(LOCAL, code, display),
            specimen=specimen_ref,
            **(value or {"dataAbsentReason": _cc(DATA_ABSENT, "not-performed")}),
            note=[{"text": note}],
        )
        if components:
            resource["component"] = components
        results.append({"reference": add("Observation", entry or code, resource)})

    roh = report.get("roh")
    if roh is not None:
        # Runs of homozygosity (LOINC has no code): the share of the autosomes in ROH, the
        # hints (UPD, consanguinity) as components.
        summary(
            "roh",
            "Runs of homozygosity",
            roh["interpretation"],
            [
                _component(_cc(LOCAL, "roh-hint", "ROH hint"), valueString=hint)
                for hint in roh["hints"]
            ],
            valueQuantity=_quantity(round(100 * roh["total"]["fraction"], 2), "%"),
        )

    mito = report.get("mito")
    if mito is not None:
        # Mitochondrial variants: the number reported, each variant (HGVS-like text with its
        # allele fraction and class) as a component.
        summary(
            "mito-variants",
            "Mitochondrial variants (heteroplasmy)",
            mito["interpretation"],
            [
                _component(
                    _cc(LOCAL, "mito-variant", "Mitochondrial variant"),
                    valueString=f"{v['contig']}:{v['pos']} {v['ref']}>{v['alt']} "
                    f"AF {v['af']:.3f} {v['class']}",
                )
                for v in mito["variants"]
            ],
            entry="mito",
            **(
                {"valueQuantity": _quantity(mito["counts"]["reported"], "{variants}")}
                if mito["assessed"]
                else {}
            ),
        )

    sv = report.get("sv")
    if sv is not None:
        # Structural variants: the count of PASS calls; the counts by type and the calls
        # touching the panel's genes as components.
        summary(
            "sv",
            "Structural variants",
            sv["interpretation"],
            [
                _component(
                    _cc(LOCAL, f"sv-count-{svtype.lower()}", f"{svtype} calls"),
                    valueQuantity=_quantity(count),
                )
                for svtype, count in sv["counts"].items()
            ]
            + [
                _component(
                    _cc(LOCAL, "sv-panel-call", "SV touching panel genes"),
                    valueString=(
                        f"{c['type']} {c['contig']}:{c['pos']}-{c['end']} {c['genotype']}"
                        + (f" (to {c['chr2']}:{c['pos2']})" if c["type"] == "BND" else "")
                        + f": {', '.join(c['genes'])}"
                    ),
                )
                for c in sv["panel_calls"]
            ],
            valueQuantity=_quantity(sv["total"]),
        )

    cnv = report.get("cnv")
    if cnv is not None:
        # Copy-number variants: the number of calls; losses, gains and the calls overlapping
        # the panel's genes as components.
        components: list[dict] = []
        value: dict[str, Any] = {}  # none: not assessed (summary: data-absent reason)
        if cnv["assessed"]:
            components = [
                _component(
                    _cc(LOCAL, f"cnv-count-{kind}", {"loss": "Losses", "gain": "Gains"}[kind]),
                    valueQuantity=_quantity(count),
                )
                for kind, count in cnv["counts"].items()
            ] + [
                _component(
                    _cc(LOCAL, "cnv-panel-call", "CNV overlapping panel genes"),
                    valueString=(
                        f"{c['kind']} {c['contig']}:{c['start'] + 1}-{c['end']} "
                        f"CN {c['copy_number']} (expected {c['expected']}): "
                        f"{', '.join(c['genes'])}"
                    ),
                )
                for c in cnv["panel_calls"]
            ]
            value = {"valueQuantity": _quantity(cnv["total"])}
        summary("cnv", "Copy-number variants", cnv["interpretation"], components, **value)

    family = report.get("family")
    if family is not None and family["family"] is not None:
        # Identity and family: the pedigree check as the value; the role, a trio's Mendelian
        # error rate, de novo counts, its de novo candidates in the panel's genes and compound
        # heterozygous genes as components.
        components = [
            _component(_cc(LOCAL, "family-role", "Role in the family"), valueString=family["role"])
        ]
        trio = family["trio"]
        if trio is not None:
            if trio["mendelian_error_pct"] is not None:
                components.append(
                    _component(
                        _cc(LOCAL, "mendelian-error-pct", "Mendelian errors"),
                        valueQuantity=_quantity(trio["mendelian_error_pct"], "%"),
                    )
                )
            components.append(
                _component(
                    _cc(LOCAL, "de-novo-total", "De novo candidates genome-wide"),
                    valueQuantity=_quantity(trio["de_novo_total"]),
                )
            )
            components += [
                _component(
                    _cc(LOCAL, "de-novo-panel", "De novo candidate in a panel gene"),
                    valueString=f"{v['gene']}: {v['chrom']}:{v['pos']} {v['ref']}>{v['alt']}",
                )
                for v in trio["de_novo"]
            ]
            components += [
                _component(
                    _cc(LOCAL, "compound-heterozygous-gene", "Compound heterozygous gene"),
                    valueString=gene,
                )
                for gene in trio["compound_heterozygous_genes"]
            ]
        summary(
            "family",
            "Family and pedigree check",
            f"{family['interpretation']} ({family['pedigree_reason']})",
            components,
            valueCodeableConcept={"text": family["pedigree_check"] or "not assessable"},
        )

    diagnostic: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "meta": {"profile": [f"{IG}/genomics-report"]},
        "identifier": [{"system": "urn:helgenom:report-id", "value": rid}],
        "status": report["status"],
        "category": [CATEGORY[1]],
        "code": _cc(LOINC, "51969-4", "Genetic analysis report"),
        "subject": subject,
        "effectiveDateTime": issued,
        "issued": issued,
        "specimen": [specimen_ref],
        "result": results,
        "conclusion": f"{category}: {report['answer']['text']}",
        "conclusionCode": [_cc(LOCAL, _code(category), category)],
    }
    if performer:
        diagnostic["performer"] = performer
    if pdf is not None:
        data = Path(pdf).read_bytes()
        diagnostic["presentedForm"] = [
            {
                "contentType": "application/pdf",
                "language": "en",
                "data": base64.b64encode(data).decode(),
                "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
                "title": f"Genomic analysis report {sample_id}",
                "creation": issued,
                "size": len(data),
            }
        ]
    add("DiagnosticReport", "report", diagnostic)
    entries.insert(0, entries.pop())  # the DiagnosticReport first
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:helgenom:report-id", "value": rid},
        "type": "transaction",
        "timestamp": issued,
        "entry": entries,
    }
    validate_bundle(bundle)
    return bundle


def _code(category: str) -> str:
    return category.lower().replace(" ", "-")


def validate_bundle(bundle: Mapping[str, Any]) -> Any:
    """Parse the bundle with the fhir.resources R4B models (raises on invalid FHIR)."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(dict(bundle))


def write_bundle(bundle: Mapping[str, Any], out: str | Path) -> None:
    model = validate_bundle(bundle)
    Path(out).write_text(json.dumps(json.loads(model.model_dump_json()), indent=2) + "\n")
