"""Static checks of the workflow's rules: logs, benchmarks, resources, pinned tool envs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helgenom.demo import generate_demo
from helgenom.versions import TOOLS, env_pins, local_version, tools_in_command
from workflow_helpers import REPO, load_workflow_rules, write_run_dir

ENVS = sorted((REPO / "envs").glob("*.yaml"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("rules")
    data = generate_demo(run_dir / "demo", genome_length=40_000, coverage=2)
    truth = {"truth_vcf": str(data.truth["DEMO001"]), "confident_bed": str(data.confident_bed)}
    write_run_dir(
        run_dir,
        samples=[{"sample_id": "S1", "sex": "female", "priority": "routine", "indication": "x"}],
        units=[
            {
                "sample_id": "S1",
                "unit_id": "FC1.1",
                "fq1": str(data.outdir / "fastq" / "DEMO001_HDEMOXX1.1_R1.fastq.gz"),
                "fq2": str(data.outdir / "fastq" / "DEMO001_HDEMOXX1.1_R2.fastq.gz"),
                "platform": "ILLUMINA",
                "library": "L1",
            }
        ],
        reference=data.reference,
        build="demo",
        # A validation run, so the validation rules are defined and checked too.
        extra_config={"validation": {"S1": truth}},
    )
    return run_dir


@pytest.fixture(scope="module")
def rules(run_dir: Path) -> list[Any]:
    return [r for r in load_workflow_rules(run_dir) if r.name != "all"]


def _env_path(rule: Any) -> Path:
    return (Path(rule.snakefile).parent / rule.conda_env).resolve()


def test_every_rule_has_log_benchmark_threads_and_resources(rules: list[Any]) -> None:
    assert len(rules) >= 15
    for rule in rules:
        assert rule.log, f"rule {rule.name} has no log:"
        assert rule.benchmark, f"rule {rule.name} has no benchmark:"
        assert "mem_mb" in rule.resources, f"rule {rule.name} declares no mem_mb"
        assert "runtime" in rule.resources, f"rule {rule.name} declares no runtime"
        assert rule.resources["_cores"] is not None


def test_every_shell_rule_names_an_existing_env(rules: list[Any]) -> None:
    shell_rules = [r for r in rules if r.shellcmd]
    assert shell_rules
    for rule in shell_rules:
        assert rule.conda_env, f"rule {rule.name} runs a tool but names no conda env"
        if callable(rule.conda_env):
            continue  # tool_version: checked in test_tool_version_envs
        assert _env_path(rule).exists(), f"{rule.name}: {rule.conda_env} does not exist"


def test_tools_in_shell_commands_are_pinned_in_the_rules_env(rules: list[Any]) -> None:
    for rule in rules:
        if not rule.shellcmd or callable(rule.conda_env):
            continue
        pins = env_pins(_env_path(rule))
        for tool in tools_in_command(rule.shellcmd):
            package = TOOLS[tool].package
            assert package in pins, f"rule {rule.name} runs {tool} but {rule.conda_env} lacks it"


def test_tool_version_envs(repo: Path) -> None:
    import re

    text = (repo / "workflow" / "rules" / "common.smk").read_text()
    table = dict(re.findall(r'"(\w+)": "(\w+)",', text.split("TOOL_ENVS = {")[1].split("}")[0]))
    for tool, env in table.items():
        pins = env_pins(repo / "envs" / f"{env}.yaml")
        assert TOOLS[tool].package in pins, f"envs/{env}.yaml does not pin {tool}"


def test_intermediates_are_temporary(rules: list[Any]) -> None:
    by_name = {r.name: r for r in rules}
    for name in ("fastp", "align_bwa", "align_minimap2", "call_chunk", "validation_normalise"):
        rule = by_name[name]
        outputs = [o for o in rule.output if not str(o).endswith((".json", ".html"))]
        assert outputs and all(o.is_temp for o in outputs), f"{name} keeps intermediates"


@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.name)
def test_env_pins_match_local_tools(env_file: Path) -> None:
    pins = env_pins(env_file)
    assert pins, f"{env_file.name} pins nothing"
    for package, version in pins.items():
        tools = [t for t in TOOLS.values() if t.package == package]
        assert tools, f"{env_file.name}: no version check known for {package}"
        local = local_version(tools[0].name)
        assert local == version, (
            f"{env_file.name} pins {package}={version} but {tools[0].name} here is {local}"
        )


def test_envs_pin_exact_versions() -> None:
    import yaml

    for env_file in ENVS:
        deps = yaml.safe_load(env_file.read_text())["dependencies"]
        assert all("=" in d for d in deps), f"{env_file.name}: unpinned dependency"


def test_validation_rules_are_defined(rules: list[Any]) -> None:
    names = {r.name for r in rules}
    assert {"validation_normalise", "validation_compare", "validation_summary"} <= names


@pytest.mark.parametrize(
    ("mode", "env"),
    [("bcftools", "bcftools.yaml"), ("freebayes", "freebayes.yaml"),
     ("bcftools+freebayes", "freebayes.yaml")],
)  # fmt: skip
def test_calling_env_follows_the_mode(run_dir: Path, mode: str, env: str) -> None:
    loaded = load_workflow_rules(run_dir, config={"calling": {"mode": mode}})
    call_chunk = next(r for r in loaded if r.name == "call_chunk")
    assert _env_path(call_chunk).name == env
    pins = env_pins(_env_path(call_chunk))
    for tool in tools_in_command(call_chunk.shellcmd):
        assert TOOLS[tool].package in pins, (mode, tool)
