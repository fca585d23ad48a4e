"""The one error type the service turns into an HTTP answer."""

from __future__ import annotations

import json
from typing import Any


class GenomeDBError(Exception):
    """A refused request: `status` is the HTTP status, str() the message for the client.

    Messages never contain a personal identifier or a secret.
    """

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def bad_request(message: str) -> GenomeDBError:
    return GenomeDBError(422, message)


def not_found(message: str) -> GenomeDBError:
    return GenomeDBError(404, message)


def conflict(message: str) -> GenomeDBError:
    return GenomeDBError(409, message)


def forbidden(message: str) -> GenomeDBError:
    return GenomeDBError(403, message)


def gone(message: str) -> GenomeDBError:
    return GenomeDBError(410, message)


def too_large(message: str) -> GenomeDBError:
    return GenomeDBError(413, message)


def unavailable(message: str) -> GenomeDBError:
    return GenomeDBError(503, message)


# ---- JSON request bodies -------------------------------------------------------------------
MAX_JSON_DEPTH = 32  # a manifest is 3 levels deep; deeper nesting is refused, never parsed


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_json(body: bytes, what: str, hint: str = "") -> Any:
    """The JSON value of a request body; a 422 naming `what` (and `hint`) if it is not JSON
    or nests deeper than MAX_JSON_DEPTH (which would exhaust the parser's recursion)."""
    suffix = f": {hint}" if hint else ""
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise bad_request(
            f"{what} nests {depth} levels deep, more than the {MAX_JSON_DEPTH} allowed{suffix}"
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise bad_request(f"{what} is not JSON{suffix}") from error
