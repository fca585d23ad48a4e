"""HTML and PDF renderings of a report (report.json is their only input).

The HTML is self-contained (inline CSS, no scripts, images or web fonts) so it can be stored
in a patient record as one file; the PDF is the same document laid out by WeasyPrint (A4,
page numbers and the sample ID on every page).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from helgenom.family import INHERITANCE_LABELS
from helgenom.paths import package_path

TEMPLATES = package_path("report", "templates")
# Local rules run as threads of the Snakemake process: lay out one PDF at a time (pango and
# fontconfig are not guaranteed thread-safe).
_PDF_LOCK = threading.Lock()


def _dt(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.hour == moment.minute == moment.second == 0 and "T" not in value:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _trunc_seq(seq: str, keep: int = 12) -> str:
    return seq if len(seq) <= keep else f"{seq[:keep]}…({len(seq)} bp)"


def _metric_value(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "x":
        return f"{value:.1f}x"
    return f"{value:.2f}"


def _consequences(items: Sequence[Mapping[str, str]] | None, annotated: bool) -> str:
    if not annotated:
        return "not annotated"
    if not items:
        return "outside annotated transcripts"
    parts = []
    for c in items:
        text = c.get("consequence", "")
        detail = " ".join(x for x in (c.get("transcript"), c.get("protein_change")) if x)
        parts.append(f"{text} ({detail})" if detail else text)
    return "; ".join(dict.fromkeys(parts))


def render_html(report: Mapping[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        dt=_dt,
        slug=_slug,
        sentence=_sentence,
        trunc_seq=_trunc_seq,
        metric_value=_metric_value,
        consequences=_consequences,
    )
    css = (TEMPLATES / "report.css").read_text()
    return env.get_template("report.html.j2").render(
        r=report, css=css, inheritance_labels=INHERITANCE_LABELS
    )


def write_html(report: Mapping[str, Any], out: str | Path) -> str:
    html = render_html(report)
    Path(out).write_text(html, encoding="utf-8")
    return html


def write_pdf(html: str, out: str | Path, *, title: str = "", identifier: str = "") -> None:
    """Lay out `html` as a PDF (WeasyPrint; fonts from the system via pango/fontconfig)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with _PDF_LOCK:
        document = HTML(string=html, base_url=str(TEMPLATES)).render()
        document.metadata.title = title or document.metadata.title
        if identifier:
            document.metadata.keywords = [identifier]
        document.metadata.generator = "helgenom"
        document.write_pdf(str(out))
