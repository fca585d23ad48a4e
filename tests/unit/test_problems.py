"""helgenom.problems.ProblemsError: one exception type for "a list of problems, each with
file:line and fix", and the named errors built on it."""

from __future__ import annotations

import pickle

import pytest

from helgenom.problems import ProblemsError
from helgenom.report.panels import PanelError


class SheetError(ProblemsError):
    subject = "the example sheet"


def test_message_counts_and_lists_every_problem() -> None:
    error = SheetError(["a.tsv:2: bad. Fix: good", "a.tsv:5: worse. Fix: better"])
    assert str(error) == (
        "2 problem(s) in the example sheet:\n"
        "  - a.tsv:2: bad. Fix: good\n"
        "  - a.tsv:5: worse. Fix: better"
    )
    assert error.problems == ["a.tsv:2: bad. Fix: good", "a.tsv:5: worse. Fix: better"]


def test_problems_are_kept_as_given_and_shown_by_str() -> None:
    class Where:
        def __str__(self) -> str:
            return "x.yaml:3: column 'id': empty. Fix: give one"

    problem = Where()
    error = SheetError(iter([problem]))  # any iterable, read once
    assert error.problems == [problem]
    assert str(error) == "1 problem(s) in the example sheet:\n  - " + str(problem)


def test_base_subject_and_value_error() -> None:
    error = ProblemsError(["p"])
    assert isinstance(error, ValueError)
    assert str(error) == "1 problem(s) in the input:\n  - p"
    with pytest.raises(ValueError, match=r"^1 problem\(s\) in the input:"):
        raise error


def test_named_errors_keep_their_message() -> None:
    from helgenom.qc.overrides import OverrideError

    assert issubclass(PanelError, ProblemsError) and issubclass(OverrideError, ProblemsError)
    assert str(PanelError(["p.bed:1: x"])) == "1 problem(s) in the gene panels:\n  - p.bed:1: x"
    assert str(OverrideError(["o.tsv:2: y", "o.tsv:3: z"])) == (
        "2 problem(s) in the QC overrides file:\n  - o.tsv:2: y\n  - o.tsv:3: z"
    )


def test_pickles_with_its_problems() -> None:
    error = pickle.loads(pickle.dumps(PanelError(["p.bed:1: x", "p.bed:2: y"])))
    assert type(error) is PanelError
    assert error.problems == ["p.bed:1: x", "p.bed:2: y"]
    assert str(error) == "2 problem(s) in the gene panels:\n  - p.bed:1: x\n  - p.bed:2: y"
