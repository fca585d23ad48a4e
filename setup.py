"""Build hook: a wheel of helgenom carries the workflow it runs.

`pip install .` (not only `pip install -e .`) gives a working pipeline: the Snakefile, the rule
files, the site profiles, the conda envs and the default config.yaml are copied into the
package as `helgenom/_workflow`, where helgenom.paths.workflow_dir() finds them. An editable
install reads them from the checkout instead, so nothing is copied then.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "workflow",
    "profiles",
    "envs",
    "resources",
)  # paths.py


class BuildWithWorkflow(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "helgenom" / "_workflow"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in WORKFLOW_FILES:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithWorkflow})
