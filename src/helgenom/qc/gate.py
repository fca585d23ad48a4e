"""The clinical QC gate: the gated metrics of a sample, thresholds, pass/warn/fail, overrides
applied, the verdict, the MultiQC gate table, and the QC config check before any job.

The metrics come from the run's QC outputs (samtools flagstat/markdup, mosdepth, bcftools
stats; helgenom.qc.parsers) plus two estimates (helgenom.qc.sex_contamination): the sex
inferred from X/Y coverage and the contamination estimated from allele counts (FORMAT/AD) in
the VCF.

Gate semantics (one threshold set per analysis type, config ``qc.thresholds.<analysis>``):

* a metric whose value is below ``fail_below`` or above ``fail_above`` fails; otherwise one below
  ``warn_below`` or above ``warn_above`` warns; otherwise it passes. The limits themselves pass
  (``fail_below: 30`` passes 30.0). A metric that cannot be computed on this sample (no X
  contig, too few SNVs) is ``not_assessable`` and never fails the gate.
* every fail limit is a hard limit: a failing metric makes the sample a "QC failure", which is
  not reported as a clinical result. The only way past is an override recorded by an operator
  in the overrides file (``qc.overrides``; who, why, when per sample and metric;
  helgenom.qc.overrides), which the report shows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from helgenom.qc.coverage import autosomes, read_acgt, read_bed_intervals
from helgenom.qc.overrides import Override, read_overrides
from helgenom.qc.parsers import (
    read_bcftools_stats,
    read_flagstat,
    read_markdup,
    read_mosdepth_summary,
    read_region_coverage,
    read_samtools_stats,
)
from helgenom.qc.sex_contamination import (
    estimate_contamination,
    infer_sex,
    read_allele_counts,
    round_or_none,
)


# ---- metrics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str  # "x", "%", "" (ratio) or "category"
    description: str


METRICS: dict[str, MetricInfo] = {
    "mean_coverage": MetricInfo(
        "Mean coverage", "x", "mean depth over the coverage regions (mosdepth)"
    ),
    "pct_ge_20x": MetricInfo(
        "Bases at >= 20x", "%", "share of the coverage regions' bases covered >= 20x (mosdepth)"
    ),
    "duplicates_pct": MetricInfo(
        "Duplicate reads", "%", "duplicate primary reads / examined reads (samtools markdup)"
    ),
    "mapped_pct": MetricInfo(
        "Mapped reads", "%", "mapped primary reads / primary reads (samtools flagstat)"
    ),
    "properly_paired_pct": MetricInfo(
        "Properly paired reads", "%", "properly paired / paired reads (samtools flagstat)"
    ),
    "titv": MetricInfo("Ti/Tv (SNVs)", "", "transitions / transversions, PASS SNVs (bcftools)"),
    "het_hom_ratio": MetricInfo(
        "Het/hom-alt ratio (SNVs)", "", "heterozygous / hom-alt PASS SNV genotypes (bcftools)"
    ),
    "contamination_pct": MetricInfo(
        "Contamination estimate", "%", "allele counts at hom-alt SNVs (helgenom.qc)"
    ),
    "sex_check": MetricInfo(
        "Sex check", "category", "declared sex against X/Y coverage (mosdepth)"
    ),
    "pedigree_check": MetricInfo(
        "Pedigree check",
        "category",
        "declared relatives against the genotypes' kinship (helgenom.family)",
    ),
}
STATUSES = ("pass", "warn", "fail", "not_assessable")
NUMERIC_LIMITS = ("fail_below", "fail_above", "warn_below", "warn_above")


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 4) if whole else None


def collect_metrics(
    *,
    sample_id: str,
    declared_sex: str,
    flagstat: str | Path,
    markdup: str | Path,
    samtools_stats: str | Path,
    bcftools_stats: str | Path,
    mosdepth_summary: str | Path,
    mosdepth_thresholds: str | Path,
    acgt: str | Path,
    vcf: str | Path,
    coverage_scope: str,
    min_depth: int = 20,
) -> dict[str, Any]:
    """Every gated metric of one sample and the figures behind it (metrics.json)."""
    flags = read_flagstat(flagstat)
    dups = read_markdup(markdup)
    sn = read_samtools_stats(samtools_stats)
    variants = read_bcftools_stats(bcftools_stats)
    summary = read_mosdepth_summary(mosdepth_summary)
    coverage = read_region_coverage(mosdepth_summary, mosdepth_thresholds)
    acgt_lengths = read_acgt(acgt)
    sex = infer_sex(summary, acgt_lengths, declared_sex)
    auto = autosomes(acgt_lengths)
    counts = read_allele_counts(vcf, contigs=set(auto) if auto else None)
    contamination = estimate_contamination(counts)
    duplicates = dups.get("duplicate_primary_total", dups["duplicate_total"])
    values: dict[str, Any] = {
        "mean_coverage": round(coverage.mean, 2),
        "pct_ge_20x": _pct(coverage.bases_at_least[min_depth], coverage.length),
        "duplicates_pct": _pct(duplicates, dups["examined"]),
        "mapped_pct": _pct(flags["primary_mapped"], flags["primary"]),
        "properly_paired_pct": _pct(flags["properly_paired"], flags["paired"]),
        "titv": round_or_none(variants.titv, 4),
        "het_hom_ratio": round_or_none(variants.het_hom_ratio, 4),
        "contamination_pct": (
            None if contamination.estimate is None else round(100 * contamination.estimate, 2)
        ),
        "sex_check": sex.inferred,
    }
    return {
        "sample_id": sample_id,
        "values": values,
        "coverage": {
            "scope": coverage_scope,
            "bases": coverage.length,
            "mean": coverage.mean,
            "bases_at_least": {str(k): v for k, v in sorted(coverage.bases_at_least.items())},
        },
        "sex": asdict(sex),
        "contamination": asdict(contamination),
        "reads": {
            "primary": flags["primary"],
            "primary_mapped": flags["primary_mapped"],
            "paired": flags["paired"],
            "properly_paired": flags["properly_paired"],
            "duplicates_examined": dups["examined"],
            "duplicates": duplicates,
            "insert_size_mean": sn.get("insert size average"),
            "error_rate": sn.get("error rate"),
        },
        "variants": {
            "snvs": variants.snvs,
            "indels": variants.indels,
            "transitions": variants.transitions,
            "transversions": variants.transversions,
            "het_snvs": variants.het_snvs,
            "hom_alt_snvs": variants.hom_alt_snvs,
        },
    }


# ---- thresholds and the gate ---------------------------------------------------------------
def threshold_text(spec: Mapping[str, Any], unit: str = "") -> str:
    """'fail < 30x or > ..., warn < 32x' for a metric's limits (the passing range is closed)."""
    if "mismatch" in spec:
        return f"{spec['mismatch']} if the inferred sex differs from the declared sex"
    if "inconsistent" in spec:
        return f"{spec['inconsistent']} if the genotypes contradict a declared relation"
    suffix = {"x": "x", "%": "%"}.get(unit, "")
    parts = []
    for level in ("fail", "warn"):
        below, above = spec.get(f"{level}_below"), spec.get(f"{level}_above")
        bounds = [f"< {below:g}{suffix}" if below is not None else ""]
        bounds.append(f"> {above:g}{suffix}" if above is not None else "")
        bounds = [b for b in bounds if b]
        if bounds:
            parts.append(f"{level} " + " or ".join(bounds))
    return "; ".join(parts) or "not gated"


