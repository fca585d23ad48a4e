"""Tool versions: how to ask each tool, how to parse the answer, and the pinned conda envs.

The same table serves three purposes: the `versions` rules record what each run used
(nf-core style), the tests check that every `envs/*.yaml` pin matches the tool installed
locally (Debian), and reports quote the versions.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from helgenom.paths import workflow_dir

ENVS_DIR = workflow_dir() / "envs"


@dataclass(frozen=True)
class Tool:
    name: str  # the command
    package: str  # the conda package that provides it
    command: str  # shell command that prints the version (to stdout or stderr)
    pattern: str  # regex with one group: the version


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("bwa", "bwa", "bwa", r"Version:\s*(\d+\.\d+\.\d+)"),
        Tool("minimap2", "minimap2", "minimap2 --version", r"^(\d+\.\d+)"),
        Tool("samtools", "samtools", "samtools --version", r"^samtools (\d+\.\d+(?:\.\d+)?)"),
        Tool("bcftools", "bcftools", "bcftools --version", r"^bcftools (\d+\.\d+(?:\.\d+)?)"),
        Tool("tabix", "htslib", "tabix --version", r"^tabix \(htslib\) (\d+\.\d+(?:\.\d+)?)"),
        Tool("bgzip", "htslib", "bgzip --version", r"^bgzip \(htslib\) (\d+\.\d+(?:\.\d+)?)"),
        Tool("fastp", "fastp", "fastp --version", r"fastp (\d+\.\d+\.\d+)"),
        Tool("mosdepth", "mosdepth", "mosdepth --version", r"mosdepth (\d+\.\d+\.\d+)"),
        Tool("freebayes", "freebayes", "freebayes --version", r"version:\s*v?(\d+\.\d+\.\d+)"),
        Tool("delly", "delly", "delly --version", r"Delly version: v?(\d+\.\d+\.\d+)"),
        Tool("tiddit", "tiddit", "tiddit --version", r"tiddit-(\d+\.\d+\.\d+)"),
        Tool("survivor", "survivor", "SURVIVOR", r"^Version: (\d+\.\d+\.\d+)"),
        # Debian installs the command as `cnvkit`, bioconda as `cnvkit.py`.
        Tool(
            "cnvkit",
            "cnvkit",
            "$(command -v cnvkit.py || echo cnvkit) version",
            r"(?m)^(\d+\.\d+\.\d+)\s*$",
        ),
        Tool(
            "multiqc",
            "multiqc",
            "multiqc --version",
            r'(?:version |"config_version": ")(\d+\.\d+(?:\.\d+)?)',
        ),
    )
}


def parse_version(tool: str, text: str) -> str | None:
    match = re.search(TOOLS[tool].pattern, text, re.MULTILINE)
    return match.group(1) if match else None


def local_version(tool: str) -> str | None:
    """Version of `tool` as installed on this machine (None if it is missing)."""
    try:
        proc = subprocess.run(
            TOOLS[tool].command,
            shell=True,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(tool, proc.stdout + proc.stderr)


def env_pins(env_file: str | Path) -> dict[str, str]:
    """{package: version} pinned in a conda env file ("bioconda::bwa=0.7.17" -> bwa: 0.7.17)."""
    with Path(env_file).open() as handle:
        env = yaml.safe_load(handle)
    pins: dict[str, str] = {}
    for dep in env.get("dependencies", []):
        if not isinstance(dep, str):
            continue
        spec = dep.split("::", 1)[-1]
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==?\s*([0-9][A-Za-z0-9_.]*)", spec.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def tools_in_command(command: str) -> set[str]:
    """Names of known tools that a shell command invokes."""
    found = set()
    for tool in TOOLS:
        if re.search(rf"(?:^|[\s|;&(]){re.escape(tool)}(?=\s|$)", command):
            found.add(tool)
    return found


def write_versions(raw_outputs: Mapping[str, str | Path], out: str | Path) -> dict[str, str]:
    """Parse the captured version outputs {tool: file} into one YAML file {tool: version}."""
    versions: dict[str, str] = {}
    for tool, path in sorted(raw_outputs.items()):
        text = Path(path).read_text(errors="replace")
        version = parse_version(tool, text)
        if version is None:
            raise ValueError(f"{path}: cannot find the version of {tool} in {text[:200]!r}")
        versions[tool] = version
    Path(out).write_text(yaml.safe_dump(versions, sort_keys=True))
    return versions
