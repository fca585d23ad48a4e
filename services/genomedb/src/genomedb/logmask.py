"""No CPR-like value in a log line: a logging filter that masks them in every record the
service's loggers (and uvicorn's) write, exception texts included."""

from __future__ import annotations

import logging

from genomedb.naming import mask_cpr

__all__ = ["CprMaskingFilter", "install_log_masking"]

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "genomedb", "sqlalchemy")


class CprMaskingFilter(logging.Filter):
    """Replaces a record's message (and exception text) by its CPR-masked form."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_cpr(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = mask_cpr(text), None
        return True


_FILTER = CprMaskingFilter()


def install_log_masking() -> None:
    """Put the filter on the service's loggers and on every handler they have now (a filter
    on a logger does not see records propagated from its children; one on a handler does)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
