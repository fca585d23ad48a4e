"""Catalog reads for each role: samples, receipts, DRS objects and research projects.

Every function is given the authenticated principal and returns only what that principal may
see: out-of-scope things are "not found" (404), so existence does not leak across departments
or projects; a file kind the role may not read within its scope is refused (403).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from genomedb.access import may_read_file
from genomedb.catalog import deposit_files, deposits, objects, project_samples, samples
from genomedb.errors import forbidden, gone, not_found
from genomedb.ingest import receipt
from genomedb.naming import ACCESSION_RE, SERVICE_ID_RE, check_identifier
from genomedb.research import open_research_id, research_id, research_name
from genomedb.tokens import Principal

__all__ = [
    "ObjectView",
    "find_samples",
    "get_receipt",
    "project_objects",
    "resolve_object",
    "sample_detail",
    "stored_object",
]


def _tombstone(row: Row[Any]) -> dict[str, Any]:
    return {
        "accession": row.accession,
        "deleted_at": row.deleted_at,
        "reason": row.deletion_reason,
    }


def find_samples(conn: Connection, principal: Principal, sample_id: Any) -> list[dict[str, Any]]:
    """The principal's department's samples with this sample ID (zero or one)."""
    sample_id = check_identifier(sample_id, "sample_id")
    rows = conn.execute(
        select(samples).where(
            samples.c.department == principal.department, samples.c.sample_id == sample_id
        )
    )
    return [
        {
            "accession": r.accession,
            "sample_id": r.sample_id,
            "department": r.department,
            "registered_at": r.registered_at,
            "withdrawn": r.deleted_at is not None,
        }
        for r in rows
    ]


def _own_sample(conn: Connection, principal: Principal, accession: str) -> Row[Any]:
    row = None
    if ACCESSION_RE.fullmatch(accession):
        row = conn.execute(select(samples).where(samples.c.accession == accession)).first()
    if row is None or row.department != principal.department:
        raise not_found(f"no sample {accession} for your department")
    if row.deleted_at is not None:
        raise gone(
            f"sample {accession} was withdrawn on {row.deleted_at}; its content was deleted "
            f"(tombstone: {json.dumps(_tombstone(row))})"
        )
    return row


def sample_detail(conn: Connection, principal: Principal, accession: str) -> dict[str, Any]:
    """A sample's committed versions and the files the principal's role may see."""
    sample = _own_sample(conn, principal, accession)
    versions = conn.execute(
        select(deposits)
        .where(deposits.c.accession == accession, deposits.c.status == "committed")
        .order_by(deposits.c.version)
    ).all()
    out = []
    for version in versions:
        files = receipt(conn, version.id)["files"]
        if principal.role == "clinician":
            files = {k: v for k, v in files.items() if may_read_file(principal, k)}
        out.append(
            {"version": version.version, "committed_at": version.committed_at, "files": files}
        )
    return {
        "accession": sample.accession,
        "sample_id": sample.sample_id,
        "department": sample.department,
        "versions": out,
    }


def get_receipt(
    conn: Connection, principal: Principal, accession: str, version: int
) -> dict[str, Any]:
    _own_sample(conn, principal, accession)
    row = conn.execute(
        select(deposits.c.id).where(
            deposits.c.accession == accession,
            deposits.c.version == version,
            deposits.c.status == "committed",
        )
    ).first()
    if row is None:
        raise not_found(f"{accession} has no version {version}")
    return receipt(conn, row.id)


@dataclass(frozen=True)
class ObjectView:
    """A deposited file as one principal sees it (DRS metadata) and where its bytes are."""

    drs_id: str
    sha256: str
    drs: dict[str, Any]


def resolve_object(
    conn: Connection, principal: Principal, object_id: str, base_url: str, research_key: bytes
) -> ObjectView:
    """The DRS object `object_id` if the principal may read it; else 404 or 403. Clinicians
    use the file's DRS ID; researchers the project-scoped ID of genomedb.research."""
    row = None
    drs_id, project = object_id, None
    if principal.role == "researcher":
        opened = open_research_id(research_key, principal.projects, object_id)
        project, drs_id = opened if opened else (None, "")
    if SERVICE_ID_RE.fullmatch(drs_id):
        row = conn.execute(
            select(
                deposit_files,
                deposits.c.version,
                deposits.c.committed_at,
                deposits.c.status,
                samples.c.accession,
                samples.c.sample_id,
                samples.c.department,
                samples.c.deleted_at,
            )
            .join(deposits, deposits.c.id == deposit_files.c.deposit_id)
            .join(samples, samples.c.accession == deposits.c.accession)
            .where(deposit_files.c.drs_id == drs_id)
        ).first()
    missing = not_found(f"no object {object_id} (or not visible to you)")
    if row is None or row.status != "committed" or row.deleted_at is not None:
        raise missing
    name, aliases = row.filename, [f"{row.accession}.v{row.version}.{row.key}"]
    if principal.role == "clinician":
        if row.department != principal.department:
            raise missing
    else:  # researcher: only through the project of its ID, under the project's pseudonym
        link = conn.execute(
            select(project_samples).where(
                project_samples.c.accession == row.accession,
                project_samples.c.project == project,
            )
        ).first()
        if link is None:
            raise missing
        pseudonym = link.pseudonym
        name = research_name(pseudonym, row.key, row.filename)
        aliases = [f"{link.project}/{pseudonym}.v{row.version}.{row.key}"]
    if not may_read_file(principal, row.key):
        raise forbidden(f"role '{principal.role}' may not read '{row.key}' files")
    base = base_url.rstrip("/")
    drs = {
        "id": object_id,
        "name": name,
        "self_uri": f"drs://{base.split('://', 1)[-1]}/{object_id}",
        "size": row.size,
        "created_time": row.committed_at,
        "updated_time": row.committed_at,
        "version": str(row.version),
        "mime_type": "application/octet-stream",
        "checksums": [
            {"type": "sha-256", "checksum": row.sha256},
            {"type": "md5", "checksum": row.md5},
        ],
        "access_methods": [{"type": "https", "access_id": "crypt4gh"}],
        "description": (
            "Sent as crypt4gh, its header encrypted to your registered public key; size and "
            "checksums are those of the decrypted content."
        ),
        "aliases": aliases,
    }
    return ObjectView(object_id, row.sha256, drs)


