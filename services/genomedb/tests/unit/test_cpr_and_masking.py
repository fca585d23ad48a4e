"""The widened CPR check (genomedb_contract.cpr), and the service's one-place masking of
error messages, log records and credentials in audited query strings."""

from __future__ import annotations

import logging

import pytest

from genomedb.app import redact_query
from genomedb.errors import GenomeDBError, json_depth, parse_json
from genomedb.logmask import CprMaskingFilter
from genomedb.naming import check_free_text, new_id
from genomedb_contract.cpr import cpr_spans, looks_like_cpr, mask, mask_cpr

FORMS = [
    "120385-1234",
    "1203851234",
    "120385 1234",
    "120385.1234",
    "120385_1234",
    "120385\u20131234",  # en dash
    "120385\u20141234",  # em dash
    "120385\u22121234",  # minus sign
    "120385/1234",
    "120385\u00a01234",  # no-break space
    "\uff11\uff12\uff10\uff13\uff18\uff15\uff0d\uff11\uff12\uff13\uff14",  # full width
    "\u0661\u0662\u0660\u0663\u0668\u0665-\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_caught_inside_text_and_masked(form: str) -> None:
    text = f"patient {form} withdrew"
    assert looks_like_cpr(text)
    masked = mask_cpr(text)
    assert masked.startswith("patient ") and masked.endswith(" withdrew")
    assert not any(ch.isdecimal() for ch in masked)
    assert not looks_like_cpr(masked)
    assert not any(ch.isdecimal() for ch in mask(text))


@pytest.mark.parametrize(
    "text",
    [
        "NA12878",
        "S-0042",
        "HGS000123",
        "run-20261204T170855Z-abcd1234",  # a run ID
        "chr20:100000-108002",  # a region: month 00
        "320385-1234",  # day 32
        "121385-1234",  # month 13
        "120385-12345",  # part of a longer run of digits
        "12038512345",  # eleven digits
        "1.16.1",
        "sha256:" + "ab" * 32,
    ],
)
def test_what_is_not_a_cpr_number_is_left_alone(text: str) -> None:
    assert not looks_like_cpr(text)
    assert mask_cpr(text) == text == mask(text)


def test_only_the_cpr_like_part_is_masked() -> None:
    text = "sample 7 of run 12: 120385-1234"
    assert mask_cpr(text) == "sample 7 of run 12: ******-****"
    assert cpr_spans(text) == [(20, 31)]
    assert mask(text) == "sample * of run **: ******-****"  # mask: every digit


def test_generated_ids_never_look_like_cpr_numbers() -> None:
    assert not any(looks_like_cpr(new_id("drs")) for _ in range(2000))


def test_free_text_with_a_cpr_number_is_refused_without_echo() -> None:
    assert check_free_text("consent withdrawn", "the reason") == "consent withdrawn"
    with pytest.raises(GenomeDBError) as caught:
        check_free_text("consent withdrawn by 120385.1234", "the reason")
    assert caught.value.status == 422 and "120385" not in caught.value.message


def test_log_records_are_masked_with_their_exceptions() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "bad %s", ("120385-1234",), None
    )
    try:
        raise ValueError("no sample 120385-1234")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert CprMaskingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "120385" not in formatted and "bad ******-****" in formatted
    assert "no sample ******-****" in formatted


def test_credentials_in_query_strings_are_redacted() -> None:
    assert redact_query("access_token=abc&x=1") == "access_token=[redacted]&x=1"
    assert redact_query("API_KEY=abc&refresh_token=d&q=token") == (
        "API_KEY=[redacted]&refresh_token=[redacted]&q=token"
    )
    assert redact_query("access%5Ftoken=abc") == "access%5Ftoken=[redacted]"
    assert redact_query("after=10&limit=5") == "after=10&limit=5"


def test_json_nesting_is_measured_before_parsing() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[["}]}') == 3  # brackets in strings do not count
    assert json_depth(b'"\\"["') == 0
    with pytest.raises(GenomeDBError, match="nests 100 levels deep"):
        parse_json(b"[" * 100 + b"]" * 100, "the body")
    with pytest.raises(GenomeDBError, match="the body is not JSON: send JSON"):
        parse_json(b"{", "the body", "send JSON")
    assert parse_json(b'{"a": [[1]]}', "the body") == {"a": [[1]]}
