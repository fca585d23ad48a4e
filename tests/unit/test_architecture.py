"""The package's shape: every module imports, the helgenom.* modules import each other
without cycles, package data is found through helgenom.paths (never Path(__file__).parents),
the workflow's .smk files leave sys.path alone, and only helgenom.rundir names the run
directory's state folder (.helgenom/).

Imports inside functions count as well: a cycle broken only by importing late still ties the
two modules together."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import helgenom
from helgenom.paths import workflow_dir

PACKAGE = Path(helgenom.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of the helgenom package: name -> source file."""
    modules = {"helgenom": PACKAGE / "__init__.py"}
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="helgenom."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            modules[info.name] = Path(spec.origin)
    return modules


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str) -> set[str]:
    """The helgenom.* modules `module` imports, wherever in it (functions included)."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            # `from helgenom import failover` imports the module helgenom.failover
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in MODULES and name != module)
    return found


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected part of the graph that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                parts.append(part)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, set(part)) for part in parts]


def _cycle_in(graph: dict[str, set[str]], part: set[str]) -> list[str]:
    """A cycle through the first module (by name) of a strongly connected part."""
    start = min(part)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & part):
            if other == start:
                return [*paths[node], start]
            if other not in paths:
                paths[other] = [*paths[node], other]
                queue.append(other)
    raise AssertionError(f"no cycle through {start}")  # a strongly connected part has one


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_import_cycles() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    cycles = [" -> ".join(cycle) for cycle in find_cycles(graph)]
    assert not cycles, "import cycles among helgenom's modules:\n" + "\n".join(cycles)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def _file_parents(tree: ast.AST) -> Iterator[ast.Attribute]:
    """`<expression with __file__>.parents` / `.parent`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("parents", "parent"):
            names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if "__file__" in names:
                yield node


def test_no_module_climbs_out_of_the_package_but_paths() -> None:
    """Package data is read with importlib.resources (helgenom.paths); only paths.py finds
    the checkout from its own place."""
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for module, path in sorted(MODULES.items())
        if module != "helgenom.paths"
        for node in _file_parents(ast.parse(path.read_text(), str(path)))
    ]
    assert not found, "Path(__file__).parents outside helgenom/paths.py: " + ", ".join(found)


def _workflow_files() -> list[Path]:
    root = workflow_dir()
    files = [root / "Snakefile", *sorted((root / "workflow").rglob("*.smk"))]
    assert len(files) > 5, files
    return files


def _code_lines_with(text: str, files: list[Path]) -> list[str]:
    """file:line of each line of the workflow's files with `text` outside a comment."""
    return [
        f"{path.relative_to(workflow_dir())}:{number}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if text in line.split("#", 1)[0]
    ]


def test_no_smk_file_edits_sys_path() -> None:
    found = _code_lines_with("sys.path", _workflow_files())
    assert not found, "sys.path edited in: " + ", ".join(found)


def test_input_functions_live_in_common_smk() -> None:
    """Every function of wildcards (an input function) is defined in workflow/rules/common.smk,
    so the rule files show only rules (and the helpers of their commands)."""
    found = [
        f"{path.relative_to(workflow_dir())}:{number}"
        for path in _workflow_files()
        if path.name != "common.smk"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"\s*def \w+\(wildcards\b", line)
    ]
    assert not found, "input functions outside common.smk: " + ", ".join(found)


def _docstrings(tree: ast.Module) -> set[int]:
    """id() of the docstring nodes of a module and of its classes and functions."""
    kinds = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    owners: list[ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef] = [tree]
    owners += [node for node in ast.walk(tree) if isinstance(node, kinds)]
    found = set()
    for owner in owners:
        first = owner.body[0] if owner.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def test_only_rundir_names_the_state_folder() -> None:
    """The lease, run.json, the outputs manifest, the process record and the quarantine are
    read and written by helgenom.rundir only: no other module (docstrings aside) and no
    .smk file names a path in .helgenom/."""
    found = _code_lines_with(".helgenom", _workflow_files())
    for module, path in sorted(MODULES.items()):
        if module == "helgenom.rundir":
            continue
        tree = ast.parse(path.read_text(), str(path))
        docstrings = _docstrings(tree)
        found += [
            f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ".helgenom" in node.value
            and id(node) not in docstrings
        ]
    assert not found, ".helgenom/ named outside helgenom.rundir: " + ", ".join(found)