def stored_object(conn: Connection, sha256: str) -> Row[Any]:
    """The checksum and size of an object's encrypted bytes, as recorded at ingest."""
    return conn.execute(
        select(objects.c.stored_sha256, objects.c.stored_size).where(objects.c.sha256 == sha256)
    ).one()


def project_objects(
    conn: Connection, principal: Principal, project: str, research_key: bytes
) -> dict[str, Any]:
    """The samples of a research project, by pseudonym, with the objects a researcher may
    read (latest version of each)."""
    check_identifier(project, "project")
    if project not in principal.projects:
        raise not_found(f"no project {project} among your approved projects")
    links = conn.execute(
        select(project_samples)
        .where(project_samples.c.project == project)
        .order_by(project_samples.c.pseudonym)
    ).all()
    out = []
    for link in links:
        latest = conn.execute(
            select(deposits)
            .where(deposits.c.accession == link.accession, deposits.c.status == "committed")
            .order_by(deposits.c.version.desc())
            .limit(1)
        ).first()
        if latest is None:
            continue
        files = conn.execute(
            select(deposit_files.c.key, deposit_files.c.drs_id)
            .where(deposit_files.c.deposit_id == latest.id)
            .order_by(deposit_files.c.key)
        )
        out.append(
            {
                "pseudonym": link.pseudonym,
                "version": latest.version,
                "objects": {
                    f.key: research_id(research_key, project, f.drs_id)
                    for f in files
                    if may_read_file(principal, f.key)
                },
            }
        )
    return {"project": project, "samples": out}
