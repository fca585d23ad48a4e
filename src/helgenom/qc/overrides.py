"""Operator overrides of failing QC metrics: the overrides file (config `qc.overrides`, a TSV
of sample_id, metrics, who, why, when), read and validated with every problem at file:line
and the fix. An override releases a sample despite the failing metric(s) it names; the gate
applies it and the report shows it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helgenom.problems import ProblemsError

# ---- overrides -----------------------------------------------------------------------------
OVERRIDE_COLUMNS = ("sample_id", "metrics", "who", "why", "when")
_WHO = re.compile(r"[A-Za-z][A-Za-z0-9._@-]{1,63}")
_METRIC_SPLIT = re.compile(r"\s*,\s*")


@dataclass(frozen=True)
class Override:
    """An operator's recorded decision to release a sample despite failing metric(s)."""

    sample_id: str
    metrics: tuple[str, ...]
    who: str  # staff user ID / initials (no personal identifier of the patient)
    why: str
    when: str  # ISO 8601 as written
    line: int = field(default=0, compare=False)
    file: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "who": self.who,
            "why": self.why,
            "when": self.when,
            "recorded_in": f"{Path(self.file).name}:{self.line}" if self.file else "",
        }


class OverrideError(ProblemsError):
    """The overrides file is invalid; `problems` lists every problem (file:line: column ...)."""

    subject = "the QC overrides file"


def read_overrides(
    path: str | Path,
    sample_ids: Collection[str],
    metric_ids: Collection[str],
    *,
    now: datetime | None = None,
) -> list[Override]:
    """Read and validate the overrides TSV (sample_id, metrics, who, why, when).

    Every problem is collected (OverrideError) with file, line, column and fix: unknown or
    extra columns, unknown samples or metrics, empty cells, a `who` that is not a staff user
    ID, a too short `why`, a `when` that is not ISO 8601 or lies in the future, the same
    sample and metric twice, and anything that looks like a CPR number (masked, never echoed).
    """
    from helgenom.samplesheet import Problem, looks_like_cpr

    path = Path(path)
    now = now or datetime.now(UTC)
    problems: list[Problem] = []
    cpr_fix = (
        "Overrides must not hold personal identifiers: remove the CPR number; name the sample "
        "by its pseudonymous sample_id and the operator by a staff user ID."
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise OverrideError(
            [Problem(path, None, None, f"cannot be read ({error})", "Give a readable TSV file.")]
        ) from error
    lines = text.splitlines()
    numbered = [
        (n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")
    ]
    if not numbered:
        raise OverrideError(
            [
                Problem(
                    path, None, None, "the file is empty",
                    f"Write a tab-separated header ({', '.join(OVERRIDE_COLUMNS)}) and one row "
                    "per overridden sample.",
                )
            ]
        )  # fmt: skip
    header_line, header_text = numbered[0]
    header = header_text.split("\t")
    if looks_like_cpr(header_text):
        raise OverrideError(
            [Problem(path, header_line, None, "the header holds a CPR-like value", cpr_fix)]
        )
    missing = [c for c in OVERRIDE_COLUMNS if c not in header]
    extra = [c for c in header if c not in OVERRIDE_COLUMNS]
    if missing or extra:
        if missing:
            problems.append(
                Problem(
                    path, header_line, None,
                    f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}",
                    f"Use exactly these tab-separated columns: {', '.join(OVERRIDE_COLUMNS)}.",
                )
            )  # fmt: skip
        if extra:
            problems.append(
                Problem(
                    path, header_line, None,
                    f"unexpected column(s) {', '.join(extra)}",
                    "Remove them: an override records only sample_id, metrics, who, why and "
                    "when (no other, possibly personal, data).",
                )
            )  # fmt: skip
        raise OverrideError(problems)
    seen: dict[tuple[str, str], int] = {}
    overrides = []
    for number, line in numbered[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            problems.append(
                Problem(
                    path, number, None,
                    f"the row has {len(cells)} tab-separated fields but the header has "
                    f"{len(header)}",
                    "Give every row one value per column, separated by single tabs.",
                )
            )  # fmt: skip
            continue
        row = dict(zip(header, cells, strict=True))
        bad = False
        for column in OVERRIDE_COLUMNS:
            if looks_like_cpr(row[column]):
                problems.append(
                    Problem(path, number, column, "the value looks like a CPR number", cpr_fix)
                )
                bad = True
            elif not row[column].strip():
                problems.append(
                    Problem(path, number, column, "the value is empty", _OVERRIDE_FIX[column])
                )
                bad = True
        if bad:
            continue
        sample = row["sample_id"].strip()
        if sample not in sample_ids:
            problems.append(
                Problem(
                    path, number, "sample_id",
                    f"sample {sample!r} is not in the sample sheet",
                    "Use the sample_id of a sample of this run (IDs are case-sensitive).",
                )
            )  # fmt: skip
        metrics = tuple(m for m in _METRIC_SPLIT.split(row["metrics"].strip()) if m)
        unknown = [m for m in metrics if m not in metric_ids]
        if unknown:
            problems.append(
                Problem(
                    path, number, "metrics",
                    f"unknown metric(s) {', '.join(map(repr, unknown))}",
                    f"Name gated metrics, comma-separated: {', '.join(metric_ids)}.",
                )
            )  # fmt: skip
        for metric in metrics:
            key = (sample, metric)
            if key in seen:
                problems.append(
                    Problem(
                        path, number, "metrics",
                        f"metric {metric!r} of sample {sample!r} is already overridden on line "
                        f"{seen[key]}",
                        "Keep one override per sample and metric (edit the first one).",
                    )
                )  # fmt: skip
            seen.setdefault(key, number)
        who = row["who"].strip()
        if not _WHO.fullmatch(who):
            problems.append(
                Problem(
                    path, number, "who", f"{who!r} is not a staff user ID", _OVERRIDE_FIX["who"]
                )
            )
        why = row["why"].strip()
        if len(why) < 10:
            problems.append(
                Problem(
                    path, number, "why", "the reason is too short (under 10 characters)",
                    _OVERRIDE_FIX["why"],
                )
            )  # fmt: skip
        when = row["when"].strip()
        try:
            stamp = datetime.fromisoformat(when)
        except ValueError:
            problems.append(
                Problem(path, number, "when", f"{when!r} is not an ISO 8601 date or date-time",
                        _OVERRIDE_FIX["when"])
            )  # fmt: skip
        else:
            aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            if aware > now + timedelta(days=1):
                problems.append(
                    Problem(path, number, "when", f"{when} lies in the future",
                            _OVERRIDE_FIX["when"])
                )  # fmt: skip
        overrides.append(Override(sample, metrics, who, why, when, number, str(path)))
    if problems:
        raise OverrideError(problems)
    return overrides


_OVERRIDE_FIX = {
    "sample_id": "Give the pseudonymous sample_id of the overridden sample.",
    "metrics": "Name the overridden metric(s), comma-separated (e.g. mean_coverage,pct_ge_20x).",
    "who": "Give the staff user ID (or initials) of the person taking responsibility: letters, "
    "digits, '.', '_', '-', '@', 2-64 characters, starting with a letter.",
    "why": "Write why the sample is released despite the failing metric (at least 10 "
    "characters, no personal identifiers).",
    "when": "Write when the decision was taken as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM].",
}


def overrides_for(overrides: Iterable[Override], sample_id: str) -> list[Override]:
    return [o for o in overrides if o.sample_id == sample_id]
