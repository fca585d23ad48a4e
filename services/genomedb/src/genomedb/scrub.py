"""Scrubbing: every stored object's encrypted bytes checked against the checksum recorded
when it was stored, so that silent corruption (a flipped bit, a truncated or lost file) is
found before a reader or a restore needs the object. `genomedb scrub` runs it; schedule it
(e.g. weekly) and after any storage incident. A damaged object is restored from the backup
(`genomedb restore` into a new home, or copying the object file from the backup's objects/).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from genomedb.catalog import objects
from genomedb.context import Context

__all__ = ["scrub"]


def scrub(ctx: Context) -> dict[str, Any]:
    """Check every object of the catalog; a report with the damaged ones (address, what)."""
    checked = checked_bytes = 0
    damaged: list[dict[str, str]] = []
    with ctx.engine.connect() as conn:
        rows = conn.execution_options(yield_per=2000).execute(
            select(objects.c.sha256, objects.c.stored_sha256, objects.c.stored_size)
        )
        for row in rows:
            problem = ctx.store.damage(row.sha256, row.stored_sha256, row.stored_size)
            checked += 1
            if problem:
                damaged.append({"object": row.sha256, "problem": problem})
            else:
                checked_bytes += row.stored_size
    return {"objects": checked, "intact_bytes": checked_bytes, "damaged": damaged}
