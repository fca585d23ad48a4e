"""What finished runs cost: every job's benchmark file, every sample's bases sequenced, and
the bytes each sample keeps, read from the run directories.

A run directory is measured as the workflow left it: `benchmarks/<rule>/...tsv` (Snakemake's
`benchmark:` files: wall seconds, peak memory, I/O, CPU seconds), the fastp reports
(`results/qc/fastp/<sample>/*.fastp.json`, bases sequenced before trimming) and the files
under `results/`. Temporary files (trimmed FASTQ, unit BAMs, chunk calls) are gone by then
and are not stored data; a run kept with --notemp lists them as `intermediate`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from helgenom.capacity.rules import RULES
from helgenom.problems import ProblemsError


class CapacityError(ProblemsError):
    """Run directories that cannot be measured, each problem with its path and fix."""

    subject = "the runs to measure"


# What each top folder of results/ holds, for the storage split. Anything else counts as qc.
STORED_KINDS: dict[str, str] = {
    "cram": "cram",
    "vcf": "vcf",
    "panel": "vcf",
    "gvcf": "gvcf",
    "report": "reports",
    "export": "reports",
    "qc": "qc",
    "versions": "qc",
    "versions.yaml": "qc",
    "trimmed": "intermediate",
    "align": "intermediate",
    "calls": "intermediate",
}
KINDS = ("cram", "vcf", "gvcf", "reports", "qc")


@dataclass(frozen=True)
class JobCost:
    """One job's benchmark record (the mean over the file's rows, if it was repeated)."""

    rule: str
    sample: str | None  # None: a job of the whole run (MultiQC, versions, coverage summary)
    cpu_s: float
    wall_s: float
    max_rss_mb: float | None  # None where Snakemake could not measure it (very short jobs)
    path: str  # the benchmark file, relative to the run directory


@dataclass(frozen=True)
class SampleSize:
    """How much was sequenced for a sample (fastp's counts before trimming)."""

    sample: str
    bases: int
    read_pairs: int
    units: int


@dataclass
class RunMeasure:
    """One finished run: its jobs, its samples' sizes and the bytes it keeps."""

    run_dir: Path
    jobs: list[JobCost]
    samples: dict[str, SampleSize]
    # sample -> kind (KINDS or "intermediate") -> bytes; run-wide files shared evenly
    stored: dict[str, dict[str, float]] = field(default_factory=dict)
    chunks: int = 0  # calling chunks of the run (results/calls/chunks/*.bed)
    calling_mode: str = ""  # the run's calling.mode (its config.yaml, else the default)
    reference_bases: int = 0  # length of the reference (its calling chunks' BED intervals)

    @property
    def name(self) -> str:
        return self.run_dir.name

    def sample_jobs(self, sample: str) -> list[JobCost]:
        return [j for j in self.jobs if j.sample == sample]

    def run_jobs(self) -> list[JobCost]:
        return [j for j in self.jobs if j.sample is None]

    @property
    def cpu_s(self) -> float:
        return sum(j.cpu_s for j in self.jobs)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_benchmark(path: Path) -> tuple[float, float, float | None]:
    """(CPU seconds, wall seconds, peak RSS in MB or None) of a Snakemake benchmark file,
    averaged over its rows. Raises ValueError naming what is missing."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError("no benchmark row (an empty file: was the job killed?)")
    missing = [c for c in ("s", "cpu_time", "max_rss") if c not in rows[0]]
    if missing:
        raise ValueError(f"columns {', '.join(missing)} missing (not a Snakemake benchmark file)")
    walls = [_number(r["s"]) for r in rows]
    if any(w is None for w in walls):
        raise ValueError("column s holds a value that is not a number")
    cpus = [_number(r["cpu_time"]) or 0.0 for r in rows]
    rss = [x for x in (_number(r["max_rss"]) for r in rows) if x is not None]
    return (
        sum(cpus) / len(rows),
        sum(w for w in walls if w is not None) / len(rows),
        max(rss) if rss else None,
    )


def job_cpu_s(rule: str, cpu_s: float, wall_s: float) -> float:
    """A job's CPU seconds, at most its wall time times its threads (RULES).

    Snakemake runs a `run:` job of a local run (and a local rule's) inside its own process
    and benchmarks that process: its cpu_time is the whole Snakemake process's CPU since it
    started (seen: 19.8 CPU s for a 0.01 s versions job, growing job by job), not the job's.
    The bound leaves a real measurement as it is: a job cannot use more than its threads."""
    info = RULES.get(rule)
    return min(cpu_s, wall_s * info.threads) if info is not None else cpu_s


def _sample_of(parts: Sequence[str], samples: Iterable[str]) -> str | None:
    """The sample a file belongs to: a folder named after it, or a name `<sample>.…` /
    `<sample>_…`; None for the run's own files."""
    known = set(samples)
    for part in parts:
        if part in known:
            return part
    name = parts[-1]
    # The longest matching sample, so that sample "A1" does not claim "A10.cram".
    for sample in sorted(known, key=len, reverse=True):
        if name.startswith((f"{sample}.", f"{sample}_")):
            return sample
    return None


def _reused_size(run_dir: Path, record_path: Path) -> SampleSize | None:
    """The size of a sample with units whose alignments were reused (reanalysis.mode reuse:
    no fastp report), from samtools stats of its CRAM: its primary reads and their bases
    (after the earlier analysis' trimming). None for a sample that went through fastp."""
    try:
        record = json.loads(record_path.read_text())
        reused = any(u.get("mode") == "reuse" for u in record["units"])
    except (ValueError, KeyError, TypeError) as error:
        raise CapacityError(
            [f"{record_path}: not an input record ({error}); rerun the input_record job"]
        ) from None
    if not reused:
        return None
    sample = record_path.stem
    stats = run_dir / "results" / "qc" / "samtools" / f"{sample}.stats.txt"
    summary: dict[str, int] = {}
    if stats.is_file():
        for line in stats.read_text().splitlines():
            fields = line.split("\t")
            if fields[0] == "SN" and len(fields) > 2 and fields[2].isdigit():
                summary[fields[1].rstrip(":")] = int(fields[2])
    if "raw total sequences" not in summary or "total length" not in summary:
        raise CapacityError(
            [f"{stats}: no samtools stats summary of {sample}, whose alignments were reused; "
             "rerun its samtools_stats job"]
        )  # fmt: skip
    return SampleSize(
        sample,
        summary["total length"],
        summary["raw total sequences"] // 2,
        len(record["units"]),
    )


def read_sizes(run_dir: Path) -> dict[str, SampleSize]:
    """Bases sequenced per sample, from the fastp reports of its units; for a sample whose
    units' alignments were reused from a CRAM/BAM (no fastp), from samtools stats of its
    CRAM (results/qc/input/<sample>.json says which)."""
    sizes: dict[str, SampleSize] = {}
    for record_path in sorted((run_dir / "results" / "qc" / "input").glob("*.json")):
        size = _reused_size(run_dir, record_path)
        if size is not None:
            sizes[size.sample] = size
    for sample_dir in sorted((run_dir / "results" / "qc" / "fastp").glob("*/")):
        bases = pairs = units = 0
        for report in sorted(sample_dir.glob("*.fastp.json")):
            try:
                data = json.loads(report.read_text())
                before = data["summary"]["before_filtering"]
                bases += int(before["total_bases"])
                pairs += int(before["total_reads"]) // 2
            except (ValueError, KeyError, TypeError) as error:
                raise CapacityError(
                    [f"{report}: not a fastp JSON report ({error}); rerun the fastp job"]
                ) from None
            units += 1
        if units and sample_dir.name not in sizes:
            sizes[sample_dir.name] = SampleSize(sample_dir.name, bases, pairs, units)
    return sizes


def read_stored(run_dir: Path, samples: Sequence[str]) -> dict[str, dict[str, float]]:
    """Bytes under results/ per sample and kind; files of the whole run (MultiQC, the QC
    summaries, versions) are shared evenly between the run's samples."""
    stored: dict[str, dict[str, float]] = {s: dict.fromkeys(KINDS, 0.0) for s in samples}
    results = run_dir / "results"
    shared: dict[str, float] = {}
    for path in sorted(results.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        parts = path.relative_to(results).parts
        kind = STORED_KINDS.get(parts[0], "qc")
        size = path.stat().st_size
        sample = _sample_of(parts, samples)
        if sample is None:
            shared[kind] = shared.get(kind, 0.0) + size
        else:
            stored[sample][kind] = stored[sample].get(kind, 0.0) + size
    for kind, size in shared.items():
        for sample in samples:
            stored[sample][kind] = stored[sample].get(kind, 0.0) + size / len(samples)
    return stored


def measure_run(run_dir: str | Path) -> RunMeasure:
    """Measure one finished run directory. Raises CapacityError listing every file that
    cannot be read (with the fix), or saying why the directory is not a finished run."""
    run_dir = Path(run_dir)
    if not (run_dir / "benchmarks").is_dir():
        raise CapacityError(
            [
                f"{run_dir}: no benchmarks/ folder: not a helgenom run directory, or no job has "
                "finished yet; give the folder the run was started in, after it finished"
            ]
        )
    samples = read_sizes(run_dir)
    if not samples:
        raise CapacityError(
            [
                f"{run_dir}: no fastp report under results/qc/fastp/<sample>/ (nor a reused "
                "sample's samtools stats): the bases sequenced are not known; measure a run "
                "whose fastp jobs finished"
            ]
        )
    jobs: list[JobCost] = []
    problems: list[str] = []
    for path in sorted((run_dir / "benchmarks").rglob("*.tsv")):
        parts = path.relative_to(run_dir / "benchmarks").with_suffix("").parts
        try:
            cpu, wall, rss = read_benchmark(path)
        except (OSError, ValueError) as error:
            problems.append(f"{path}: {error}; delete it and rerun its job, or leave the run out")
            continue
        rule = parts[0]
        jobs.append(
            JobCost(
                rule=rule,
                sample=_sample_of(parts[1:], samples) if len(parts) > 1 else None,
                cpu_s=job_cpu_s(rule, cpu, wall),
                wall_s=wall,
                max_rss_mb=rss,
                path=str(path.relative_to(run_dir)),
            )
        )
    if problems:
        raise CapacityError(problems)
    beds = sorted((run_dir / "results" / "calls" / "chunks").glob("*.bed"))
    reference_bases = 0
    for bed in beds:
        for line in bed.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[1].isdigit() and fields[2].isdigit():
                reference_bases += int(fields[2]) - int(fields[1])
    return RunMeasure(
        run_dir=run_dir,
        jobs=jobs,
        samples=samples,
        stored=read_stored(run_dir, list(samples)),
        chunks=len(beds),
        calling_mode=calling_mode(run_dir),
        reference_bases=reference_bases,
    )


def calling_mode(run_dir: Path) -> str:
    """The calling.mode a run used: its config.yaml's, else the shipped default."""
    from helgenom.paths import workflow_dir

    for path in (run_dir / "config.yaml", workflow_dir() / "config.yaml"):
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        mode = (config.get("calling") or {}).get("mode") if isinstance(config, dict) else None
        if isinstance(mode, str):
            return mode
    return ""