def evaluate(value: Any, spec: Mapping[str, Any]) -> str:
    """pass / warn / fail / not_assessable for one metric value against its limits."""
    if value is None:
        return "not_assessable"
    if "mismatch" in spec:  # the sex check
        declared = spec.get("_declared")
        if declared not in ("female", "male"):
            return "not_assessable"
        if value == "ambiguous":
            return "warn"
        return "pass" if value == declared else str(spec["mismatch"])
    if "inconsistent" in spec:  # the pedigree check
        return "pass" if value == "consistent" else str(spec["inconsistent"])
    value = float(value)
    if spec.get("fail_below") is not None and value < spec["fail_below"]:
        return "fail"
    if spec.get("fail_above") is not None and value > spec["fail_above"]:
        return "fail"
    if spec.get("warn_below") is not None and value < spec["warn_below"]:
        return "warn"
    if spec.get("warn_above") is not None and value > spec["warn_above"]:
        return "warn"
    return "pass"


def gate(
    metrics: Mapping[str, Any],
    analysis: str,
    threshold_set: Mapping[str, Any],
    overrides: Sequence[Override] = (),
    declared_sex: str = "unknown",
) -> dict[str, Any]:
    """The QC gate of one sample: each gated metric's status, overrides, and the verdict.

    `reportable` is False when a metric fails without an override naming it: the sample is
    then a "QC failure". An override of a metric that did not fail is kept (and shown) but has
    no effect.
    """
    sample = metrics["sample_id"]
    rows = []
    by_metric: dict[str, Override] = {}
    for override in overrides:
        for metric in override.metrics:
            by_metric[metric] = override
    for metric_id, spec in threshold_set["metrics"].items():
        info = METRICS[metric_id]
        value = metrics["values"].get(metric_id)
        spec_eval = dict(spec)
        if metric_id == "sex_check":
            spec_eval["_declared"] = declared_sex
        status = evaluate(value, spec_eval)
        note = ""
        if metric_id == "sex_check":
            sex = metrics.get("sex", {})
            note = f"declared {declared_sex}; {sex.get('reason', '')}".strip("; ")
        elif metric_id == "pedigree_check":
            note = metrics.get("pedigree", {}).get("reason", "no relative in the run")
        elif metric_id == "contamination_pct" and status == "not_assessable":
            note = metrics.get("contamination", {}).get("reason", "")
        elif value is None:
            note = "cannot be computed on this sample"
        override = by_metric.get(metric_id)
        rows.append(
            {
                "id": metric_id,
                "label": info.label,
                "unit": info.unit,
                "value": value,
                "status": status,
                "threshold": threshold_text(spec, info.unit),
                "limits": {
                    k: spec[k] for k in (*NUMERIC_LIMITS, "mismatch", "inconsistent") if k in spec
                },
                "source": spec.get("source", ""),
                "note": note,
                "override": None if override is None else override.as_dict(),
            }
        )
    failed = [r["id"] for r in rows if r["status"] == "fail"]
    unresolved = [m for m in failed if m not in by_metric]
    warned = [r["id"] for r in rows if r["status"] == "warn"]
    status = "fail" if failed else "warn" if warned else "pass"
    unused = sorted(m for m in by_metric if m not in failed)
    decision: dict[str, Any] = {"decision": status, "failed_checks": failed}
    if failed and not unresolved:  # every failing metric overridden (helgenom.export reads it)
        applied = [by_metric[m] for m in failed]
        decision["override"] = {
            "by": ", ".join(dict.fromkeys(o.who for o in applied)),
            "reason": "; ".join(dict.fromkeys(o.why for o in applied)),
            "at": max(o.when for o in applied),
        }
    return {
        "sample_id": sample,
        **decision,
        "analysis": analysis,
        "analysis_label": threshold_set.get("label", analysis),
        "threshold_set_description": threshold_set.get("description", ""),
        "status": status,
        "failed": failed,
        "warned": warned,
        "overridden": [m for m in failed if m in by_metric],
        "reportable": not unresolved,
        "metrics": rows,
        "overrides": [o.as_dict() for o in overrides],
        "unused_overrides": unused,
        "coverage_scope": metrics.get("coverage", {}).get("scope", ""),
    }


