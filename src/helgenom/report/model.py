"""The clinical report of one sample: one machine-readable model (report.json, validated against
src/helgenom/schemas/report.schema.json) from which the HTML/PDF and FHIR renderings are made.

Answer categories:

* "QC failure": a gated metric failed and no override names it. The variants are withheld
  (the report is no clinical result); the QC table and the panel coverage explain why.
* "variants for interpretation": QC passed (or was overridden) and the panel holds PASS
  variant calls. They are listed unfiltered by population frequency or clinical
  significance: interpretation is the clinical laboratory geneticist's.
* "no findings in panel": QC passed (or was overridden) and no PASS variant lies in the panel.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from helgenom import __version__
from helgenom.family import family_section, inheritance_of
from helgenom.paths import package_path
from helgenom.qc.gate import verdict
from helgenom.report.coverage import panel_coverage, panel_totals
from helgenom.report.panels import Panel
from helgenom.report.variants import read_panel_variants, vcf_is_annotated

SCHEMA = package_path("schemas", "report.schema.json")
SCHEMA_VERSION = "1.3"  # 1.1: runs of homozygosity (roh); 1.2: mitochondrial (mito) and
# structural variants (sv), method.input; 1.3: copy-number variants (cnv), identity and
# family (family), variants' inheritance in a trio
QC_FAILURE = "QC failure"
FOR_INTERPRETATION = "variants for interpretation"
NO_FINDINGS = "no findings in panel"
CATEGORIES = (NO_FINDINGS, FOR_INTERPRETATION, QC_FAILURE)

# Config keys left out of the parameters hash: where the run's inputs are and how it is
# scheduled, not how the data are analysed. Files the analysis reads enter by their content.
_RUN_SPECIFIC = ("samples", "units", "site", "validation", "priorities")
_FILE_KEYS = (("qc", "coverage_regions"), ("report", "panels"), ("report", "gff3"))


class ReportError(ValueError):
    """A report that does not validate against its schema."""


def _sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parameters_hash(config: Mapping[str, Any]) -> dict[str, Any]:
    """sha256 of the analysis settings (canonical JSON): the validated config without its
    run-specific keys and paths; files it names (coverage regions, panels, GFF3) by content."""
    params = json.loads(json.dumps(config))  # a deep copy of plain data
    for key in _RUN_SPECIFIC:
        params.pop(key, None)
    params.get("reference", {}).pop("fasta", None)
    params.get("reference", {}).pop("prep_dir", None)
    params.get("qc", {}).pop("overrides", None)
    for section, key in _FILE_KEYS:
        value = params.get(section, {}).get(key)
        if value:
            path = Path(value)
            params[section][key] = f"sha256:{_sha256_file(path)}" if path.is_file() else value
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return {
        "algorithm": "sha256",
        "value": hashlib.sha256(canonical.encode()).hexdigest(),
        "covers": "config.yaml without samples, units, site, validation, priorities, the "
        "reference paths and qc.overrides; files it names by their sha256",
    }


def reference_checksum(dict_file: str | Path) -> dict[str, Any]:
    """The reference's identity from its sequence dictionary: sha256 over the 'name, length,
    MD5' of every contig in order (the MD5s are samtools dict's per-sequence checksums)."""
    lines = []
    for line in Path(dict_file).read_text().splitlines():
        if not line.startswith("@SQ"):
            continue
        tags = dict(field.split(":", 1) for field in line.split("\t")[1:] if ":" in field)
        lines.append(f"{tags['SN']}\t{tags['LN']}\t{tags.get('M5', '')}")
    if not lines:
        raise ValueError(f"{dict_file}: no @SQ lines")
    return {
        "algorithm": "sha256 of 'name<TAB>length<TAB>MD5' per contig (sequence dictionary)",
        "value": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        "contigs": len(lines),
        "length": sum(int(line.split("\t")[1]) for line in lines),
    }


def generated_at() -> str:
    """Now (UTC, seconds), or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat()


