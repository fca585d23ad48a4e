"""A run's inputs, checked before any job: the one sequence that `helgenom validate` and the
workflow (workflow/rules/common.smk) both run.

1. the configuration: schema, defaults, every problem with its file:line (helgenom.config);
2. the reference FASTA (helgenom.reference.check_fasta);
3. the sample sheet: samples.tsv, units.tsv and their FASTQ files (helgenom.samplesheet), and
   the aligned files of re-analysed units against the run's reference (helgenom.aligned);
4. the validation truth sets, the export, ROH, mitochondrial and SV settings (helgenom.config);
5. the QC threshold set, coverage BED and overrides file (helgenom.qc.gate.check_qc_config);
6. the gene panels of the samples' indications (helgenom.report.panels.assign_panels).

Every check raises a helgenom.problems.ProblemsError (ConfigError, ReferenceError,
SampleSheetError, OverrideError, PanelError) listing all it found; the first stage that fails
ends the check, since a later one reads what an earlier one checked (the samples, the
validated config with its defaults).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helgenom.aligned import AlignedHeader, check_aligned_units
from helgenom.config import (
    check_cnv,
    check_export,
    check_identity,
    check_mito,
    check_roh,
    check_sv,
    check_validation,
    validate_config,
)
from helgenom.family import pedigree
from helgenom.qc.gate import check_qc_config
from helgenom.qc.overrides import Override
from helgenom.reference import check_fasta
from helgenom.report.panels import Panel, assign_panels
from helgenom.samplesheet import Sample, load_samplesheet


@dataclass(frozen=True)
class CheckedRun:
    """What the checks found valid: the run's inputs, ready for the workflow."""

    config: dict[str, Any]  # validated, with the schema's defaults filled in
    samples: dict[str, Sample]  # sample_id -> sample with its units, in sheet order
    qc_overrides: list[Override]  # the operator's QC overrides (qc.overrides), if any
    panels: dict[str, Panel]  # sample_id -> gene panel, for the samples that get a report
    warnings: list[str]  # samples without a gene panel: QC only, no clinical report
    # (sample_id, unit_id) -> the header of the unit's aligned file (re-analysed units only)
    aligned: dict[tuple[str, str], AlignedHeader] = field(default_factory=dict)

    @property
    def unit_count(self) -> int:
        return sum(len(sample.units) for sample in self.samples.values())


def check_run_inputs(
    config: Mapping[str, Any], configfiles: Sequence[str | Path] = ()
) -> CheckedRun:
    """Check a run's inputs in order (see the module's docstring); `config` is the merged
    configuration of `configfiles`, which name the file and line of each config problem.
    Raises the first failing stage's ProblemsError."""
    checked = validate_config(config, configfiles)
    check_fasta(checked["reference"]["fasta"])
    samples = load_samplesheet(checked["samples"], checked["units"])
    aligned = check_aligned_units(checked, samples, checked["units"])
    check_validation(checked, set(samples), configfiles)
    check_export(checked, configfiles)
    check_roh(checked, configfiles)
    family_tree = pedigree(samples)
    check_identity(checked, list(family_tree.families()), configfiles)
    check_mito(checked, configfiles)
    check_sv(checked, configfiles)
    check_cnv(checked, configfiles, {s: family_tree.unrelated(s) for s in samples})
    overrides = check_qc_config(checked, set(samples), configfiles)
    panels, warnings = assign_panels(checked, samples)
    return CheckedRun(checked, samples, overrides, panels, warnings, aligned)
