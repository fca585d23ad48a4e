"""The one adapter to Snakemake's private API: loading a workflow to look at it, not run it.

Snakemake's public API (snakemake.api) loads and runs workflows; looking into a loaded one —
its rules, the DAG of jobs with what still has to run, the globals its Snakefile defined —
takes attributes Snakemake does not promise to keep (WorkflowApi._workflow,
Workflow._prepare_dag, Workflow._build_dag, ...). They are used here only, and PRIVATE lists
every one: tests/workflow/test_snakemake_api.py checks each against the installed Snakemake,
so an upgrade that renames one fails there, naming it, and not deep inside `helgenom status`.
When one is missing at run time, SnakemakeApiError names it.

Users: helgenom.runs.load_workflow (the helgenom workflow of a run directory), and through it
helgenom.status (jobs done and to do per sample), helgenom.failover (which files are
outputs) and the tests that check the workflow's rules.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The Snakemake the attributes below were checked against (pyproject.toml pins it).
TESTED_SNAKEMAKE = "9.27.1"

# Every attribute of Snakemake's internal classes used here: (module, class, attribute).
PRIVATE: tuple[tuple[str, str, str], ...] = (
    ("snakemake.api", "WorkflowApi", "_workflow"),
    ("snakemake.workflow", "Workflow", "rules"),
    ("snakemake.workflow", "Workflow", "globals"),
    ("snakemake.workflow", "Workflow", "dag"),
    ("snakemake.workflow", "Workflow", "_prepare_dag"),
    ("snakemake.workflow", "Workflow", "_build_dag"),
    ("snakemake.dag", "DAG", "jobs"),
    ("snakemake.dag", "DAG", "needrun_jobs"),
    ("snakemake.jobs", "Job", "wildcards_dict"),
    ("snakemake.rules", "Rule", "output"),
    ("snakemake.io", "_IOFile", "match"),
)
# The keyword arguments given to Workflow._prepare_dag: the DAG is built read-only.
PREPARE_DAG_ARGUMENTS = {"forceall": False, "ignore_incomplete": True, "lock_warn_only": True}


class SnakemakeApiError(RuntimeError):
    """The installed Snakemake lacks an attribute helgenom uses to look into a workflow."""


def snakemake_version() -> str:
    from snakemake import __version__

    return str(__version__)


def missing_message(owner: str, attribute: str, why: str = "") -> str:
    return (
        f"Snakemake {snakemake_version()} has no {owner}.{attribute}{why}: helgenom uses it "
        f"to look into a loaded workflow (helgenom.snakemake_api, written for Snakemake "
        f"{TESTED_SNAKEMAKE}). Adapt helgenom.snakemake_api to this Snakemake, or install "
        f"snakemake=={TESTED_SNAKEMAKE}."
    )


def _get(obj: Any, attribute: str) -> Any:
    """`obj.attribute`, or SnakemakeApiError naming it if the class has no such attribute
    (an AttributeError raised while computing a property passes through unchanged)."""
    owner = type(obj)
    if not hasattr(owner, attribute):
        raise SnakemakeApiError(missing_message(owner.__qualname__, attribute))
    return getattr(obj, attribute)


def check_prepare_dag(prepare_dag: Callable[..., Any]) -> None:
    """SnakemakeApiError unless Workflow._prepare_dag takes PREPARE_DAG_ARGUMENTS."""
    parameters = inspect.signature(prepare_dag).parameters
    for name in PREPARE_DAG_ARGUMENTS:
        if name not in parameters:
            raise SnakemakeApiError(
                missing_message("Workflow._prepare_dag", name, " (keyword argument)")
            )


@dataclass(frozen=True)
class WorkflowDag:
    """A workflow's DAG of jobs, built without running anything."""

    dag: Any  # Snakemake's DAG, as a scheduler plugin is given it

    def sample_jobs(self, wildcard: str = "sample") -> Iterator[tuple[str, Any, bool]]:
        """(value of `wildcard`, job, whether it still has to run) of every job with that
        wildcard; jobs without it (the reference's, MultiQC) are left out."""
        needrun = set(_get(self.dag, "needrun_jobs")())
        for job in _get(self.dag, "jobs"):
            value = _get(job, "wildcards_dict").get(wildcard)
            if value is not None:
                yield value, job, job in needrun


class LoadedWorkflow:
    """A workflow loaded through Snakemake's API (open_workflow), to be looked at."""

    def __init__(self, workflow_api: Any) -> None:
        self._api = workflow_api

    @property
    def _workflow(self) -> Any:
        return _get(self._api, "_workflow")

    @property
    def rules(self) -> list[Any]:
        """The workflow's rules (Snakemake's Rule objects)."""
        return list(_get(self._workflow, "rules"))

    @property
    def globals(self) -> dict[str, Any]:
        """What the Snakefile and its includes defined at module level (SAMPLES, CLOCKS...)."""
        return _get(self._workflow, "globals")

    def dag(self) -> WorkflowDag:
        """The DAG of the workflow's default target, as a dry run would build it, without
        taking the run directory's lock (it may be running) and accepting incomplete files."""
        from snakemake.settings.types import DAGSettings

        self._api.dag(dag_settings=DAGSettings())
        workflow = self._workflow
        prepare = _get(workflow, "_prepare_dag")
        check_prepare_dag(prepare)
        prepare(**PREPARE_DAG_ARGUMENTS)
        _get(workflow, "_build_dag")()
        return WorkflowDag(_get(workflow, "dag"))

    def output_matcher(self) -> Callable[[str], bool]:
        """Whether a path (relative to the working directory) is an output of one of the
        workflow's rules, by Snakemake's own wildcard matching."""
        outputs = [o for rule in self.rules for o in _get(rule, "output")]
        if outputs:
            _get(outputs[0], "match")  # missing: say so now, not in the middle of a failover

        def is_output(path: str) -> bool:
            return any(o.match(path) for o in outputs)

        return is_output


@contextlib.contextmanager
def open_workflow(
    snakefile: Path,
    workdir: Path,
    *,
    configfiles: Sequence[Path] = (),
    config: Mapping[str, Any] | None = None,
    cores: int = 1,
) -> Iterator[LoadedWorkflow]:
    """The workflow of `snakefile`, loaded (not run) with `workdir` as its working directory.

    `configfiles` and `config` are added to the workflow's own as --configfile/--config
    would. While the context is open the process's working directory is `workdir`, so the
    workflow's relative paths resolve there; it is restored on exit. Snakemake's output is
    quiet."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    config_settings = ConfigSettings(config=dict(config or {}), configfiles=list(configfiles))
    with (
        contextlib.chdir(workdir),
        SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api,
    ):
        yield LoadedWorkflow(
            api.workflow(
                resource_settings=ResourceSettings(cores=cores),
                config_settings=config_settings,
                snakefile=snakefile,
                workdir=workdir,
            )
        )