def verdict(gate_result: Mapping[str, Any]) -> str:
    """One line: 'pass', 'pass with warnings (...)', 'fail (...)' or 'fail, overridden (...)'."""
    if gate_result["status"] == "pass":
        return "pass"
    if gate_result["status"] == "warn":
        return f"pass with warnings ({', '.join(gate_result['warned'])})"
    if gate_result["reportable"]:
        return f"fail, overridden ({', '.join(gate_result['overridden'])})"
    return f"fail ({', '.join(gate_result['failed'])})"


def _fmt_value(value: Any) -> Any:
    return "n/a" if value is None else value


def write_gate_mqc(
    gates: Sequence[Mapping[str, Any]],
    threshold_set: Mapping[str, Any],
    analysis: str,
    out: str | Path,
) -> None:
    """A MultiQC custom-content table: per sample each metric's value (coloured by status),
    the gate's verdict, and the thresholds with their sources in the section description."""
    import yaml

    metrics = list(threshold_set["metrics"])
    rows = "".join(
        f"<tr><td>{METRICS[m].label}</td><td>{_html(threshold_text(s, METRICS[m].unit))}</td>"
        f"<td>{_html(s.get('source', ''))}</td></tr>"
        for m, s in threshold_set["metrics"].items()
    )
    description = (
        f"QC gate of each sample against the '{_html(analysis)}' thresholds "
        f"({_html(threshold_set.get('description', ''))}). A failing metric without a recorded "
        "override makes the sample a QC failure (not reported as a clinical result)."
        "<table class='table table-condensed'><tr><th>metric</th><th>threshold</th>"
        f"<th>source</th></tr>{rows}</table>"
    )
    colours = [{"pass": "#5cb85c"}, {"warn": "#f0ad4e"}, {"fail": "#d9534f"}]
    headers: dict[str, Any] = {
        "qc_gate": {
            "title": "QC gate",
            "description": "pass / warn / fail (a fail with a recorded override reads "
            "'fail (override)')",
            "scale": False,
            "cond_formatting_rules": {
                "pass": [{"s_eq": "pass"}],
                "warn": [{"s_eq": "warn"}],
                "fail": [{"s_contains": "fail"}],
            },
            "cond_formatting_colours": colours,
        }
    }
    for metric in metrics:
        spec, info = threshold_set["metrics"][metric], METRICS[metric]
        header: dict[str, Any] = {
            "title": info.label,
            "description": f"{info.description}. Threshold: {threshold_text(spec, info.unit)}",
            "scale": False,
            "cond_formatting_colours": colours,
        }
        if info.unit == "category":
            header["cond_formatting_rules"] = {
                level: [{"s_contains": f"({level})"}] for level in ("pass", "warn", "fail")
            }
        else:
            header["format"] = "{:,.2f}"
            if info.unit in ("%", "x"):
                header["suffix"] = info.unit
            header["cond_formatting_rules"] = _mqc_rules(spec)
        headers[metric] = header
    data = {}
    for result in gates:
        row: dict[str, Any] = {}
        verdict_text = result["status"]
        if result["status"] == "fail" and result["reportable"]:
            verdict_text = "fail (override)"
        row["qc_gate"] = verdict_text
        for metric in result["metrics"]:
            value = metric["value"]
            if METRICS[metric["id"]].unit == "category":
                value = f"{_fmt_value(value)} ({metric['status'].replace('_', ' ')})"
            if value is not None:  # no value: an empty cell
                row[metric["id"]] = value
        data[result["sample_id"]] = row
    content = {
        "id": "helgenom_qc_gate",
        "section_name": "QC gate (helgenom)",
        "description": description,
        "plot_type": "table",
        "pconfig": {
            "id": "helgenom_qc_gate_table",
            "title": "helgenom: QC gate",
            "sortRows": False,
        },
        "headers": headers,
        "data": data,
    }
    Path(out).write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True))


