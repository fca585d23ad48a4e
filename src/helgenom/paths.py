"""Where helgenom's own files are: package data and the workflow.

Package data (schemas, gene panels, report templates, the gVCF gap filler) ships inside the
`helgenom` package and is found with importlib.resources, wherever the package is installed.

The workflow (Snakefile, workflow/rules, profiles/, envs/, config.yaml, resources/: the demo's
thresholds) is found in this order:
1. `HELGENOM_WORKFLOW_DIR`, when set (an operator's own copy of the workflow);
2. the copy a wheel carries (`helgenom/_workflow`, written by setup.py at build time);
3. the source checkout an editable install points into (the folder holding `Snakefile`).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

WORKFLOW_ENV = "HELGENOM_WORKFLOW_DIR"
# What a workflow folder holds (setup.py copies exactly these into the wheel).
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "profiles", "envs", "resources")


def package_path(*parts: str) -> Path:
    """A file or folder of helgenom's package data as a file-system path."""
    resource = files("helgenom").joinpath(*parts)
    if not isinstance(resource, Path):  # a zip import: the tools need real files
        raise RuntimeError(f"helgenom must be installed as files, not zipped: {resource}")
    return resource


def workflow_dir() -> Path:
    """The folder holding the Snakefile, rules, profiles, envs and default config.yaml."""
    if override := os.environ.get(WORKFLOW_ENV):
        where = Path(override).resolve()
        if not (where / "Snakefile").is_file():
            raise FileNotFoundError(f"{WORKFLOW_ENV}={override}: no Snakefile there")
        return where
    packaged = package_path("_workflow")
    if (packaged / "Snakefile").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2]  # src/helgenom/paths.py -> the checkout
    if (checkout / "Snakefile").is_file():
        return checkout
    raise FileNotFoundError(
        "helgenom: the workflow (Snakefile) is neither packaged nor in a checkout: set "
        f"{WORKFLOW_ENV} to a helgenom checkout"
    )
