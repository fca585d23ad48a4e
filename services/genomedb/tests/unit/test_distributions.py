"""The three distributions stay apart: the pipeline (helgenom, ./pyproject.toml) and the
genome database (genomedb, services/genomedb) share only the contract (genomedb-contract,
contract/). Read from their pyproject.toml files and sources, nothing is imported."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _checkout() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "contract" / "pyproject.toml").is_file() and (folder / "services").is_dir():
            return folder
    raise AssertionError(f"{__file__} is not inside a checkout holding contract/ and services/")


REPO = _checkout()
PIPELINE = REPO
CONTRACT = REPO / "contract"
SERVICE = REPO / "services" / "genomedb"
# What only the database's side may need: the web service, its server, its catalog.
SERVICE_ONLY = {"fastapi", "uvicorn", "starlette", "sqlalchemy", "psycopg"}
PIPELINE_ONLY = {"helgenom", "snakemake"}


def _project(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ('psycopg[binary]>=3.1' -> psycopg)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[._-]+", "-", match.group()).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_name(r) for r in requirements}


Import = tuple[str, int, list[ast.AST]]


def _imports(tree: ast.AST) -> Iterator[Import]:
    """Each absolute import's top-level module and line, with the nodes enclosing it."""

    def walk(node: ast.AST, parents: list[ast.AST]) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno, parents
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno, parents
        for child in ast.iter_child_nodes(node):
            yield from walk(child, [*parents, node])

    yield from walk(tree, [])


def _modules(folder: Path) -> list[Path]:
    found = sorted(folder.rglob("*.py"))
    assert found, f"no Python modules under {folder}"
    return found


def _imported(folder: Path, names: set[str]) -> list[str]:
    """'path:line: module' for each import of one of `names` under `folder`."""
    hits = []
    for path in _modules(folder):
        tree = ast.parse(path.read_text(), str(path))
        for name, line, _ in _imports(tree):
            if name in names:
                hits.append(f"{path.relative_to(REPO)}:{line}: {name}")
    return hits


def test_the_pipeline_installs_without_the_service() -> None:
    project = _project(PIPELINE)
    runtime = _names(project["dependencies"])
    assert "genomedb-contract" in runtime
    assert not runtime & (SERVICE_ONLY | {"genomedb"}), runtime & (SERVICE_ONLY | {"genomedb"})
    # The service only as an extra: the demo's embedded database, and the tests.
    extras = project.get("optional-dependencies", {})
    assert "genomedb" in _names(extras.get("demo", []))
    assert not any("genomedb" in target for target in project.get("scripts", {}).values())


def test_the_contract_needs_neither_side() -> None:
    project = _project(CONTRACT)
    assert project["name"] == "genomedb-contract"
    runtime = _names(project["dependencies"])
    assert not runtime & (SERVICE_ONLY | PIPELINE_ONLY | {"genomedb"}), runtime
    assert not project.get("optional-dependencies")
    assert _imported(CONTRACT / "src", SERVICE_ONLY | PIPELINE_ONLY | {"genomedb"}) == []


def test_the_service_does_not_depend_on_the_pipeline() -> None:
    project = _project(SERVICE)
    assert project["name"] == "genomedb"
    assert project["scripts"] == {"genomedb": "genomedb.cli:main"}
    runtime = _names(project["dependencies"])
    assert "genomedb-contract" in runtime
    for extra in [project["dependencies"], *project.get("optional-dependencies", {}).values()]:
        assert not _names(extra) & PIPELINE_ONLY, extra
    assert _imported(SERVICE / "src", PIPELINE_ONLY) == []
    assert _imported(SERVICE / "tests", PIPELINE_ONLY) == []


def test_the_pipeline_imports_the_service_only_for_its_demo() -> None:
    """No module of the pipeline imports fastapi & co.; genomedb only in `helgenom demo`'s
    guarded import (a missing genomedb is told, not skipped: see helgenom.cli.demo)."""
    sources = PIPELINE / "src" / "helgenom"
    assert _imported(sources, SERVICE_ONLY) == []
    hits = _imported(sources, {"genomedb"})
    assert [hit.split(":")[0] for hit in hits] == ["src/helgenom/cli/demo.py"], hits
    tree = ast.parse((sources / "cli" / "demo.py").read_text())
    guarded = []
    for name, _, parents in _imports(tree):
        if name != "genomedb":
            continue
        functions = [p.name for p in parents if isinstance(p, ast.FunctionDef)]
        tries = [p for p in parents if isinstance(p, ast.Try)]
        caught = {
            handler.type.id
            for attempt in tries
            for handler in attempt.handlers
            if isinstance(handler.type, ast.Name)
        }
        guarded.append((functions, "ModuleNotFoundError" in caught))
    assert guarded == [(["_demo_database"], True)]


@pytest.mark.parametrize("folder", [CONTRACT, SERVICE], ids=["contract", "service"])
def test_own_version_and_src_layout(folder: Path) -> None:
    """Each distribution has its own version (from its package's __version__)."""
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    attribute = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    package = attribute.removesuffix(".__version__")
    init = (folder / "src" / package / "__init__.py").read_text()
    assert re.search(r'^__version__ = "0\.1\.0"$', init, re.MULTILINE), init
