"""The pipeline installs as a wheel, not only editable from a checkout.

A wheel of helgenom (and of the contract it depends on) is built and installed into a fresh
virtual environment. The third-party dependencies are taken from the test environment's
site-packages (a .pth line: that adds the folder only, so the checkout's editable install is
not seen there), which keeps the test offline and fast; scripts/setup.sh and the closing
notes show `pip install .` with dependencies from the registry. From a folder outside the
checkout, the installed package finds its package data and the workflow it carries, and
Snakemake plans a run with that packaged workflow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from helgenom import paths
from workflow_helpers import REPO

SERVICE_STACK = ("fastapi", "uvicorn", "sqlalchemy", "psycopg")


def _build_wheel(source: Path, dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dest), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh venv with the helgenom and genomedb-contract wheels installed (no editable)."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "wheels"
    for source in (REPO, REPO / "contract"):
        _build_wheel(source, wheels)
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # Third-party packages of the test environment, behind the fresh venv's own.
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", *map(str, sorted(wheels.glob("*.whl")))],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return {"python": python, "site": site, "wheels": wheels, "root": root}


def _run(installed: dict[str, Path], code: str) -> str:
    proc = subprocess.run(
        [str(installed["python"]), "-c", code],
        cwd=installed["root"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_the_wheel_carries_the_workflow_and_package_data(installed: dict[str, Path]) -> None:
    (wheel,) = installed["wheels"].glob("helgenom-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "helgenom/_workflow/Snakefile",
        "helgenom/_workflow/config.yaml",
        "helgenom/_workflow/workflow/rules/common.smk",
        "helgenom/_workflow/profiles/computerome/config.v8+.yaml",
        "helgenom/_workflow/envs/bwa.yaml",
        "helgenom/_workflow/resources/demo/config.yaml",
        "helgenom/schemas/config.schema.yaml",
        "helgenom/panels/panels.yaml",
        "helgenom/report/templates/report.html.j2",
        "helgenom/scripts/gvcf_fill_gaps.awk",
    ):
        assert name in names, name
    assert not any("__pycache__" in name for name in names)
    # Nothing of the genome database service is in the pipeline's wheel or its requirements.
    assert not any(name.startswith("genomedb/") for name in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.split(":", 1)[1].strip().lower()
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert any(r.startswith("genomedb-contract") for r in requires), requires
    assert not [r for r in requires if r.startswith(SERVICE_STACK)], requires


def test_installed_package_finds_its_data_and_workflow(installed: dict[str, Path]) -> None:
    out = _run(
        installed,
        "import helgenom, helgenom.paths as p, helgenom.report.panels as pn, "
        "helgenom.calling as c, helgenom.config as cf\n"
        "print(helgenom.__file__); print(p.workflow_dir()); print(pn.DEFAULT_CATALOGUE)\n"
        "print(c.GAP_FILLER.is_file(), cf.CONFIG_SCHEMA.is_file())",
    )
    module, workflow, catalogue, found = out.splitlines()
    site = str(installed["site"])
    assert module.startswith(site) and workflow.startswith(site), out
    assert Path(workflow) == Path(module).parent / "_workflow"
    assert catalogue.startswith(site) and Path(catalogue).is_file()
    assert found == "True True"


def test_installed_workflow_plans_a_run(installed: dict[str, Path]) -> None:
    """`snakemake -n` with the packaged Snakefile and profile on a small run directory."""
    out = _run(
        installed,
        "import subprocess, sys\n"
        "from pathlib import Path\n"
        "from helgenom.demo import generate_demo\n"
        "from helgenom.runs import snakemake_command\n"
        "from helgenom.testing import write_run_dir\n"
        "data = generate_demo(Path('demo').resolve(), genome_length=40_000, coverage=2)\n"
        "fq = data.outdir / 'fastq'\n"
        "write_run_dir(Path('run').resolve(), samples=[{'sample_id': 'S1', 'sex': 'female', "
        "'priority': 'routine', 'indication': 'x'}], units=[{'sample_id': 'S1', "
        "'unit_id': 'FC1.1', 'platform': 'ILLUMINA', 'library': 'L1', "
        "'fq1': str(fq / 'DEMO001_HDEMOXX1.1_R1.fastq.gz'), "
        "'fq2': str(fq / 'DEMO001_HDEMOXX1.1_R2.fastq.gz')}], "
        "reference=data.reference, build='demo')\n"
        "cmd = snakemake_command(Path('run').resolve(), '-n', '--quiet', 'rules')\n"
        "print(cmd[cmd.index('--snakefile') + 1])\n"
        "proc = subprocess.run(cmd, capture_output=True, text=True)\n"
        "print(proc.returncode); print(proc.stdout + proc.stderr)",
    )
    snakefile, code, log = out.split("\n", 2)
    assert snakefile.startswith(str(installed["site"])), snakefile
    assert code == "0", log[-3000:]
    for rule in ("align_bwa", "markdup_cram", "call_chunk", "qc_gate"):
        assert rule in log, log[-3000:]


def test_setup_copies_the_files_paths_names() -> None:
    """setup.py (which cannot import the package it builds) lists the same workflow files."""
    tree = ast.parse((REPO / "setup.py").read_text())
    listed = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "WORKFLOW_FILES" for t in node.targets)
    )
    assert tuple(listed) == paths.WORKFLOW_FILES
