"""A run with a family (samples.tsv family/father/mother): the identity and family rules are
in the DAG and gate the members, and the family is scheduled as its most urgent member."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helgenom.demo import generate_demo
from helgenom.runs import load_workflow
from workflow_helpers import write_run_dir

# (sample, sex, priority, father, mother, demo sample whose reads it gets)
MEMBERS = (
    ("C1", "female", "acute", "F1", "M1", "DEMO001"),
    ("F1", "male", "routine", "", "", "DEMO003"),
    ("M1", "female", "routine", "", "", "DEMO004"),
    ("U1", "male", "routine", "", "", "DEMO002"),
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("family")
    data = generate_demo(run_dir / "demo", genome_length=40_000, coverage=2)
    fastq = data.outdir / "fastq"
    samples, units = [], []
    for sample, sex, priority, father, mother, demo in MEMBERS:
        samples.append(
            {"sample_id": sample, "sex": sex, "priority": priority, "indication": "x",
             "family": "" if sample == "U1" else "FAM1", "father": father, "mother": mother,
             "affected": "affected" if sample == "C1" else ""}
        )  # fmt: skip
        units.append(
            {"sample_id": sample, "unit_id": "FC1.1", "platform": "ILLUMINA",
             "library": f"L-{sample}", "fq1": str(fastq / f"{demo}_HDEMOXX1.1_R1.fastq.gz"),
             "fq2": str(fastq / f"{demo}_HDEMOXX1.1_R2.fastq.gz")}
        )  # fmt: skip
    write_run_dir(run_dir, samples=samples, units=units, reference=data.reference, build="demo")
    return run_dir


@pytest.fixture(scope="module")
def workflow(run_dir: Path) -> Any:
    with load_workflow(run_dir, cores=2) as wf:
        yield wf


def _tags(workflow: Any, rule: str, **wildcards: str) -> dict[str, Any]:
    resources = next(r for r in workflow.rules if r.name == rule).resources
    out = {}
    for tag in ("helgenom_sample", "helgenom_deadline", "helgenom_rank"):
        value = resources[tag]
        out[tag] = getattr(value, "_evaluator", value)(SimpleNamespace(**wildcards))
    return out


def test_parents_are_scheduled_as_their_acute_child(workflow: Any) -> None:
    child = _tags(workflow, "fastp", sample="C1", unit="FC1.1")
    father = _tags(workflow, "fastp", sample="F1", unit="FC1.1")
    other = _tags(workflow, "fastp", sample="U1", unit="FC1.1")
    family = _tags(workflow, "family_vcf", family="FAM1")
    assert child["helgenom_deadline"] == father["helgenom_deadline"] == family["helgenom_deadline"]
    assert child["helgenom_rank"] == father["helgenom_rank"] < other["helgenom_rank"]
    assert other["helgenom_deadline"] > child["helgenom_deadline"]
    assert father["helgenom_sample"] != child["helgenom_sample"]  # each keeps its own index
    assert family["helgenom_sample"] == child["helgenom_sample"]


def test_family_rules_gate_the_members(workflow: Any) -> None:
    """Every member's QC gate reads the family's pedigree check; the unrelated sample's does
    not; the run's relatedness and the family's trio outputs are final outputs."""
    pedigree_of = workflow.globals["pedigree_of"]  # the qc_gate rule's input function
    assert pedigree_of(SimpleNamespace(sample="C1")) == ["results/family/FAM1.pedigree.json"]
    assert pedigree_of(SimpleNamespace(sample="F1")) == ["results/family/FAM1.pedigree.json"]
    assert pedigree_of(SimpleNamespace(sample="U1")) == []
    assert workflow.globals["TRIO_FAMILIES"] == ["FAM1"]
    targets = set(workflow.globals["final_outputs"]())
    assert {"results/identity/relatedness.tsv", "results/family/FAM1.json"} <= targets
