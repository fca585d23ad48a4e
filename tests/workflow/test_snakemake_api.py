"""helgenom.snakemake_api against the installed Snakemake: every private attribute it uses
exists, and looking into a small workflow through it works. After a Snakemake upgrade that
renames one of them, these tests fail here, naming the attribute."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from helgenom import snakemake_api
from helgenom.snakemake_api import (
    PRIVATE,
    SnakemakeApiError,
    check_prepare_dag,
    missing_message,
    open_workflow,
)

SNAKEFILE = """\
SAMPLES = ["A", "B"]

rule all:
    input: expand("results/{sample}.txt", sample=SAMPLES), "results/all.txt"

rule per_sample:
    output: "results/{sample}.txt"
    shell: "echo {wildcards.sample} > {output}"

rule shared:
    output: "results/all.txt"
    shell: "touch {output}"
"""


@pytest.mark.parametrize(
    ("module", "owner", "attribute"), PRIVATE, ids=[f"{o}.{a}" for _, o, a in PRIVATE]
)
def test_private_attribute_exists(module: str, owner: str, attribute: str) -> None:
    cls = getattr(importlib.import_module(module), owner, None)
    assert cls is not None, missing_message(f"{module}.{owner}", "(the class itself)")
    assert hasattr(cls, attribute), missing_message(owner, attribute)


def test_prepare_dag_takes_the_arguments_given() -> None:
    from snakemake.workflow import Workflow

    check_prepare_dag(Workflow._prepare_dag)


def test_a_missing_attribute_is_named() -> None:
    with pytest.raises(SnakemakeApiError, match=r"has no object\._workflow: helgenom uses it"):
        snakemake_api._get(object(), "_workflow")

    def prepare(forceall: bool) -> None: ...

    with pytest.raises(SnakemakeApiError, match=r"Workflow\._prepare_dag\.ignore_incomplete"):
        check_prepare_dag(prepare)


@pytest.fixture
def small_workflow(tmp_path: Path) -> Path:
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "A.txt").write_text("A\n")  # A's job is done, B's to do
    return tmp_path


def test_a_loaded_workflow_is_looked_into(small_workflow: Path) -> None:
    """Every path of the adapter, on a workflow of its own: rules, globals, the DAG with
    the jobs per sample, and which files are outputs."""
    with open_workflow(small_workflow / "Snakefile", small_workflow, cores=1) as workflow:
        assert {rule.name for rule in workflow.rules} == {"all", "per_sample", "shared"}
        assert workflow.globals["SAMPLES"] == ["A", "B"]
        graph = workflow.dag()
        jobs = {sample: needs_run for sample, _job, needs_run in graph.sample_jobs("sample")}
        assert jobs == {"A": False, "B": True}
        assert len(list(graph.dag.needrun_jobs())) == 3  # B, the shared job and `all`
        is_output = workflow.output_matcher()
    assert is_output("results/C.txt") and is_output("results/all.txt")
    assert not is_output("logs/per_sample/A.log")
    assert not (small_workflow / "results" / "B.txt").exists()  # looked at, not run
