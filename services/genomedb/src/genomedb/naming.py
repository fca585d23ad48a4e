"""Identifiers: validation, refusal of CPR numbers (the check and masking are the contract's,
genomedb_contract.cpr), and the IDs the service makes.

Sample IDs, departments and projects are pseudonymous names chosen outside the database; a
value that looks like a CPR number is refused and never echoed or logged. The IDs the service
makes (accessions, deposit IDs, DRS object IDs, research pseudonyms) can never look like one.
"""

from __future__ import annotations

import base64
import re
import secrets

from genomedb.errors import bad_request
from genomedb_contract.cpr import looks_like_cpr, mask, mask_cpr

__all__ = [
    "FILE_KEY_RE",
    "IDENTIFIER_RE",
    "accession_for",
    "check_file_key",
    "check_free_text",
    "check_identifier",
    "looks_like_cpr",
    "mask_cpr",
    "mask",
    "new_id",
    "new_pseudonym",
]

IDENTIFIER_RE = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FILE_KEY_RE = re.compile(
    r"cram|crai|vcf|vcf_tbi|gvcf|gvcf_tbi|(?:qc|report|roh|mito|sv|cnv)_[a-z0-9][a-z0-9_.-]{0,62}"
)
# IDs the service makes: a prefix and lower-case base32 ([a-z2-7]).
SERVICE_ID_RE = re.compile(r"[a-z]{2,4}-[a-z2-7]{8,32}")
ACCESSION_RE = re.compile(r"HGS[0-9]{6,8}")

CPR_MESSAGE = (
    "looks like a CPR number: identifiers must be pseudonymised (the value is not shown; use "
    "the department's pseudonymous ID)"
)


def check_identifier(value: object, what: str) -> str:
    """`value` if it is a safe pseudonymous identifier; else a 422 error (never echoing it)."""
    if not isinstance(value, str):
        raise bad_request(f"{what} must be a string")
    if looks_like_cpr(value):
        raise bad_request(f"{what} {CPR_MESSAGE}")
    if not IDENTIFIER_RE.fullmatch(value):
        raise bad_request(
            f"{what} is not a valid identifier: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return value


def check_free_text(value: str, what: str) -> str:
    """`value` if it holds nothing CPR-like: every free-text field the catalog stores (a
    deletion reason, ...) passes here first; else a 422 error (never echoing it)."""
    if looks_like_cpr(value):
        raise bad_request(
            f"{what} contains something that looks like a CPR number: free text may hold no "
            "personal data (nothing was changed; write it again without the number)"
        )
    return value


def check_file_key(key: str) -> str:
    """`key` if it names a deposited file (cram, vcf, qc_..., report_...); else a 422 error."""
    if looks_like_cpr(key):
        raise bad_request(f"file key {CPR_MESSAGE}")
    if not FILE_KEY_RE.fullmatch(key):
        raise bad_request(
            "file key is not valid: cram, crai, vcf, vcf_tbi, gvcf, gvcf_tbi, qc_<name>, "
            "roh_<name>, mito_<name>, sv_<name>, cnv_<name> or report_<name> (lower case "
            "letters, digits, '_', '.', '-'; no folders)"
        )
    return key


def new_id(prefix: str, nbytes: int = 15) -> str:
    """A random ID like 'drs-k3x...' (base32, never CPR-like), `nbytes` of randomness."""
    while True:
        token = base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()
        value = f"{prefix}-{token}"
        if not looks_like_cpr(value):
            return value


def new_pseudonym() -> str:
    """A research pseudonym: 'RP-' and 16 random upper-case letters."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "RP-" + "".join(secrets.choice(letters) for _ in range(16))


def accession_for(number: int) -> str:
    """The accession of the sample with catalog number `number`: HGS000001, ..."""
    return f"HGS{number:06d}"
