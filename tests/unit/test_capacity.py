"""helgenom.capacity on synthetic run directories whose benchmark files follow a known cost
law: the fit recovers the law, the projection and the plan's arithmetic follow from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from helgenom.calling import CALLING_CPU_FACTOR
from helgenom.capacity import fitted_model
from helgenom.capacity.measure import CapacityError, job_cpu_s, measure_run, read_benchmark
from helgenom.capacity.model import (
    CHUNK_TARGET_HOURS,
    GENOME_BASES,
    GIGA,
    GRCH38_FLOOR_S_PER_GBASE,
    RULES,
    WGS_BASES,
    calling_chunks,
    fit_linear,
    fit_model,
    project,
)
from helgenom.capacity.plan import (
    PLAN_CORE_HOURS_PER_WGS,
    PLAN_SCENARIOS,
    Assumptions,
    acute_turnaround,
    cores_needed,
    erlang_c,
    storage_years,
)
from helgenom.capacity.report import CapacityReport
from helgenom.cli import main

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

# The cost law of the synthetic runs: CPU seconds = per job + per Gb sequenced (or, for the
# rules whose cost grows with the reference, per Gb of reference; for qc_gate: fixed).
LAW = {
    "fastp": (0.5, 40.0),
    "align_bwa": (2.0, 900.0),
    "markdup_cram": (1.5, 120.0),
    "call_chunk": (0.8, 600.0),
    "gather_calls": (1.0, 5000.0),
    "mosdepth": (0.3, 30.0),
    "qc_gate": (2.5, 0.0),
}
CRAM_BYTES_PER_GBASE = 0.2e9
CRAM_FIXED = 5000


def _benchmark(path: Path, cpu: float, rss: float | str = 100.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{cpu * 1.1:.4f}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t90\t{cpu:.4f}\n")


def synthetic_run(
    run_dir: Path,
    samples: dict[str, tuple[int, int]],
    chunks: int,
    multiqc_cpu: float = 6.0,
    reference: int = 1_000_000,
) -> Path:
    """A finished run's measurable files: sample -> (bases per unit, units), on a reference
    of `reference` bases (its calling chunks' BED files)."""
    for sample, (bases, units) in samples.items():
        gbases = bases * units / GIGA
        fastp_dir = run_dir / "results" / "qc" / "fastp" / sample
        fastp_dir.mkdir(parents=True)
        for u in range(units):
            report = {
                "summary": {"before_filtering": {"total_bases": bases, "total_reads": bases // 75}},
                "command": "fastp --in1 missing_R1.fq.gz --in2 missing_R2.fq.gz",
            }
            (fastp_dir / f"{sample}_L{u}.fastp.json").write_text(json.dumps(report))
        for rule, (per_job, per_gbase) in LAW.items():
            scatter = RULES[rule].scatter
            jobs = {"unit": units, "chunk": chunks}.get(scatter, 1)
            size = reference / GIGA if RULES[rule].grows == "genome" else gbases
            total = per_job * jobs + per_gbase * size
            for j in range(jobs):
                name = f"{sample}/L{j}.tsv" if scatter == "unit" else f"{sample}/{j:04d}.tsv"
                if scatter == "sample":
                    name = f"{sample}.tsv"
                _benchmark(run_dir / "benchmarks" / rule / name, total / jobs, 1000.0 + j)
        cram = run_dir / "results" / "cram" / f"{sample}.cram"
        cram.parent.mkdir(parents=True, exist_ok=True)
        cram.write_bytes(b"\0" * int(CRAM_FIXED + CRAM_BYTES_PER_GBASE * gbases))
    _benchmark(run_dir / "benchmarks" / "multiqc.tsv", multiqc_cpu, "NA")
    (run_dir / "results" / "qc" / "multiqc").mkdir(parents=True)
    (run_dir / "results" / "qc" / "multiqc" / "multiqc_report.html").write_bytes(b"x" * 1000)
    chunk_dir = run_dir / "results" / "calls" / "chunks"
    chunk_dir.mkdir(parents=True)
    for c in range(chunks):
        start, end = c * reference // chunks, (c + 1) * reference // chunks
        (chunk_dir / f"{c:04d}.bed").write_text(f"chr1\t{start}\t{end}\n")
    return run_dir


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        synthetic_run(tmp_path / "a", {"S1": (2_000_000, 1), "S2": (5_000_000, 2)}, chunks=4),
        synthetic_run(
            tmp_path / "b",
            {"S3": (20_000_000, 3), "S10": (1_000_000, 1)},
            chunks=8,
            reference=4_000_000,
        ),
    ]


def test_fit_recovers_the_cost_law(runs: list[Path]) -> None:
    model = fit_model(measure_run(r) for r in runs)
    for rule, (per_job, per_gbase) in LAW.items():
        fit = model.rules[rule].cpu
        assert fit.per_job == pytest.approx(per_job, rel=1e-3), rule
        assert fit.per_gbase == pytest.approx(per_gbase, rel=1e-3, abs=1e-9), rule
        assert fit.points == 4 and not fit.proportional
        assert fit.max_rel_error < 1e-3
    assert model.reference_bases == 1_000_000  # the smaller of the runs' references
    # MultiQC is the run's: shared evenly between its samples, a fixed cost per sample.
    assert model.rules["multiqc"].cpu.per_job == pytest.approx(3.0, rel=1e-3)
    assert model.rules["multiqc"].cpu.per_gbase == pytest.approx(0.0, abs=1e-6)
    cram = model.stored["cram"]
    assert cram.per_gbase == pytest.approx(CRAM_BYTES_PER_GBASE, rel=1e-3)
    assert cram.per_job == pytest.approx(CRAM_FIXED, rel=0.05)
    # Peak memory is the largest measured job; an unmeasurable one ("NA") is left out.
    assert model.rules["call_chunk"].peak_rss_mb == 1007.0
    assert model.rules["multiqc"].peak_rss_mb == 0.0
    assert [r["name"] for r in model.runs] == ["a", "b"]


def test_sample_names_that_prefix_each_other_are_kept_apart(runs: list[Path]) -> None:
    run = measure_run(runs[1])
    assert {j.sample for j in run.jobs} == {"S3", "S10", None}
    assert run.stored["S10"]["cram"] == pytest.approx(CRAM_FIXED + CRAM_BYTES_PER_GBASE * 0.001)
    # the run's MultiQC report is shared between its two samples; fastp's reports are theirs
    for sample in ("S3", "S10"):
        fastp = runs[1] / "results" / "qc" / "fastp" / sample
        own = sum(f.stat().st_size for f in fastp.iterdir())
        assert run.stored[sample]["qc"] == 500 + own


def test_projection_follows_the_law(runs: list[Path]) -> None:
    model = fit_model(measure_run(r) for r in runs)
    p = project(model, units=4, chunks=32)
    size = {"bases": WGS_BASES / GIGA, "genome": GENOME_BASES / GIGA, "none": 0.0}
    # Fitted on small references: where the fit is below published GRCh38 throughput, the
    # published figure counts (here for alignment, markdup and calling; fastp's fit is above).
    assert model.floor("align_bwa") == GRCH38_FLOOR_S_PER_GBASE["align"] > 900
    # the runs have no config.yaml: the shipped default calling mode, bcftools+freebayes
    assert model.calling_mode == "bcftools+freebayes"
    call_floor = GRCH38_FLOOR_S_PER_GBASE["call"] * CALLING_CPU_FACTOR["bcftools+freebayes"]
    assert model.floor("call_chunk") == pytest.approx(call_floor)
    assert model.floor("mosdepth") == 0
    expected = {
        rule: per_job * {"unit": 4, "chunk": 32}.get(RULES[rule].scatter, 1)
        + max(per_gbase, model.floor(rule)) * size[RULES[rule].grows]
        for rule, (per_job, per_gbase) in LAW.items()
    }
    for rule, cpu in expected.items():
        assert p.cpu_s[rule] == pytest.approx(cpu, rel=1e-3)
    assert p.core_hours == pytest.approx((sum(expected.values()) + 3.0) / 3600, rel=1e-3)
    # On a bigger node the critical path is shorter, never shorter than the longest job.
    assert p.critical_path_h(192) < p.critical_path_h(24)
    longest_call = p.cpu_s["call_chunk"] / 32 / 3600
    assert p.critical_path_h(10_000) >= longest_call
    # one unit per node core at most: align on 8 threads bounds its stage
    assert p.critical_path_h(10_000) >= p.cpu_s["align_bwa"] / 4 / 8 / 3600


def test_calling_chunks_keep_each_chunk_within_the_target(runs: list[Path]) -> None:
    model = fit_model(measure_run(r) for r in runs)
    chunks = calling_chunks(model)
    per_gb = model.floor("call_chunk")
    assert per_gb > 600  # the published floor is above the fitted 600
    assert (0.8 + per_gb * WGS_BASES / GIGA / chunks) / 3600 <= CHUNK_TARGET_HOURS
    assert (0.8 + per_gb * WGS_BASES / GIGA / (chunks - 1)) / 3600 > CHUNK_TARGET_HOURS
    assert calling_chunks(model, bases=1e6) == 1


def test_a_model_fitted_on_genome_sized_runs_is_not_scaled(runs: list[Path]) -> None:
    model = fit_model(measure_run(r) for r in runs)
    model.reference_bases = GENOME_BASES
    assert model.floor("align_bwa") == model.floor("call_chunk") == 0
    assert model.per_gbase_s("align_bwa") == model.rules["align_bwa"].cpu.per_gbase


def test_one_sample_size_is_taken_as_proportional() -> None:
    fit = fit_linear([(4, 0.005, 10.0), (4, 0.005, 12.0)])
    assert fit.proportional and fit.per_job == 0
    assert fit.per_gbase == pytest.approx(11.0 / 0.005)
    with pytest.raises(ValueError, match="no measured points"):
        fit_linear([])


def test_a_negative_term_is_not_fitted() -> None:
    # cost falls with size: no negative coefficient, the best one-term fit instead
    fit = fit_linear([(1, 1.0, 10.0), (1, 2.0, 9.0), (1, 3.0, 8.0)])
    assert fit.per_job >= 0 and fit.per_gbase >= 0
    assert fit.per_gbase == 0


def test_the_plans_core_numbers_come_out_of_the_plans_assumptions() -> None:
    a = Assumptions()
    got = {s.name: cores_needed(PLAN_CORE_HOURS_PER_WGS, s.wgs_per_year, a) for s in PLAN_SCENARIOS}
    assert got == {s.name: s.plan_cores for s in PLAN_SCENARIOS}
    assert got["2019 low"] == 1110 and got["2022 high"] == 9247
    with pytest.raises(ValueError, match="utilisation"):
        cores_needed(1.0, 1, Assumptions(utilisation=0))


def test_storage_accumulates_every_copy() -> None:
    years = storage_years(1e12, (10, 20), Assumptions(other_data=0.25, copies=3))
    assert years == [pytest.approx(37.5e12), pytest.approx(112.5e12)]


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 3.0) == 1.0


def test_acute_turnaround_grows_with_load_and_fails_when_overloaded() -> None:
    a = Assumptions(node_cores=40)
    light = acute_turnaround(2000, 10, 10_000, 8000, a)
    heavy = acute_turnaround(2000, 10, 10_000, 3200, a)
    assert light.turnaround_h >= 10 and heavy.turnaround_h > light.turnaround_h
    assert heavy.utilisation > light.utilisation
    over = acute_turnaround(2000, 10, 10_000, 2000, a)
    assert math.isinf(over.turnaround_h)


def test_capacity_command_prints_and_writes_every_format(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "capacity",
            *map(str, runs),
            "--csv",
            str(out / "cap.csv"),
            "--json",
            str(out / "cap.json"),
            "--html",
            str(out / "cap.html"),
            "--write-model",
            str(out / "model.json"),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Cores per year" in text and "2022 high" in text and "9,247" in text
    data = json.loads((out / "cap.json").read_text())
    model = fit_model(measure_run(r) for r in runs)
    # core-hours per WGS are at least the measured runs' CPU time per sample, projected up
    assert data["core_hours_per_wgs"] == pytest.approx(project(model).core_hours)
    assert data["core_hours_per_wgs"] * 3600 > max(measure_run(r).cpu_s for r in runs)
    assert "<svg" in (out / "cap.html").read_text()
    rows = (out / "cap.csv").read_text().splitlines()
    assert rows[0] == "table,row,column,value" and len(rows) > 50
    # the model written can be read back and gives the same figures
    capsys.readouterr()
    assert (
        main(["capacity", "--model", str(out / "model.json"), "--json", str(out / "b.json")]) == 0
    )
    assert json.loads((out / "b.json").read_text())["core_hours_per_wgs"] == pytest.approx(
        data["core_hours_per_wgs"]
    )


def test_the_plans_cost_per_wgs_reproduces_the_plans_table(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    assert main(["capacity", str(runs[0]), "--core-hours-per-wgs", "2160", "--json", str(out)]) == 0
    cores = next(t for t in json.loads(out.read_text())["tables"] if "Cores" in t["title"])
    for row in cores["rows"]:
        assert row["helgenom"] == row["plan (stated)"]


def test_bad_runs_are_named_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["capacity", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "no benchmarks/ folder" in err
    run = synthetic_run(tmp_path / "r", {"S1": (1000, 1)}, chunks=1)
    (run / "benchmarks" / "mosdepth" / "S1.tsv").write_text("s\tcpu_time\n")
    with pytest.raises(CapacityError, match=r"mosdepth/S1.tsv: no benchmark row.*rerun its job"):
        measure_run(run)
    (run / "benchmarks" / "mosdepth" / "S1.tsv").write_text("wall\n1\n")
    with pytest.raises(CapacityError, match="columns s, cpu_time, max_rss missing"):
        measure_run(run)
    empty = tmp_path / "e"
    (empty / "benchmarks").mkdir(parents=True)
    with pytest.raises(CapacityError, match="no fastp report"):
        measure_run(empty)


def test_read_benchmark_averages_repeats(tmp_path: Path) -> None:
    path = tmp_path / "b.tsv"
    path.write_text(HEADER + "2\t-\t10\t1\t1\t1\t0\t0\t1\t1.0\n4\t-\tNA\t1\t1\t1\t0\t0\t1\t3.0\n")
    assert read_benchmark(path) == (2.0, 3.0, 10.0)


def test_a_jobs_cpu_is_bounded_by_its_wall_time_and_threads(runs: list[Path]) -> None:
    """A local run's `run:` job is benchmarked as the whole Snakemake process (its CPU since
    it started): bounded by wall x threads; real measurements stay as they are."""
    assert job_cpu_s("versions", 19.8, 0.01) == pytest.approx(0.01)
    assert job_cpu_s("align_bwa", 300.0, 60.0) == 300.0  # 8 threads: 480 s allowed
    assert job_cpu_s("align_bwa", 600.0, 60.0) == 480.0
    assert job_cpu_s("a_rule_not_in_rules", 19.8, 0.01) == 19.8  # unknown threads: as measured
    run = runs[0]
    bench = run / "benchmarks" / "qc_gate" / "S1.tsv"
    bench.write_text(HEADER + "0.01\t0:00:00\t187\t1\t1\t1\t0\t0\t0\t19.8\n")
    job = next(j for j in measure_run(run).jobs if j.path == "benchmarks/qc_gate/S1.tsv")
    assert job.cpu_s == pytest.approx(0.01)


def test_the_packaged_model_is_the_one_resources_and_chunks_use() -> None:
    from helgenom import resources

    model = fitted_model()
    assert model.runs, "the packaged model names the runs it was fitted on"
    assert resources.calling_chunks_auto() == calling_chunks(model)
    report = CapacityReport(model, project(model), Assumptions())
    assert report.core_hours_per_wgs > 0 and report.bytes_per_wgs > 0
