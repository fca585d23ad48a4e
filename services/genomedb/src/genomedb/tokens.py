"""Principals and their bearer tokens.

A principal is one user or system with one role:

| role | department | projects | may |
|---|---|---|---|
| submitter | required | - | register its department's samples, deposit, read its receipts |
| clinician | required | - | read the reports and VCFs of its department's samples |
| researcher | - | required | read pseudonymised data of the projects it is approved for |
| auditor | - | - | read and verify the audit log |
| admin | - | - | list principals, assign samples to projects, delete on request |

A token is shown once, when it is issued; the catalog keeps only its SHA-256 (a token is 256
random bits, so a plain hash is enough). Tokens can expire and be revoked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from genomedb.catalog import now, principals, timestamp
from genomedb.errors import bad_request, not_found
from genomedb.naming import check_identifier, new_id
from genomedb_contract.crypto import public_key_b64

__all__ = ["ROLES", "Principal", "authenticate", "issue", "list_principals", "revoke"]

ROLES = ("submitter", "clinician", "researcher", "auditor", "admin")
TOKEN_PREFIX = "hgdb"


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: str
    department: str | None = None
    projects: tuple[str, ...] = field(default=())
    public_key: bytes | None = None


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    conn: Connection,
    *,
    name: str,
    role: str,
    department: str | None = None,
    projects: tuple[str, ...] | list[str] = (),
    public_key: bytes | None = None,
    expires_days: float | None = None,
) -> tuple[Principal, str]:
    """Create a principal; returns it and its token (which is not stored). The token expires
    after `expires_days` (> 0) or never (None: say so explicitly; the command line asks for
    --expires-days or --no-expiry)."""
    if expires_days is not None and not (0 < expires_days < 36_500):
        raise bad_request(
            f"--expires-days must be above 0 (and below 100 years), not {expires_days}: a token "
            "expires in the future, or never with --no-expiry"
        )
    if role not in ROLES:
        raise bad_request(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    check_identifier(name, "name")
    if role in ("submitter", "clinician"):
        if not department:
            raise bad_request(f"a {role} needs a department")
        check_identifier(department, "department")
    elif department:
        raise bad_request(f"a {role} belongs to no department")
    projects = tuple(check_identifier(p, "project") for p in projects)
    if role == "researcher" and not projects:
        raise bad_request("a researcher needs at least one approved project")
    if role != "researcher" and projects:
        raise bad_request("only researchers are approved for projects")
    principal = Principal(
        new_id("pr"), name, role, department, projects, public_key and bytes(public_key)
    )
    token = f"{TOKEN_PREFIX}.{principal.id}.{secrets.token_urlsafe(32)}"
    expires = (
        None
        if expires_days is None
        else timestamp(datetime.now(UTC) + timedelta(days=expires_days))
    )
    conn.execute(
        insert(principals).values(
            id=principal.id,
            name=name,
            role=role,
            department=department,
            projects=json.dumps(list(projects)),
            token_sha256=token_sha256(token),
            public_key=public_key_b64(public_key) if public_key else None,
            created_at=now(),
            expires_at=expires,
        )
    )
    return principal, token


def authenticate(conn: Connection, token: str) -> Principal | None:
    """The principal holding `token`, or None (unknown, revoked or expired)."""
    if not token.startswith(TOKEN_PREFIX + ".") or len(token) > 200:
        return None
    row = conn.execute(
        select(principals).where(principals.c.token_sha256 == token_sha256(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now():
        return None
    return Principal(
        id=row.id,
        name=row.name,
        role=row.role,
        department=row.department,
        projects=tuple(json.loads(row.projects)),
        public_key=base64.b64decode(row.public_key) if row.public_key else None,
    )


def revoke(conn: Connection, principal_id: str) -> None:
    done = conn.execute(
        update(principals)
        .where(principals.c.id == principal_id, principals.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if done.rowcount != 1:
        raise not_found(f"no active principal {principal_id}")


def list_principals(conn: Connection) -> list[dict[str, object]]:
    """Every principal, without token hashes."""
    rows = conn.execute(select(principals).order_by(principals.c.created_at))
    return [
        {
            "id": r.id,
            "name": r.name,
            "role": r.role,
            "department": r.department,
            "projects": json.loads(r.projects),
            "has_public_key": r.public_key is not None,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "revoked_at": r.revoked_at,
        }
        for r in rows
    ]
