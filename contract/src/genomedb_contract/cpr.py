"""The CPR check: Danish CPR numbers (personal identification numbers) must never be stored,
logged or echoed anywhere, by the pipeline or the database. Identifiers are pseudonyms.

A CPR number is DDMMYY-XXXX: a plausible day (01-31) and month (01-12), two year digits, a
separator and four digits, or the same ten digits without a separator. Written by hand or
copied from other systems the separator varies, so any of these counts: hyphen and the
Unicode dashes (en dash, em dash, minus ...), '/', '.', '_' and white space; and digits may be
any Unicode decimal digits (full-width ０-９, Arabic-Indic ...). Ten digits in a row count only
when they are not part of a longer run of digits.

Digests (hexadecimal) and the IDs the services generate are spared as before: they have no
separators, and generated IDs are drawn again until they do not look like a CPR number.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CPR_RE", "cpr_spans", "looks_like_cpr", "mask", "mask_cpr"]

_SEPARATOR = r"[-/._ ]"
# Matched on normalised text (see _normalise): ASCII digits, '-' for every dash, ' ' for
# every space. [0-9] rather than \d: \d would also match non-ASCII digits.
CPR_RE = re.compile(
    r"(?<![0-9])(?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}"
    + _SEPARATOR
    + r"[0-9]{4}(?![0-9])"
    r"|(?<![0-9])[0-9]{10}(?![0-9])"
)
_SLASHES = {"\u2044", "\u2215", "\u29f8", "\uff0f"}


def _normal_char(ch: str) -> str:
    if ch.isascii():
        return ch
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    if unicodedata.category(ch) == "Pd" or ch == "\u2212":
        return "-"
    if ch in _SLASHES:
        return "/"
    if ch.isspace():
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def _normalise(text: str) -> str:
    """`text` with one character for each of its characters (so that positions agree):
    decimal digits as ASCII digits, dashes as '-', slashes as '/', spaces as ' '."""
    return "".join(_normal_char(ch) for ch in text)


def cpr_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every CPR-like substring of `text`."""
    return [m.span() for m in CPR_RE.finditer(_normalise(text))]


def looks_like_cpr(text: str) -> bool:
    """True if `text` contains something that looks like a Danish CPR number (see the
    module's docstring for the forms)."""
    return CPR_RE.search(_normalise(text)) is not None


def mask(text: str) -> str:
    """`text` with every digit replaced by '*' if it contains anything CPR-like, else as is."""
    if not looks_like_cpr(text):
        return text
    return "".join("*" if ch.isdecimal() else ch for ch in text)


def mask_cpr(text: str) -> str:
    """`text` with the digits of each CPR-like substring replaced by '*', the rest kept."""
    spans = cpr_spans(text)
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i].isdecimal():
                chars[i] = "*"
    return "".join(chars)
