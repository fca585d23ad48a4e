"""The CPR check: Danish CPR numbers (personal identification numbers) must never be stored,
logged or echoed anywhere, by the pipeline or the database. Identifiers are pseudonyms.
"""

from __future__ import annotations

import re

__all__ = ["CPR_RE", "looks_like_cpr", "mask"]

# DDMMYY-XXXX with a plausible day and month, or exactly ten digits not part of a longer run.
# [0-9] rather than \d: \d would also match non-ASCII digits.
CPR_RE = re.compile(
    r"(?<![0-9])(?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}-[0-9]{4}(?![0-9])"
    r"|(?<![0-9])[0-9]{10}(?![0-9])"
)


def looks_like_cpr(text: str) -> bool:
    """True if `text` contains something that looks like a Danish CPR number.

    That is DDMMYY-XXXX (day 01-31, month 01-12, a hyphen and four digits) or exactly ten
    consecutive digits that are not part of a longer run of digits.
    """
    return CPR_RE.search(text) is not None


def mask(text: str) -> str:
    """`text` with every digit replaced by '*' if it contains anything CPR-like, else as is."""
    return re.sub(r"[0-9]", "*", text) if looks_like_cpr(text) else text
