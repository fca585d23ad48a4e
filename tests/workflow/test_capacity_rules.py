"""helgenom.capacity.rules.RULES (stage, scatter, threads, estimate of each rule) agrees with
the workflow, so that the capacity projection runs the rules as the workflow does."""

from __future__ import annotations

from typing import Any

import pytest

from helgenom import resources as res
from helgenom.capacity.model import NOT_PER_SAMPLE
from helgenom.capacity.rules import RULES, STAGES
from workflow_helpers import load_workflow_rules, write_demo_run


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run_dir = write_demo_run(tmp_path_factory.mktemp("capacity"))
    return {rule.name: rule for rule in load_workflow_rules(run_dir)}


def _kind(rule: Any) -> str:
    value = rule.resources["mem_mb"]
    return getattr(value, "_evaluator", value).kind


def test_every_benchmarked_rule_of_a_sample_is_known(rules: dict[str, Any]) -> None:
    benchmarked = {
        name
        for name, rule in rules.items()
        if rule.benchmark
        and not name.startswith(("reference_", "genome_chunks"))
        and not name.startswith(NOT_PER_SAMPLE)
    }
    assert benchmarked - set(RULES) == set(), "add these rules to helgenom.capacity.rules.RULES"
    assert set(RULES) - set(rules) == set(), "RULES names rules the workflow does not have"


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_info_matches_the_workflow(rules: dict[str, Any], name: str) -> None:
    info, rule = RULES[name], rules[name]
    assert info.stage in STAGES
    assert rule.resources["_cores"] == info.threads
    kind = _kind(rule)
    # every calling mode's estimate is "call" scaled (helgenom.resources.call_kind)
    assert (kind.split(":")[0] if kind.startswith("call") else kind) == info.estimate
    assert info.estimate in res.ESTIMATES
    wildcards = set(rule.wildcard_names)
    expected = {"unit": {"sample", "unit"}, "chunk": {"sample", "chunk"}, "sample": {"sample"}}
    if info.scatter == "run":
        assert "sample" not in wildcards
    else:
        assert expected[info.scatter] <= wildcards
