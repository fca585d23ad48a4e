"""The capacity report: the plan's tables beside helgenom's measured figures, as terminal
tables, CSV, JSON and an HTML page with its charts (inline SVG) for a planner's slides."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from helgenom.capacity.model import (
    GIGA,
    RULES,
    WGS_COVERAGE,
    CostModel,
    Projection,
)
from helgenom.capacity.plan import (
    PB,
    PLAN_CORE_HOURS_PER_WGS,
    PLAN_PATHS,
    PLAN_SCENARIOS,
    PLAN_STORAGE_5Y_PB,
    PLAN_TB_PER_WGS,
    TB,
    Assumptions,
    Scenario,
    acute_turnaround,
    cores_needed,
    storage_years,
)
from helgenom.sites import SITES


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    note: str = ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "never"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


@dataclass
class CapacityReport:
    model: CostModel
    projection: Projection
    assumptions: Assumptions
    scenarios: tuple[Scenario, ...] = PLAN_SCENARIOS
    core_hours_override: float | None = None  # --core-hours-per-wgs: the plan's, or another

    @property
    def core_hours_per_wgs(self) -> float:
        if self.core_hours_override is not None:
            return self.core_hours_override
        return self.projection.core_hours

    @property
    def bytes_per_wgs(self) -> float:
        return self.projection.stored_bytes

    def tables(self) -> list[Table]:
        return [
            self.rules_table(),
            self.stored_table(),
            self.cores_table(),
            self.storage_table(),
            self.sites_table(),
        ]

    # -- what one 30x genome costs
    def rules_table(self) -> Table:
        p = self.projection
        total = sum(p.cpu_s.values()) or 1.0
        rows = []
        for rule, cpu in sorted(p.cpu_s.items(), key=lambda kv: -kv[1]):
            fit = self.model.rules[rule].cpu
            rows.append(
                (
                    rule,
                    cpu / 3600,
                    100 * cpu / total,
                    p.peak_rss_mb.get(rule, 0.0),
                    fit.per_job,
                    fit.per_gbase,
                    self.model.floor(rule),
                    fit.points,
                    "proportional" if fit.proportional else f"{100 * fit.max_rel_error:.0f} %",
                )
            )
        return Table(
            f"CPU per {WGS_COVERAGE}x genome ({p.bases / GIGA:.0f} Gb sequenced, {p.units} "
            f"units, {p.chunks} calling chunks): {p.core_hours:,.1f} core-hours",
            (
                "rule",
                "core-hours",
                "share %",
                "peak MB (measured)",
                "CPU s per job",
                "CPU s per Gb",
                "GRCh38 floor s/Gb",
                "samples fitted",
                "fit error",
            ),
            rows,
            "CPU s per Gb: per Gb sequenced, or per Gb of reference for the rules that pass "
            "over the reference or the VCF; 'GRCh38 floor': the published cost that a model "
            "fitted on test references plans with where its own is lower "
            "(helgenom.capacity.model). Peak memory is the largest measured on the fitted "
            "runs' reference, not extrapolated; for GRCh38 "
            "see helgenom.resources. 'proportional': one sample size only, all cost taken as "
            "growing with the bases (an upper bound). Jobs under ~1 s read 0 CPU in "
            "Snakemake's benchmark files.",
        )

    def stored_table(self) -> Table:
        stored = self.projection.stored
        rows = [(kind, size / 1e9) for kind, size in stored.items()]
        rows.append(("total", self.bytes_per_wgs / 1e9))
        return Table(
            f"Stored per {WGS_COVERAGE}x genome (one copy, GB)",
            ("kind", "GB"),
            rows,
            f"The plan: {PLAN_TB_PER_WGS * 1000:.0f} GB per WGS plus "
            f"{100 * self.assumptions.other_data:.0f} % other data. FASTQ is not kept by "
            "helgenom (the CRAM holds every read).",
        )

    # -- the plan's tables beside helgenom's
    def cores_table(self) -> Table:
        a = self.assumptions
        rows = []
        for s in self.scenarios:
            ours = cores_needed(self.core_hours_per_wgs, s.wgs_per_year, a)
            acute = acute_turnaround(
                self.core_hours_per_wgs,
                self.projection.critical_path_h(a.node_cores),
                s.wgs_per_year,
                ours,
                a,
            )
            rows.append(
                (
                    s.name,
                    s.wgs_per_year,
                    s.plan_cores if s.plan_cores is not None else "",
                    cores_needed(PLAN_CORE_HOURS_PER_WGS, s.wgs_per_year, a),
                    ours,
                    acute.turnaround_h,
                    acute.turnaround_h <= a.deadline_h,
                )
            )
        return Table(
            f"Cores per year (utilisation {100 * a.utilisation:.0f} %, +{100 * a.peak_extra:.0f} "
            f"% for peaks; helgenom: {self.core_hours_per_wgs:,.1f} core-hours per WGS)",
            (
                "scenario",
                "WGS/year",
                "plan (stated)",
                f"plan arithmetic ({PLAN_CORE_HOURS_PER_WGS:,.0f} core-h)",
                "helgenom",
                "acute turnaround h",
                f"within {a.deadline_h / 24:.0f} days",
            ),
            rows,
            f"Acute turnaround: compute only, {100 * a.acute_share:.0f} % acute samples, "
            f"{a.node_cores}-core nodes, a priority queue at peak load (helgenom.capacity.plan)",
        )

    def storage_table(self) -> Table:
        a = self.assumptions
        rows = []
        for path, volumes in PLAN_PATHS.items():
            plan_arith = storage_years(PLAN_TB_PER_WGS * TB, volumes, Assumptions(copies=1))
            ours = storage_years(self.bytes_per_wgs, volumes, a)
            for year, (volume, p, o) in enumerate(
                zip(volumes, plan_arith, ours, strict=True), start=1
            ):
                stated = PLAN_STORAGE_5Y_PB[path] if year == len(volumes) else ""
                rows.append((path, year, volume, stated, p / PB, o / PB))
        return Table(
            f"Storage accumulated, PB ({a.copies} copies: primary, passive site, backup; "
            f"+{100 * a.other_data:.0f} % other data)",
            (
                "path",
                "year",
                "WGS that year",
                "plan (stated, 5 years)",
                f"plan arithmetic ({PLAN_TB_PER_WGS} TB x 1.25, 1 copy)",
                "helgenom",
            ),
            rows,
            "Years 2 and 3 are a straight line between the plan's 2019 and 2022 volumes and "
            "year 5 stays at the 2022 level (an assumption: the plan states only those years).",
        )

    def sites_table(self) -> Table:
        rows = []
        for site in SITES.values():
            for part in site.partitions:
                cp = self.projection.critical_path_h(part.cores)
                peak = max(self.projection.peak_rss_mb.values(), default=0.0)
                rows.append((site.name, part.name, part.cores, cp, peak <= part.mem_mb))
        return Table(
            "One 30x genome alone on one node: critical path (hours)",
            ("site", "partition", "cores", "wall hours", "peak memory fits"),
            rows,
            "Stages one after the other (an upper bound: QC runs beside calling).",
        )

    # -- renderings
    def to_text(self) -> str:
        return "\n\n".join(_text_table(t) for t in self.tables()) + "\n"

    def to_json(self) -> str:
        data = {
            "assumptions": asdict(self.assumptions),
            "core_hours_per_wgs": self.core_hours_per_wgs,
            "bytes_per_wgs": self.bytes_per_wgs,
            "projection": asdict(self.projection),
            "fitted_on": self.model.runs,
            "tables": [
                {
                    "title": t.title,
                    "note": t.note,
                    "rows": [dict(zip(t.columns, row, strict=True)) for row in t.rows],
                }
                for t in self.tables()
            ],
        }
        return json.dumps(data, indent=2, default=_json_default) + "\n"

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(("table", "row", "column", "value"))
        for t in self.tables():
            for i, row in enumerate(t.rows):
                for column, value in zip(t.columns, row, strict=True):
                    writer.writerow((t.title, i, column, value))
        return out.getvalue()

    def to_html(self) -> str:
        cores = self.cores_table()
        storage = self.storage_table()
        charts = [
            _bar_chart(
                "Cores needed per year",
                [str(r[0]) for r in cores.rows],
                {
                    "plan (stated)": [float(r[2] or 0) for r in cores.rows],
                    "helgenom (measured)": [float(r[4]) for r in cores.rows],
                },
            ),
            _bar_chart(
                "Storage after five years (PB)",
                list(PLAN_PATHS),
                {
                    "plan (stated)": [PLAN_STORAGE_5Y_PB[p] for p in PLAN_PATHS],
                    "helgenom (measured)": [
                        float(r[5]) for r in storage.rows if r[1] == len(PLAN_PATHS[r[0]])
                    ],
                },
            ),
        ]
        tables = "\n".join(_html_table(t) for t in self.tables())
        runs = ", ".join(
            f"{r['name']} ({r['samples']} samples, {r['gigabases']} Gb)" for r in self.model.runs
        )
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>helgenom capacity</title><style>body{font-family:sans-serif;margin:2em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
            "padding:2px 8px;text-align:right}th{background:#eee}caption{font-weight:bold;"
            "text-align:left}p.note{color:#555;font-size:90%}</style></head><body>"
            "<h1>Compute and storage for a national WGS programme</h1>"
            f"<p>Fitted on: {html.escape(runs or 'no runs')}. Extrapolated to a 30x genome: see "
            "the fit error per rule; small test runs weigh fixed costs more than a genome.</p>"
            + "".join(charts)
            + tables
            + "</body></html>\n"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _text_table(t: Table) -> str:
    cells = [[_fmt(v) for v in row] for row in t.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(t.columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(t.columns, widths, strict=True))
    lines = [t.title, line, "-" * len(line)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if t.note:
        lines.append(t.note)
    return "\n".join(lines)


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in t.rows
    )
    note = f"<p class='note'>{html.escape(t.note)}</p>" if t.note else ""
    return f"<table><caption>{html.escape(t.title)}</caption><tr>{head}</tr>{body}</table>{note}"


COLOURS = ("#7f8c8d", "#c0392b", "#2980b9", "#27ae60")


def _bar_chart(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    """A grouped bar chart as inline SVG."""
    width, height, left, bottom, top = 640, 320, 70, 40, 40
    top_value = max([v for values in series.values() for v in values] + [1.0]) * 1.1
    group = (width - left - 10) / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='{html.escape(title)}'>",
        f"<text x='{left}' y='20' font-weight='bold'>{html.escape(title)}</text>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - 10}' y2='{height - bottom}' "
        "stroke='black'/>",
    ]
    scale = (height - bottom - top) / top_value
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for k, (name, values) in enumerate(series.items()):
            v = values[i] if i < len(values) else 0.0
            h = v * scale
            x = x0 + k * bar
            parts.append(
                f"<rect x='{x:.1f}' y='{height - bottom - h:.1f}' width='{bar * 0.95:.1f}' "
                f"height='{h:.1f}' fill='{COLOURS[k % len(COLOURS)]}'><title>"
                f"{html.escape(name)}: {_fmt(v)}</title></rect>"
                f"<text x='{x + bar / 2:.1f}' y='{height - bottom - h - 3:.1f}' font-size='10' "
                f"text-anchor='middle'>{_fmt(v)}</text>"
            )
        parts.append(
            f"<text x='{x0 + group * 0.4:.1f}' y='{height - bottom + 15}' font-size='12' "
            f"text-anchor='middle'>{html.escape(label)}</text>"
        )
    for k, name in enumerate(series):
        parts.append(
            f"<rect x='{width - 200}' y='{30 + 16 * k}' width='10' height='10' "
            f"fill='{COLOURS[k % len(COLOURS)]}'/><text x='{width - 185}' y='{39 + 16 * k}' "
            f"font-size='12'>{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "<figure>" + "".join(parts) + "</figure>"


def rules_without_info(model: CostModel) -> list[str]:
    """Measured rules the cost model does not know the stage of (left out of the critical
    path, still counted in core-hours)."""
    return sorted(r for r in model.rules if r not in RULES)