def _mqc_rules(spec: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """MultiQC conditional-formatting rules that colour a value as the gate judges it (the last
    matching colour wins: pass < warn < fail)."""
    rules: dict[str, list[dict[str, Any]]] = {"pass": [{"s_ne": ""}], "warn": [], "fail": []}
    for level in ("warn", "fail"):
        if spec.get(f"{level}_below") is not None:
            rules[level].append({"lt": spec[f"{level}_below"]})
        if spec.get(f"{level}_above") is not None:
            rules[level].append({"gt": spec[f"{level}_above"]})
    return {k: v for k, v in rules.items() if v}


def _html(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


# ---- startup checks (before any job) -------------------------------------------------------
def check_qc_config(
    config: Mapping[str, Any],
    sample_ids: Collection[str],
    config_files: Sequence[str | Path] = (),
) -> list[Override]:
    """The analysis names a threshold set, the coverage BED and the overrides file are valid.

    Raises helgenom.config.ConfigError (config keys, with file:line) or OverrideError; returns
    the overrides.
    """
    from helgenom.config import ConfigError, _dotted, _locate

    files = [Path(f) for f in config_files]
    qc = config.get("qc", {})
    problems = []
    analysis = qc.get("analysis")
    sets = qc.get("thresholds", {})
    if analysis not in sets:
        key = ("qc", "analysis")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}': no threshold set {analysis!r} under "
            f"qc.thresholds (there: {', '.join(sets) or 'none'}). Fix: name one of them or add "
            "the set."
        )
    for key_name in ("coverage_regions", "overrides"):
        value = qc.get(key_name)
        key = ("qc", key_name)
        if value is not None and not Path(value).is_file():
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': file {value} does not exist. Fix: give "
                "the path of the file (relative to the run directory or absolute), or remove "
                "the key."
            )
    if qc.get("coverage_regions") and Path(qc["coverage_regions"]).is_file():
        try:
            if not read_bed_intervals(qc["coverage_regions"]):
                raise ValueError(f"{qc['coverage_regions']}: holds no interval")
        except ValueError as error:
            key = ("qc", "coverage_regions")
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': {error}. Fix: give a BED file of "
                "the regions the coverage is computed over."
            )
    if problems:
        raise ConfigError(problems)
    if qc.get("overrides"):
        return read_overrides(qc["overrides"], sample_ids, list(sets[analysis]["metrics"]))
    return []