def answer(gate: Mapping[str, Any], variants: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The answer category and its wording."""
    overridden = list(gate.get("overridden", []))
    if not gate["reportable"]:
        failed = ", ".join(gate["failed"])
        return {
            "category": QC_FAILURE,
            "text": f"The sample failed quality control ({failed}). No clinical result is "
            "reported: the variant calls are withheld. A new sample or sequencing run is "
            "needed, or a documented QC override.",
            "override_applied": False,
        }
    passing = [v for v in variants if v["filter"] == "PASS"]
    note = (
        f" Released despite failing QC metric(s) {', '.join(overridden)} by a recorded "
        "override (see Quality control)."
        if overridden
        else ""
    )
    if passing:
        genes = sorted({g for v in passing for g in v["genes"]})
        return {
            "category": FOR_INTERPRETATION,
            "text": f"{len(passing)} variant(s) in {len(genes)} gene(s) of the panel "
            f"({', '.join(genes)}) for interpretation by a clinical laboratory geneticist." + note,
            "override_applied": bool(overridden),
        }
    return {
        "category": NO_FINDINGS,
        "text": "No variant passing the call filters was found in the genes of the panel. "
        "Regions covered below the minimum depth are listed under Gene panel coverage." + note,
        "override_applied": bool(overridden),
    }


def _mito_limitation(mito: Mapping[str, Any]) -> str:
    settings = mito["settings"]
    if not mito["assessed"]:
        return f"Mitochondrial variants: {mito['interpretation']}."
    return (
        f"Mitochondrial variants are reported from an allele fraction of "
        f"{settings['min_af']:.0%} (homoplasmic from {settings['homoplasmic_af']:.0%}), at "
        f"{settings['min_depth']} reads or more; reads of nuclear mitochondrial segments "
        "(NUMTs) can mimic low heteroplasmy, and the contig is linear (reads across its "
        "origin are not placed)."
    )


def _family_limitation(section: Mapping[str, Any]) -> str:
    if section["trio"] is None:
        return (
            "Family: without both parents in the run, de novo and inheritance are not assessed; "
            "sample identity is checked only against relatives sequenced in the same run."
        )
    return (
        "Family: joint genotypes from the members' gVCFs (bcftools merge --gvcf); de novo "
        "candidates need both parents hom-ref at depth (bcftools +trio-dnm2, genotype model, and "
        "helgenom's depth, quality and allele-fraction filters) and are not confirmed by an "
        "orthogonal method; mosaicism in a parent or the child can be missed; compound "
        "heterozygosity is inferred per gene from the parents' genotypes (not read-phased)."
    )


def _cnv_limitation(cnv: Mapping[str, Any]) -> str:
    settings = cnv["settings"]
    if not cnv["assessed"]:
        return f"Copy-number variants: {cnv['interpretation']}."
    reference = {
        "flat": "a flat reference (no panel of normals: library and mappability biases are "
        "not divided out)",
        "run": "a panel of normals of the run's unrelated samples (CNVs common among them "
        "are not seen)",
        "file": "the site's panel of normals",
    }[settings["reference"]]
    smallest = settings["bin_size"] * settings["min_bins"]
    return (
        f"Copy-number variants are called from read depth ({settings['caller']}, "
        f"{settings['bin_size']:,} bp bins, CBS segments, {reference}); events shorter than "
        f"~{smallest:,} bp, mosaic changes and copy-neutral loss of heterozygosity are not "
        "detected, and copy numbers above 4 are imprecise; calls are not confirmed by an "
        "orthogonal method (e.g. MLPA or array)."
    )


def build_report(
    *,
    sample: Mapping[str, Any],
    config: Mapping[str, Any],
    gate: Mapping[str, Any],
    metrics: Mapping[str, Any],
    panel: Panel,
    quantized_bed: str | Path,
    panel_vcf: str | Path,
    versions_yaml: str | Path,
    reference_dict: str | Path,
    roh: Mapping[str, Any],
    mito: Mapping[str, Any],
    sv: Mapping[str, Any],
    cnv: Mapping[str, Any],
    input_record: Mapping[str, Any],
    family: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report model of one sample (see the module docstring); `roh`: the sample's runs of
    homozygosity (helgenom.roh.summarise_roh); `mito`: its mitochondrial variants
    (helgenom.mito.summarise_mito); `sv`: its structural variants (helgenom.sv.summarise_sv);
    `cnv`: its copy-number variants (helgenom.cnv.summarise_cnv, or not_assessed);
    `input_record`: where its reads came from (results/qc/input/<sample>.json,
    helgenom.aligned.input_record); `family`: its family's results (results/family/<family>.json,
    helgenom.family.family_summary), None when no relative of the sample is in the run."""
    intervals = panel.intervals()
    genes = panel_coverage(intervals, quantized_bed)
    min_depth = int(config.get("report", {}).get("min_depth", 20))
    calls = read_panel_variants(panel_vcf, intervals)
    family_part = family_section(family, sample["sample_id"])
    if family_part["pedigree_check"] != "inconsistent":
        inheritance = inheritance_of(family_part)
        for call in calls:
            pattern = inheritance.get((call["chrom"], call["pos"], call["ref"], call["alt"]))
            if pattern:
                call["inheritance"] = pattern
    annotated = vcf_is_annotated(panel_vcf)  # bcftools csq ran (report.gff3)
    result = answer(gate, calls)
    withheld = result["category"] == QC_FAILURE
    tools = yaml.safe_load(Path(versions_yaml).read_text()) or {}
    analysis = config["qc"]["analysis"]
    sv_callers = sv["settings"]["callers"]
    limitations = [
        "Small variants (SNVs and indels), structural and copy-number variants, runs of "
        "homozygosity and mitochondrial variants only: repeat-expansion variants are not "
        "assessed.",
        _mito_limitation(mito),
        _cnv_limitation(cnv),
        f"Structural variants: {', '.join(sv_callers)} (paired-end and split reads"
        f"{'; merged by SURVIVOR' if len(sv_callers) > 1 else ''}), PASS calls of at least "
        f"{sv['settings']['min_size']:,} bp; their genotypes "
        "and breakpoints are not confirmed by an orthogonal method, and insertions and SVs in "
        "repeats are poorly detected from short reads.",
        _family_limitation(family_part),
        "Runs of homozygosity are hints, not diagnoses: uniparental disomy with ROH "
        "(isodisomy) is seen, heterodisomy is not; segments are counted from "
        f"{roh['settings']['min_length']:,} bp (allele frequencies: "
        f"{roh['settings']['allele_frequencies']}).",
        "Variants are listed without population-frequency or clinical-significance filtering; "
        "their interpretation is not part of this technical report.",
        f"Coverage counts reads as mosdepth --fast-mode does (duplicates, secondary, "
        f"supplementary and QC-failed reads excluded; overlapping mates counted twice); "
        f"panel bases below {min_depth}x are listed as under-covered.",
        "The contamination estimate comes from REF reads at hom-alt SNVs and assumes an "
        "unrelated contaminant of the same population (see README.md, Clinical QC gate).",
    ]
    limitations += input_limitations(input_record)
    if not annotated:
        limitations.append(
            "Consequences are not predicted: no gene annotation (GFF3) is configured."
        )
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "report_id": "",
        "generated": generated_at(),
        "status": "preliminary",
        "laboratory": config.get("report", {}).get("laboratory", ""),
        "sample": {
            "sample_id": sample["sample_id"],
            "indication": sample["indication"],
            "priority": sample["priority"],
            "declared_sex": sample["sex"],
            "received": sample.get("received"),
        },
        "analysis": {
            "type": analysis,
            "label": gate.get("analysis_label", analysis),
            "scope": "germline small variants (SNVs, indels) in the genes of the panel",
        },
        "answer": result,
        "qc": {
            "status": gate["status"],
            "verdict": verdict(gate),
            "reportable": gate["reportable"],
            "coverage_scope": gate.get("coverage_scope", ""),
            "metrics": gate["metrics"],
            "overrides": gate["overrides"],
            "unused_overrides": gate.get("unused_overrides", []),
            "details": {
                "contamination": metrics.get("contamination"),
                "sex": metrics.get("sex"),
                "reads": metrics.get("reads"),
                "variants": metrics.get("variants"),
            },
        },
        "roh": None
        if withheld
        else {k: roh[k] for k in ("hints", "interpretation", "settings", "total", "chromosomes")},
        "mito": None
        if withheld
        else {
            k: mito[k]
            for k in ("assessed", "contig", "mean_depth", "pct_ge_min_depth", "settings")
            + ("counts", "variants", "interpretation")
        },
        "sv": None
        if withheld
        else {k: sv[k] for k in ("interpretation", "settings", "counts", "total", "panel_calls")},
        "family": None if withheld else family_part,
        "cnv": None
        if withheld
        else {
            k: cnv[k]
            for k in ("assessed", "interpretation", "settings", "counts", "total", "panel_calls")
        },
        "panel": {
            **panel.as_dict(),
            "min_depth": min_depth,
            "genes": [g.as_dict() for g in genes],
            "total": panel_totals(genes),
        },
        "variants": [] if withheld else calls,
        "variants_withheld": withheld,
        "consequences_annotated": annotated,
        "method": {
            "pipeline": {"name": "helgenom", "version": __version__},
            "reference": {
                "build": config["reference"]["build"],
                "checksum": reference_checksum(reference_dict),
            },
            "tools": {str(k): str(v) for k, v in sorted(tools.items())},
            "parameters": parameters_hash(config),
            "input": method_input(input_record),
            "settings": {
                "aligner": config.get("alignment", {}).get("aligner"),
                "calling_mode": config.get("calling", {}).get("mode"),
                "call_filters": [
                    f"{f['name']}: {f['expression']}"
                    for f in config.get("calling", {}).get("filters", [])
                ],
                "qc_thresholds": analysis,
            },
        },
        "limitations": limitations,
    }
    content = json.dumps({k: v for k, v in report.items() if k != "generated"}, sort_keys=True)
    report["report_id"] = (
        f"{sample['sample_id']}-{hashlib.sha256(content.encode()).hexdigest()[:12]}"
    )
    validate_report(report)
    return report


