"""Gene panels: the catalogue (indication -> panel) and the panels' BED files.

A panel is a BED file of gene intervals (contig, 0-based start, end, gene symbol[, region
label]) with an id, a name, a version and the indications it serves. The catalogue is a YAML
file (helgenom's package data `panels/panels.yaml` unless config `report.panels` names
another). Problems are reported with file and line and the fix, before any job runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helgenom.paths import package_path
from helgenom.problems import ProblemsError

DEFAULT_CATALOGUE = package_path("panels", "panels.yaml")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_GENE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


class PanelError(ProblemsError):
    """The panel catalogue or a panel BED is invalid; lists every problem with file:line."""

    subject = "the gene panels"


@dataclass(frozen=True)
class PanelInterval:
    contig: str
    start: int  # 0-based, half-open
    end: int
    gene: str
    label: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Panel:
    id: str
    name: str
    version: str
    bed: Path
    indications: tuple[str, ...]

    def intervals(self, contig_lengths: Mapping[str, int] | None = None) -> list[PanelInterval]:
        return read_panel_bed(self.bed, contig_lengths)

    def genes(self) -> list[str]:
        return list(dict.fromkeys(i.gene for i in self.intervals()))

    def checksum(self) -> str:
        return hashlib.sha256(self.bed.read_bytes()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "bed": self.bed.name,
            "bed_sha256": self.checksum(),
        }


def normalise_indication(text: str) -> str:
    return " ".join(text.split()).casefold()


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def load_catalogue(path: str | Path | None = None) -> list[Panel]:
    """The panels of a catalogue file; PanelError lists every problem with file:line."""
    path = Path(path) if path is not None else DEFAULT_CATALOGUE
    try:
        text = path.read_text()
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise PanelError([f"{path}: cannot be read as YAML ({error})"]) from error
    if not isinstance(data, dict) or not isinstance(data.get("panels"), list):
        raise PanelError([f"{path}:1: the catalogue needs a top-level list 'panels'"])
    nodes = {key.value: value for key, value in root.value if isinstance(root, yaml.MappingNode)}[
        "panels"
    ].value
    problems: list[str] = []
    panels: list[Panel] = []
    seen_ids: dict[str, int] = {}
    seen_indications: dict[str, str] = {}
    for index, (entry, node) in enumerate(zip(data["panels"], nodes, strict=True)):
        where = f"{path}:{_line_of(node)}: panels[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: a panel is a mapping (id, name, version, bed, indications)")
            continue
        missing = [k for k in ("id", "name", "version", "bed", "indications") if k not in entry]
        extra = sorted(set(entry) - {"id", "name", "version", "bed", "indications"})
        if missing:
            problems.append(f"{where}: missing key(s) {', '.join(missing)}. Fix: add them.")
            continue
        if extra:
            problems.append(
                f"{where}: unexpected key(s) {', '.join(extra)}. Fix: allowed are id, name, "
                "version, bed, indications."
            )
        panel_id = str(entry["id"])
        if not _ID.fullmatch(panel_id):
            problems.append(f"{where}: id {panel_id!r}: use letters, digits, '.', '_', '-'.")
        if panel_id in seen_ids:
            problems.append(f"{where}: id {panel_id!r} is also used on line {seen_ids[panel_id]}.")
        seen_ids.setdefault(panel_id, _line_of(node))
        indications = entry["indications"]
        if not isinstance(indications, list) or not all(
            isinstance(i, str) and i.strip() for i in indications
        ):
            problems.append(f"{where}: indications must be a list of non-empty texts.")
            continue
        for text in indications:
            key = normalise_indication(text)
            if key in seen_indications and seen_indications[key] != panel_id:
                problems.append(
                    f"{where}: indication {text!r} is already served by panel "
                    f"{seen_indications[key]!r}. Fix: map each indication to one panel."
                )
            seen_indications.setdefault(key, panel_id)
        bed = (path.parent / str(entry["bed"])).resolve()
        if not bed.is_file():
            problems.append(f"{where}: bed file {bed} does not exist.")
            continue
        panel = Panel(panel_id, str(entry["name"]), str(entry["version"]), bed, tuple(indications))
        try:
            panel.intervals()
        except PanelError as error:
            problems += error.problems
        panels.append(panel)
    if problems:
        raise PanelError(problems)
    return panels


def read_panel_bed(
    path: str | Path, contig_lengths: Mapping[str, int] | None = None
) -> list[PanelInterval]:
    """A panel BED (contig, start, end, gene[, label]); PanelError with file:line."""
    path = Path(path)
    out: list[PanelInterval] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) < 4 or not (fields[1].isdigit() and fields[2].isdigit()):
            problems.append(
                f"{where}: not 'contig<TAB>start<TAB>end<TAB>gene'. Fix: tab-separated, 0-based "
                "start, end, gene symbol."
            )
            continue
        contig, start, end, gene = fields[0], int(fields[1]), int(fields[2]), fields[3].strip()
        label = fields[4].strip() if len(fields) > 4 else ""
        if start >= end:
            problems.append(f"{where}: start {start} is not below end {end}.")
        if not _GENE.fullmatch(gene):
            problems.append(f"{where}: gene {gene!r} is not a gene symbol.")
        if contig_lengths is not None:
            if contig not in contig_lengths:
                problems.append(
                    f"{where}: contig {contig!r} is not in the reference. Fix: the panel must be "
                    "on the run's reference build (same contig names)."
                )
            elif end > contig_lengths[contig]:
                problems.append(
                    f"{where}: end {end} is beyond the end of {contig} ({contig_lengths[contig]} "
                    "bp). Fix: the panel must be on the run's reference build."
                )
        out.append(PanelInterval(contig, start, end, gene, label))
    if not out and not problems:
        problems.append(f"{path}: the panel holds no interval.")
    if problems:
        raise PanelError(problems)
    return out


def panel_for(indication: str, panels: Sequence[Panel]) -> Panel | None:
    key = normalise_indication(indication)
    for panel in panels:
        if key in {normalise_indication(i) for i in panel.indications}:
            return panel
    return None


def _fai_lengths(fasta: str | Path) -> dict[str, int] | None:
    fai = Path(f"{fasta}.fai")
    if not fai.is_file():
        return None
    lengths = {}
    for line in fai.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[1].isdigit():
            lengths[fields[0]] = int(fields[1])
    return lengths


def assign_panels(
    config: Mapping[str, Any], samples: Mapping[str, Any]
) -> tuple[dict[str, Panel], list[str]]:
    """{sample_id: panel} for the samples whose indication has a panel, and a warning for each
    sample without one. Panel contigs are checked against the reference's .fai when it exists.
    Raises PanelError on a bad catalogue or panel."""
    report = config.get("report", {})
    catalogue = report.get("panels") or DEFAULT_CATALOGUE
    panels = load_catalogue(catalogue)
    lengths = _fai_lengths(config["reference"]["fasta"])
    assigned: dict[str, Panel] = {}
    warnings = []
    checked: set[str] = set()
    problems: list[str] = []
    for sample_id, sample in samples.items():
        panel = panel_for(sample.indication, panels)
        if panel is None:
            warnings.append(
                f"sample {sample_id}: no gene panel in {catalogue} serves its indication, so it "
                "gets QC but no clinical report. Fix: add the indication to a panel's "
                "'indications' (or correct the indication in the sample sheet)."
            )
            continue
        if lengths is not None and panel.id not in checked:
            checked.add(panel.id)
            try:
                panel.intervals(lengths)
            except PanelError as error:
                problems += error.problems
        assigned[sample_id] = panel
    if problems:
        raise PanelError(problems)
    return assigned, warnings


def panel_ids(assigned: Mapping[str, Panel]) -> Collection[str]:
    return sorted({p.id for p in assigned.values()})
