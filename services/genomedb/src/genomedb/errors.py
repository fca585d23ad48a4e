"""The one error type the service turns into an HTTP answer."""

from __future__ import annotations


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
