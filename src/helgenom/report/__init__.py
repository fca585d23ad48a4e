"""The clinical report per sample: the model (report.json) and its HTML, PDF and FHIR renderings.

* `model`: builds and validates report.json (src/helgenom/schemas/report.schema.json), the single
  source of truth, from the QC gate, the panel coverage and the panel variants;
* `render`: the self-contained HTML and the PDF (WeasyPrint);
* `fhir`: the HL7 FHIR R4 Genomics Reporting bundle (validated with fhir.resources R4B);
* `panels`, `coverage`, `variants`: gene panels, their coverage (mosdepth) and variants.
"""

from __future__ import annotations

from pathlib import Path

from helgenom.report.model import (
    CATEGORIES,
    FOR_INTERPRETATION,
    NO_FINDINGS,
    QC_FAILURE,
    build_report,
    read_report,
    validate_report,
    write_report,
)

__all__ = [
    "CATEGORIES",
    "FOR_INTERPRETATION",
    "NO_FINDINGS",
    "QC_FAILURE",
    "build_report",
    "read_report",
    "render_all",
    "validate_report",
    "write_report",
]


def render_all(
    report_json: str | Path, html: str | Path, pdf: str | Path, fhir: str | Path
) -> None:
    """The three renderings of a report.json: HTML, PDF (from the HTML) and the FHIR bundle
    (with the PDF as the DiagnosticReport's presentedForm)."""
    from helgenom.report.fhir import build_bundle, write_bundle
    from helgenom.report.render import write_html, write_pdf

    report = read_report(report_json)
    text = write_html(report, html)
    write_pdf(
        text,
        pdf,
        title=f"Genomic analysis report {report['sample']['sample_id']}",
        identifier=report["report_id"],
    )
    write_bundle(build_bundle(report, pdf), fhir)
