"""Administration: deletion on request, research projects, and clean-up of staging.

Deletion (withdrawn consent) removes a sample's content: every version's files (objects no
other deposit references), checksums, manifests and project links. What stays is the
tombstone on the sample (accession, department's sample ID, when, by whom, why: so the sample
cannot be deposited again by mistake), the deposits' version numbers and dates, and the audit
log. Backups made afterwards no longer hold the objects (`backup` mirrors the catalog).
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from sqlalchemy import delete, insert, select, update

from genomedb.catalog import (
    deposit_files,
    deposits,
    now,
    objects,
    project_samples,
    samples,
    write_lock,
)
from genomedb.context import Context
from genomedb.errors import bad_request, gone, not_found
from genomedb.naming import ACCESSION_RE, check_free_text, check_identifier, new_pseudonym

__all__ = ["add_to_project", "delete_sample", "gc"]


def delete_sample(ctx: Context, actor: str, accession: str, reason: str) -> dict[str, Any]:
    """Delete a sample's content on request; returns the tombstone."""
    if not ACCESSION_RE.fullmatch(accession):
        raise not_found(f"no sample {accession}")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise bad_request("give a reason for the deletion (1-500 characters, no personal data)")
    check_free_text(reason, "the deletion reason")
    with ctx.engine.begin() as conn:
        write_lock(conn)
        sample = conn.execute(select(samples).where(samples.c.accession == accession)).first()
        if sample is None:
            raise not_found(f"no sample {accession}")
        if sample.deleted_at is not None:
            raise gone(f"sample {accession} was already deleted on {sample.deleted_at}")
        ids = [
            r.id
            for r in conn.execute(select(deposits.c.id).where(deposits.c.accession == accession))
        ]
        contents = {
            r.sha256
            for r in conn.execute(
                select(deposit_files.c.sha256).where(deposit_files.c.deposit_id.in_(ids))
            )
        }
        conn.execute(delete(deposit_files).where(deposit_files.c.deposit_id.in_(ids)))
        conn.execute(
            update(deposits)
            .where(deposits.c.accession == accession, deposits.c.status == "staging")
            .values(status="aborted")
        )
        conn.execute(update(deposits).where(deposits.c.id.in_(ids)).values(manifest=None))
        conn.execute(delete(project_samples).where(project_samples.c.accession == accession))
        still_used = {
            r.sha256
            for r in conn.execute(
                select(deposit_files.c.sha256).where(deposit_files.c.sha256.in_(sorted(contents)))
            )
        }
        orphaned = sorted(contents - still_used)
        conn.execute(delete(objects).where(objects.c.sha256.in_(orphaned)))
        deleted_at = now()
        conn.execute(
            update(samples)
            .where(samples.c.accession == accession)
            .values(deleted_at=deleted_at, deleted_by=actor, deletion_reason=reason)
        )
    # After the commit: a crash here leaves orphan files, which `gc` removes.
    removed = sum(ctx.store.delete(sha) for sha in orphaned)
    for deposit_id in ids:
        shutil.rmtree(ctx.staging(deposit_id), ignore_errors=True)
    return {
        "accession": accession,
        "deleted_at": deleted_at,
        "deleted_by": actor,
        "reason": reason,
        "versions": len(ids),
        "objects_removed": removed,
    }


def add_to_project(ctx: Context, actor: str, project: Any, accession: str) -> dict[str, Any]:
    """Make a sample available to a research project under a new pseudonym (idempotent)."""
    project = check_identifier(project, "project")
    with ctx.engine.begin() as conn:
        write_lock(conn)
        sample = None
        if ACCESSION_RE.fullmatch(accession):
            sample = conn.execute(select(samples).where(samples.c.accession == accession)).first()
        if sample is None:
            raise not_found(f"no sample {accession}")
        if sample.deleted_at is not None:
            raise gone(f"sample {accession} was withdrawn")
        link = conn.execute(
            select(project_samples).where(
                project_samples.c.project == project, project_samples.c.accession == accession
            )
        ).first()
        if link is None:
            pseudonym = new_pseudonym()
            conn.execute(
                insert(project_samples).values(
                    project=project,
                    accession=accession,
                    pseudonym=pseudonym,
                    added_at=now(),
                    added_by=actor,
                )
            )
        else:
            pseudonym = link.pseudonym
    return {"project": project, "accession": accession, "pseudonym": pseudonym}


def gc(ctx: Context, older_than_hours: float | None = None) -> dict[str, int]:
    """Remove abandoned staging deposits and orphan object files older than the limit."""
    hours = ctx.settings.staging_max_age_hours if older_than_hours is None else older_than_hours
    cutoff = time.time() - hours * 3600
    aborted = removed_dirs = removed_objects = 0
    with ctx.engine.begin() as conn:
        write_lock(conn)
        states = dict(conn.execute(select(deposits.c.id, deposits.c.status)).tuples().all())
        known = set(conn.execute(select(objects.c.sha256)).scalars())
        for folder in sorted(ctx.settings.staging_dir.glob("*")):
            if folder.stat().st_mtime >= cutoff:
                continue
            if states.get(folder.name) == "staging":
                conn.execute(
                    update(deposits).where(deposits.c.id == folder.name).values(status="aborted")
                )
                aborted += 1
            shutil.rmtree(folder, ignore_errors=True)
            removed_dirs += 1
        for sha in list(ctx.store.addresses()):
            path = ctx.store.path(sha)
            if sha not in known and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed_objects += 1
    return {
        "staging_aborted": aborted,
        "staging_removed": removed_dirs,
        "orphan_objects_removed": removed_objects,
    }
