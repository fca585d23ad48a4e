"""The parallel test run keeps a module's tests on one worker (scripts/test.sh: pytest-xdist,
--dist loadgroup, groups from tests/conftest.py). If the groups were silently ignored (as with
pytest-xdist 3.8 under pytest 9), module fixtures such as pipeline runs would run once per
worker, and the tests of one Slurm cluster would run at the same time and see each other's
jobs: this test fails first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from workflow_helpers import REPO


def test_each_module_runs_on_one_worker(tmp_path: Path) -> None:
    tests = tmp_path / "tests" / "unit"
    tests.mkdir(parents=True)
    # The real tier hook, in a tree of its own.
    (tmp_path / "tests" / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    for name in ("a", "b", "c"):
        body = "".join(f"def test_{i}():\n    pass\n\n\n" for i in range(6))
        (tests / f"test_{name}.py").write_text(body)
    (tests / "test_shared.py").write_text(
        'XDIST_GROUP = "one-cluster"\n\n\n' + "def test_s():\n    pass\n"
    )
    (tests / "test_shared_too.py").write_text(
        'XDIST_GROUP = "one-cluster"\n\n\n' + "def test_t():\n    pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "3",
         "--dist", "loadgroup", "-v", "--rootdir", str(tmp_path), "-c", "/dev/null",
         "--import-mode=importlib", "-o", f"pythonpath={REPO / 'tests'}", str(tmp_path / "tests")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    workers: dict[str, set[str]] = {}
    for worker, nodeid in re.findall(r"\[(gw\d+)\].*PASSED (\S+)", proc.stdout):
        group = nodeid.rpartition("@")[2]
        assert "@" in nodeid, f"no xdist group on {nodeid}: the groups are ignored"
        workers.setdefault(group, set()).add(worker)
    assert len(workers) == 4, workers  # three modules and the shared group
    assert all(len(w) == 1 for w in workers.values()), workers