def method_input(record: Mapping[str, Any]) -> dict[str, Any]:
    """The report's method.input: where the sample's reads came from (FASTQ, or an aligned
    file re-analysed: realigned or its alignments reused), each aligned file by its SHA-256."""
    from helgenom.aligned import describe_input

    keys = ("unit_id", "source", "mode", "file", "format", "sha256", "reference_match")
    return {
        "source": record["source"],
        "mode": record["mode"],
        "summary": describe_input(record),
        "units": [{k: unit[k] for k in keys if k in unit} for unit in record["units"]],
    }


def input_limitations(record: Mapping[str, Any]) -> list[str]:
    """What a re-analysis from an aligned file means for the result."""
    out = []
    aligned = [u for u in record["units"] if u["source"] == "aligned"]
    if any(u["mode"] == "reuse" for u in aligned):
        out.append(
            "Re-analysis of existing alignments: the reads were aligned by an earlier analysis "
            "(the programs in the file's header are kept in results/qc/input/); this version "
            "marked duplicates and called the variants again."
        )
    dropped = sum(u.get("unpaired_reads_dropped", 0) for u in aligned)
    if any(u["mode"] == "realign" for u in aligned):
        unpaired = (
            f"; {dropped:,} reads without their mate in it were not realigned" if dropped else ""
        )
        out.append(f"Re-analysis of the reads of an existing CRAM/BAM, aligned again{unpaired}.")
    return out


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise ReportError listing every way `report` breaks report.schema.json."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ReportError(
            "the report does not match report.schema.json:\n"
            + "\n".join(f"  - {'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors)
        )


def write_report(report: Mapping[str, Any], out: str | Path) -> None:
    validate_report(report)
    Path(out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def read_report(path: str | Path) -> dict[str, Any]:
    report = json.loads(Path(path).read_text())
    validate_report(report)
    return report
