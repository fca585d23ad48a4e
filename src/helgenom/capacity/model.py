"""The cost model: per rule, the CPU seconds of one sample's jobs, fitted on measured runs,
and its projection to a 30x human genome.

Each rule's cost grows with one thing (RULES[rule].grows):

- "bases": the bases sequenced (reads through fastp, bwa, markdup, the callers, the CRAM
  QC tools). Fitted by least squares with non-negative coefficients as
      y = per_job_s * jobs + per_gbase_s * Gb sequenced
  where `jobs` is the sample's job count of the rule (1, its units, or the run's calling
  chunks), so a fixed start-up cost is not mistaken for a cost that grows with the data. With
  one sample size only the two terms cannot be told apart: the cost is then taken as
  proportional to the bases (an upper bound) and the fit says so (`proportional`).
- "genome": the reference's length (passes over the reference or the VCF/gVCF: gathering,
  bcftools stats, QC metrics, panel variants, coverage regions), fitted as for "bases" with
  the Gb of reference instead of the Gb sequenced (the calibration runs two genome sizes).
- "none": nothing (the QC gate, the report, versions): y = per_job_s * jobs.

Jobs of the whole run (MultiQC, versions, coverage summary) are shared evenly between the
run's samples. Peak memory is the largest measured per job; it depends on the reference, so
for a genome-sized reference resources.py's estimates hold.

Test references. The cost per read of alignment, duplicate marking and calling depends on
the reference: on a ~1 Mb test reference the index sits in the CPU's cache and pileups are
simple. When the fitted runs' reference is smaller than SMALL_REFERENCE, the projection takes
for those rules the larger of the fitted per-base cost and the published throughput on 30x
GRCh38 genomes (GRCH38_FLOOR_S_PER_GBASE). A model fitted on genome-sized runs (a site's own:
`helgenom capacity <runs> --write-model`) uses its own figures only.

Stored bytes per sample are fitted the same way per kind: CRAM grows with the bases, VCF and
gVCF with the genome, reports and QC files are fixed.

A 30x genome is 30 x 3.1 Gb = 93 Gb sequenced (GRCh38, ~310 million 2 x 150 bp read
pairs), in 4 units (lanes) by default, called over the calling chunks of the fitted model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from helgenom.calling import CALLING_CPU_FACTOR
from helgenom.capacity.measure import KINDS, CapacityError, RunMeasure
from helgenom.capacity.rules import RULES, STAGES

GENOME_BASES = 3_100_000_000  # GRCh38, the sequence a 30x genome is sequenced against
WGS_COVERAGE = 30
WGS_BASES = WGS_COVERAGE * GENOME_BASES
WGS_UNITS = 4  # lanes of a 30x genome on a NovaSeq flow cell (units.tsv rows)
GIGA = 1e9
# Below this reference length the fitted runs are test data, and GRCH38_FLOOR applies.
SMALL_REFERENCE = 1_000_000_000
# Published CPU seconds per Gb sequenced of a 30x GRCh38 genome (the figures
# helgenom.resources used before it was fitted, "from published throughput, rounded up"):
# fastp ~4 CPU min per GB of gzipped FASTQ (65 GB), bwa mem + fixmate + sort ~160 CPU hours,
# merge + markdup + CRAM ~12 CPU min per GB of unit BAMs (62 GB), bcftools mpileup | call
# ~45 CPU hours (times the calling mode's factor, helgenom.calling.CALLING_CPU_FACTOR).
# A model fitted on test references plans with the larger of its own figure and this floor:
# on a ~1 Mb reference the index sits in the CPU's cache and pileups are simple, and the
# calibration measured bwa at ~1/18 and bcftools at ~1/5 of these (README, capacity).
GRCH38_FLOOR_S_PER_GBASE: dict[str, float] = {
    "fastp": 4 * 65 * 60 / 93,
    "align": 160 * 3600 / 93,
    "markdup": 12 * 62 * 60 / 93,
    "call": 45 * 3600 / 93,
}


# Rules that are not part of a clinical sample's cost: the reference is prepared once per
# site (its benchmark files are in the reference folder, not the run's), and the validation
# rules compare a validation run's calls with a truth set.
NOT_PER_SAMPLE = ("compare_truth", "validation_summary", "truth_")
# What each kind of stored data grows with (as RuleInfo.grows).
STORED_GROWS = {"cram": "bases", "vcf": "genome", "gvcf": "genome", "reports": "none", "qc": "none"}


def grows(rule: str) -> str:
    return RULES[rule].grows if rule in RULES else "bases"


@dataclass(frozen=True)
class Fit:
    """CPU seconds (or bytes) = per_job * jobs + per_gbase * Gb sequenced."""

    per_job: float
    per_gbase: float
    points: int  # samples it was fitted on
    rms_error: float  # root mean square of the residuals, in the fitted unit
    max_rel_error: float  # largest |residual| / measured value
    proportional: bool  # one sample size only: all cost taken as proportional to the bases

    def predict(self, jobs: float, gbases: float) -> float:
        return self.per_job * jobs + self.per_gbase * gbases


def fit_linear(points: Sequence[tuple[float, float, float]], grows: str = "bases") -> Fit:
    """Least squares with non-negative coefficients of y = a * jobs + b * gb over
    (jobs, gb, y) points, gb the Gb sequenced (grows="bases") or the Gb of the reference
    ("genome"); for "none" y = a * jobs. Raises ValueError without points."""
    if not points:
        raise ValueError("no measured points to fit")
    if grows == "none":
        a = sum(y for *_, y in points) / max(sum(j for j, *_ in points), 1)
        return _fit(points, a, 0.0, proportional=False)
    solved = _nnls2(points)
    if solved is None:
        # jobs and bases grow together (one sample size): only proportionality is known.
        total_g = sum(g for _, g, _ in points)
        total_y = sum(y for *_, y in points)
        if total_g > 0:
            a, b = 0.0, total_y / total_g
        else:
            a, b = total_y / max(sum(j for j, *_ in points), 1), 0.0
    else:
        a, b = solved
    return _fit(points, a, b, proportional=solved is None)


def _fit(
    points: Sequence[tuple[float, float, float]], a: float, b: float, proportional: bool
) -> Fit:
    residuals = [y - (a * j + b * g) for j, g, y in points]
    rms = math.sqrt(sum(r * r for r in residuals) / len(residuals))
    rel = max(
        (abs(r) / y for r, (_, _, y) in zip(residuals, points, strict=True) if y > 0), default=0.0
    )
    return Fit(a, b, len(points), rms, rel, proportional)


def _nnls2(points: Sequence[tuple[float, float, float]]) -> tuple[float, float] | None:
    """Non-negative least squares with two unknowns: the unconstrained solution if both are
    >= 0, else the better of the two one-term fits; None when jobs and bases are collinear
    (the two terms cannot be told apart)."""
    sjj = sum(j * j for j, _, _ in points)
    sgg = sum(g * g for _, g, _ in points)
    sjg = sum(j * g for j, g, _ in points)
    sjy = sum(j * y for j, _, y in points)
    sgy = sum(g * y for _, g, y in points)
    det = sjj * sgg - sjg * sjg
    if det <= 1e-9 * sjj * sgg:
        return None
    a = (sjy * sgg - sgy * sjg) / det
    b = (sgy * sjj - sjy * sjg) / det
    if a >= 0 and b >= 0:
        return a, b

    def sse(a: float, b: float) -> float:
        return sum((y - a * j - b * g) ** 2 for j, g, y in points)

    only_jobs = (max(sjy, 0.0) / sjj if sjj else 0.0, 0.0)
    only_bases = (0.0, max(sgy, 0.0) / sgg if sgg else 0.0)
    return min(only_jobs, only_bases, key=lambda ab: sse(*ab))


@dataclass(frozen=True)
class RuleCost:
    rule: str
    cpu: Fit  # CPU seconds per sample; per_gbase per Gb sequenced or Gb of reference (grows)
    peak_rss_mb: float  # largest measured peak memory of one job
    grows: str = "bases"  # "bases", "genome" or "none" (RULES; "bases" for unknown rules)


@dataclass
class CostModel:
    """What the fit found: per rule CPU cost and peak memory, per kind stored bytes, and the
    runs it was fitted on (for the README and the model file)."""

    rules: dict[str, RuleCost]
    stored: dict[str, Fit]  # kind -> bytes per sample
    runs: list[dict[str, Any]] = field(default_factory=list)  # name, samples, Gb, CPU s
    calling_mode: str = ""  # the calling.mode of the runs (call_chunk's cost depends on it)
    reference_bases: int = 0  # the smallest reference of the fitted runs

    def floor(self, rule: str) -> float:
        """GRCH38_FLOOR_S_PER_GBASE of the rule's estimate when the model was fitted on test
        references (0 otherwise, or for rules without a published figure)."""
        if self.reference_bases >= SMALL_REFERENCE or rule not in RULES:
            return 0.0
        estimate = RULES[rule].estimate
        factor = CALLING_CPU_FACTOR.get(self.calling_mode, 1.0) if estimate == "call" else 1.0
        return GRCH38_FLOOR_S_PER_GBASE.get(estimate, 0.0) * factor

    def per_gbase_s(self, rule: str) -> float:
        """CPU seconds per Gb sequenced (or of reference) of `rule` on a human genome: the
        fitted figure, or the published floor where that is higher."""
        return max(self.rules[rule].cpu.per_gbase, self.floor(rule))

    def cpu_s(
        self, rule: str, bases: float, units: int, chunks: int, genome: float = GENOME_BASES
    ) -> float:
        """Projected CPU seconds of one sample's jobs of `rule`."""
        cost = self.rules[rule]
        jobs = _jobs(rule, units, chunks)
        size = {"bases": bases, "genome": genome}.get(cost.grows, 0.0) / GIGA
        return cost.cpu.per_job * jobs + self.per_gbase_s(rule) * size

    def sample_cpu_s(self, bases: float, units: int, chunks: int) -> dict[str, float]:
        return {rule: self.cpu_s(rule, bases, units, chunks) for rule in self.rules}

    def stored_bytes(self, bases: float, genome: float = GENOME_BASES) -> dict[str, float]:
        sizes = {"bases": bases / GIGA, "genome": genome / GIGA, "none": 0.0}
        return {
            kind: fit.predict(1, sizes[STORED_GROWS.get(kind, "bases")])
            for kind, fit in self.stored.items()
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostModel:
        return cls(
            rules={
                name: RuleCost(
                    name,
                    Fit(**cost["cpu"]),
                    float(cost["peak_rss_mb"]),
                    str(cost.get("grows", "bases")),
                )
                for name, cost in data["rules"].items()
            },
            stored={kind: Fit(**fit) for kind, fit in data["stored"].items()},
            runs=list(data.get("runs", [])),
            calling_mode=str(data.get("calling_mode", "")),
            reference_bases=int(data.get("reference_bases", 0)),
        )


def _counted(rule: str) -> bool:
    return not rule.startswith(NOT_PER_SAMPLE) and not rule.startswith("reference_")


def fit_model(runs: Iterable[RunMeasure]) -> CostModel:
    """Fit the cost model on measured runs (see the module's docstring)."""
    runs = list(runs)
    modes = sorted({run.calling_mode for run in runs})
    if len(modes) > 1:
        raise CapacityError(
            [
                f"the runs used different calling modes ({', '.join(modes)}): call_chunk's cost "
                "depends on the mode; fit runs of one calling.mode together"
            ]
        )
    cpu_points: dict[str, list[tuple[float, float, float]]] = {}
    peaks: dict[str, float] = {}
    stored_points: dict[str, list[tuple[float, float, float]]] = {k: [] for k in KINDS}
    for run in runs:
        n = len(run.samples)
        per_sample: dict[str, dict[str, list[float]]] = {s: {} for s in run.samples}
        for job in run.jobs:
            if not _counted(job.rule):
                continue
            if job.max_rss_mb is not None:
                peaks[job.rule] = max(peaks.get(job.rule, 0.0), job.max_rss_mb)
            if job.sample is None:  # the whole run's: shared evenly, a fixed cost
                for sample in run.samples:
                    per_sample[sample].setdefault(job.rule, []).append(job.cpu_s / n)
            elif job.sample in per_sample:
                per_sample[job.sample].setdefault(job.rule, []).append(job.cpu_s)
        genome = run.reference_bases / GIGA
        for sample, size in run.samples.items():
            gbases = size.bases / GIGA
            for rule, cpus in per_sample[sample].items():
                scatter = RULES[rule].scatter if rule in RULES else "sample"
                jobs = len(cpus) if scatter in ("unit", "chunk") else 1
                x = genome if grows(rule) == "genome" else gbases
                cpu_points.setdefault(rule, []).append((jobs, x, sum(cpus)))
            for kind in KINDS:
                x = genome if STORED_GROWS[kind] == "genome" else gbases
                stored_points[kind].append((1, x, run.stored.get(sample, {}).get(kind, 0)))
    return CostModel(
        rules={
            rule: RuleCost(rule, fit_linear(points, grows(rule)), peaks.get(rule, 0.0), grows(rule))
            for rule, points in sorted(cpu_points.items())
        },
        stored={
            kind: fit_linear(points, STORED_GROWS[kind])
            for kind, points in stored_points.items()
            if points
        },
        runs=[
            {
                "name": run.name,
                "samples": len(run.samples),
                "gigabases": round(sum(s.bases for s in run.samples.values()) / GIGA, 6),
                "cpu_s": round(run.cpu_s, 3),
                "chunks": run.chunks,
                "reference_bases": run.reference_bases,
                "calling_mode": run.calling_mode,
            }
            for run in runs
        ],
        calling_mode=modes[0] if modes else "",
        reference_bases=min((run.reference_bases for run in runs), default=0),
    )


# ---- projection to a 30x genome --------------------------------------------------------------
@dataclass(frozen=True)
class Projection:
    """One sample's projected cost: CPU seconds per rule, peak memory per rule, stored bytes
    per kind, at `bases` sequenced in `units` units, called over `chunks` chunks."""

    bases: float
    units: int
    chunks: int
    cpu_s: dict[str, float]
    peak_rss_mb: dict[str, float]
    stored: dict[str, float]

    @property
    def core_hours(self) -> float:
        return sum(self.cpu_s.values()) / 3600

    @property
    def stored_bytes(self) -> float:
        return sum(self.stored.values())

    def critical_path_h(self, node_cores: int) -> float:
        """Wall hours of one sample alone on one node of `node_cores` cores: the stages one
        after the other (an upper bound: QC runs beside calling in the workflow), each as long
        as its CPU time spread over the node's cores, or its longest job on its threads."""
        hours = 0.0
        for stage in STAGES:
            rules = [r for r in self.cpu_s if r in RULES and RULES[r].stage == stage]
            if not rules:
                continue
            total = sum(self.cpu_s[r] for r in rules)
            longest = max(
                self.cpu_s[r]
                / max(_jobs(r, self.units, self.chunks), 1)
                / min(RULES[r].threads, node_cores)
                for r in rules
            )
            hours += max(total / node_cores, longest) / 3600
        return hours


def _jobs(rule: str, units: int, chunks: int) -> int:
    scatter = RULES[rule].scatter if rule in RULES else "sample"
    return {"unit": units, "chunk": chunks}.get(scatter, 1)


def project(
    model: CostModel,
    *,
    bases: float = WGS_BASES,
    units: int = WGS_UNITS,
    chunks: int | None = None,
) -> Projection:
    """The model's cost of one sample of `bases` sequenced (default: a 30x genome), with
    `chunks` calling chunks (default: the model's own choice, `calling_chunks`)."""
    chunks = calling_chunks(model, bases) if chunks is None else chunks
    return Projection(
        bases=bases,
        units=units,
        chunks=chunks,
        cpu_s=model.sample_cpu_s(bases, units, chunks),
        peak_rss_mb={rule: cost.peak_rss_mb for rule, cost in model.rules.items()},
        stored=model.stored_bytes(bases),
    )


# A calling chunk's job should take about this many hours on a 30x genome: long enough that
# its fixed start-up cost is small, short enough that a retry (runtime doubles) fits every
# site's walltime cap (Abacus: 24 h) and a chunk lost in a failover costs little.
CHUNK_TARGET_HOURS = 3.0
MAX_CHUNKS = 512


def calling_chunks(model: CostModel, bases: float = WGS_BASES) -> int:
    """Calling chunks for a sample of `bases` sequenced: the fewest chunks whose call_chunk
    jobs stay within CHUNK_TARGET_HOURS of CPU each, by the fitted call_chunk cost."""
    if "call_chunk" not in model.rules:
        raise ValueError("the cost model has no call_chunk measurements: refit it on a run")
    fit = model.rules["call_chunk"].cpu
    per_chunk_limit = CHUNK_TARGET_HOURS * 3600 - fit.per_job
    if per_chunk_limit <= 0:
        return 1
    chunks = math.ceil(model.per_gbase_s("call_chunk") * bases / GIGA / per_chunk_limit)
    return max(1, min(chunks, MAX_CHUNKS))
