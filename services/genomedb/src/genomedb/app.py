"""The HTTP service (FastAPI): deposits, receipts, GA4GH DRS object reads, audit.

Every request, allowed or refused, gets one audit entry before its response starts (if the
entry cannot be written, the request fails). Endpoint names are the actions of
`access.ACTIONS`; a route's role check is its first dependency. No OpenAPI pages are served:
the endpoints are listed in README.md.
"""

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genomedb import __version__, access, admin, audit, ingest, reads, tokens
from genomedb.context import Context
from genomedb.errors import (
    GenomeDBError,
    bad_request,
    forbidden,
    not_found,
    parse_json,
    too_large,
    unavailable,
)
from genomedb.logmask import install_log_masking
from genomedb.naming import mask_cpr
from genomedb.tokens import Principal
from genomedb_contract.crypto import iter_file, reencrypt_header

__all__ = ["create_app"]

CRYPT4GH_MEDIA_TYPE = "application/vnd.ga4gh.crypt4gh"
# Integers in paths and queries (receipt versions, audit sequence numbers) fit a signed 64-bit
# column on every backend; larger ones are refused with 422 before any query.
MAX_INT = 2**63 - 1
# A token's principal is looked up again after this many seconds (per worker process).
TOKEN_CACHE_SECONDS = 2.0


class AuditMiddleware:
    """Appends one audit entry per HTTP request, before the response is sent."""

    def __init__(self, app: ASGIApp, ctx: Context):
        self.app = app
        self.ctx = ctx

    def _entry(self, scope: Scope, status: int) -> audit.Entry:
        state = scope.setdefault("state", {})
        principal: Principal | None = state.get("principal")
        route = scope.get("route")
        target: dict[str, Any] = {"path": scope.get("path", "")}
        target.update(scope.get("path_params") or {})
        query = scope.get("query_string", b"").decode(errors="replace")
        if query:
            target["query"] = redact_query(query)[:500]
        return audit.Entry(
            actor=principal.id if principal else state.get("actor", "anonymous"),
            role=principal.role if principal else "none",
            department=principal.department if principal else None,
            action=getattr(route, "name", None) or "unmatched",
            method=scope.get("method", ""),
            target=target,
            outcome=status,
            detail=state.get("audit_detail", ""),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def record(status: int) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                entry = self._entry(scope, status)
                await asyncio.wrap_future(self.ctx.audit_writer.submit(entry))

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                await record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except Exception:
            await record(500)
            raise


def _error(request: Request, status: int, message: str) -> JSONResponse:
    """The one place an error answer is made: CPR-like values in it are masked, whatever the
    endpoint put into the message (a path parameter, a stored value)."""
    message = mask_cpr(message)
    request.state.audit_detail = message
    return JSONResponse({"detail": message}, status_code=status)


# Query parameters that carry credentials: their values never reach the audit log.
CREDENTIAL_PARAMETERS = ("token", "access_token", "api_key", "apikey", "key", "password",
                         "secret", "authorization", "auth", "signature", "sig")  # fmt: skip


def redact_query(query: str) -> str:
    """A query string for the audit log: the values of credential parameters replaced."""
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        decoded = unquote_plus(name).strip().lower()
        if sep and (decoded in CREDENTIAL_PARAMETERS or decoded.endswith(("_token", "-token"))):
            part = f"{name}=[redacted]"
        parts.append(part)
    return "&".join(parts)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(f"the request body is larger than {limit} bytes; nothing was stored")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(f"the request body is larger than {limit} bytes; nothing was stored")
    return bytes(body)


async def _read_json_object(request: Request, limit: int = 64 * 1024) -> dict[str, Any]:
    value = parse_json(
        await _read_limited(request, limit), "the request body", "send a JSON object"
    )
    if not isinstance(value, dict):
        raise bad_request("the request body must be a JSON object")
    return value


async def _read_json_string(request: Request, key: str, hint: str) -> str:
    """The string `key` of the request's JSON object body; 400 with `hint` if it has none."""
    value = (await _read_json_object(request)).get(key)
    if not isinstance(value, str):
        raise bad_request(hint)
    return value


def app_from_environment() -> FastAPI:
    """The application of the home in HELGENOM_GENOMEDB_HOME (a worker process of
    `genomedb serve --workers N`)."""
    return create_app(Context.open())


def create_app(ctx: Context) -> FastAPI:
    """The application for an opened database home (loads the secret key now)."""
    ctx.keys  # noqa: B018 - fail at start-up, not at the first deposit, if the key is unusable
    app = FastAPI(
        title="helgenom genome database",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(AuditMiddleware, ctx=ctx)
    install_log_masking()

    @app.exception_handler(GenomeDBError)
    async def _genomedb_error(request: Request, error: GenomeDBError) -> JSONResponse:
        response = _error(request, error.status, error.message)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in error.errors()})
        return _error(request, 422, f"invalid request parameters: {', '.join(where)}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(request, error.status_code, str(error.detail))

    known: dict[str, tuple[float, Principal]] = {}  # token SHA-256 -> (valid until, who)

    def authenticate(token: str) -> Principal | None:
        """The token's principal, looked up at most every TOKEN_CACHE_SECONDS per process: a
        revoked or expired token stops working within that time."""
        digest = tokens.token_sha256(token)
        hit = known.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        principal = with_conn(tokens.authenticate, token)
        if principal is None:
            known.pop(digest, None)
        else:
            if len(known) > 10_000:
                known.clear()
            known[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, principal)
        return principal

    def allow(action: str) -> Callable[[Request], Awaitable[Principal]]:
        # async: the token lookup (one indexed read, well under a millisecond) runs on the
        # event loop instead of a hop to a worker thread and back for every request.
        async def dependency(request: Request) -> Principal:
            header = request.headers.get("authorization", "")
            principal = None
            if header:
                scheme, _, token = header.partition(" ")
                if scheme.lower() == "bearer" and token:
                    principal = authenticate(token.strip())
                if principal is None:
                    request.state.actor = "invalid-token"
                    raise GenomeDBError(401, "invalid, expired or revoked token")
            request.state.principal = principal
            return access.require(principal, action)

        return dependency

    def with_conn(function: Callable[..., Any], *args: Any) -> Any:
        """A read: on the read engine (no write lock). Called from the event loop by the
        read endpoints (async def): a few indexed queries, under a millisecond; a thread hop
        per request would cost more. Retried once on a new connection if the one taken from
        the pool was broken (a database server restart)."""
        for attempt in (1, 2):
            try:
                with ctx.read_engine.connect() as conn:
                    return function(conn, *args)
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    # ---- general -------------------------------------------------------------------------
    @app.get("/health", name="health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/whoami", name="whoami")
    async def whoami(principal: Annotated[Principal, Depends(allow("whoami"))]) -> dict[str, Any]:
        return {
            "id": principal.id,
            "name": principal.name,
            "role": principal.role,
            "department": principal.department,
            "projects": list(principal.projects),
            "has_public_key": principal.public_key is not None,
        }

    @app.get("/ga4gh/drs/v1/service-info", name="drs.service_info")
    async def service_info(
        _: Annotated[Principal, Depends(allow("drs.service_info"))],
    ) -> dict[str, Any]:
        return {
            "id": "dk.genomedb",
            "name": "helgenom genome database",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.4.0"},
            "organization": {"name": "helgenom", "url": "https://helgenom.example"},
            "version": __version__,
        }

    # ---- samples and receipts ------------------------------------------------------------
    @app.post("/api/v1/samples", name="samples.register")
    async def register(
        request: Request, principal: Annotated[Principal, Depends(allow("samples.register"))]
    ) -> JSONResponse:
        body = await _read_json_object(request)
        status, result = await run_in_threadpool(
            ingest.register_sample, ctx, principal, body.get("sample_id")
        )
        return JSONResponse(result, status_code=status)

    @app.get("/api/v1/samples", name="samples.find")
    async def find(
        sample_id: str, principal: Annotated[Principal, Depends(allow("samples.find"))]
    ) -> list[dict[str, Any]]:
        return with_conn(reads.find_samples, principal, sample_id)

    @app.get("/api/v1/samples/{accession}", name="samples.get")
    async def sample(
        accession: str, principal: Annotated[Principal, Depends(allow("samples.get"))]
    ) -> dict[str, Any]:
        return with_conn(reads.sample_detail, principal, accession)

    @app.delete("/api/v1/samples/{accession}", name="samples.delete")
    async def delete_sample(
        accession: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("samples.delete"))],
    ) -> dict[str, Any]:
        reason = await _read_json_string(
            request, "reason", 'give the reason for the deletion: {"reason": "..."}'
        )
        return await run_in_threadpool(admin.delete_sample, ctx, principal.id, accession, reason)

    @app.get("/api/v1/receipts/{accession}/{version}", name="receipts.get")
    async def get_receipt(
        accession: str,
        version: Annotated[int, FastAPIPath(ge=1, le=MAX_INT)],
        principal: Annotated[Principal, Depends(allow("receipts.get"))],
    ) -> dict[str, Any]:
        return with_conn(reads.get_receipt, principal, accession, version)

    # ---- deposits ------------------------------------------------------------------------
    @app.post("/api/v1/deposits", name="deposits.open")
    async def open_deposit(
        request: Request, principal: Annotated[Principal, Depends(allow("deposits.open"))]
    ) -> JSONResponse:
        body = await _read_limited(request, ctx.settings.max_manifest_bytes)
        status, result = await run_in_threadpool(ingest.open_deposit, ctx, principal, body)
        return JSONResponse(result, status_code=status)

    @app.get("/api/v1/deposits/{deposit_id}", name="deposits.get")
    def deposit_state(
        deposit_id: str, principal: Annotated[Principal, Depends(allow("deposits.get"))]
    ) -> dict[str, Any]:
        return ingest.deposit_state(ctx, principal, deposit_id)

    @app.put("/api/v1/deposits/{deposit_id}/files/{key}", name="deposits.upload")
    async def upload(
        deposit_id: str,
        key: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("deposits.upload"))],
    ) -> dict[str, Any]:
        target = await run_in_threadpool(ingest.prepare_upload, ctx, principal, deposit_id, key)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > target.max_bytes:
            raise too_large(
                f"upload of '{key}' ({declared} bytes) is larger than a crypt4gh file of the "
                f"declared {target.size} bytes can be; nothing was stored"
            )
        digest, written = hashlib.sha256(), 0
        try:
            with target.part.open("wb") as handle:
                async for chunk in request.stream():
                    written += len(chunk)
                    if written > target.max_bytes:
                        raise too_large(
                            f"upload of '{key}' is larger than a crypt4gh file of the declared "
                            f"{target.size} bytes can be; nothing was stored"
                        )
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                await run_in_threadpool(os.fsync, handle.fileno())  # not on the event loop
        except ClientDisconnect as error:
            target.part.unlink(missing_ok=True)
            raise bad_request(f"upload of '{key}' was interrupted; nothing was stored") from error
        except BaseException:
            target.part.unlink(missing_ok=True)
            raise
        return await run_in_threadpool(
            ingest.accept_upload, ctx, principal, target, digest.hexdigest(), written
        )

    @app.post("/api/v1/deposits/{deposit_id}/commit", name="deposits.commit")
    def commit(
        deposit_id: str, principal: Annotated[Principal, Depends(allow("deposits.commit"))]
    ) -> JSONResponse:
        status, result = ingest.commit(ctx, principal, deposit_id)
        return JSONResponse(result, status_code=status)

    # ---- GA4GH DRS reads -----------------------------------------------------------------
    @app.get("/ga4gh/drs/v1/objects/{object_id}", name="drs.object")
    async def drs_object(
        object_id: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("drs.object"))],
    ) -> dict[str, Any]:
        return with_conn(
            reads.resolve_object, principal, object_id, str(request.base_url), ctx.research_key
        ).drs

    @app.get("/ga4gh/drs/v1/objects/{object_id}/access/{access_id}", name="drs.access")
    async def drs_access(
        object_id: str,
        access_id: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("drs.access"))],
    ) -> dict[str, Any]:
        with_conn(
            reads.resolve_object, principal, object_id, str(request.base_url), ctx.research_key
        )
        if access_id != "crypt4gh":
            raise not_found(f"no access method {access_id!r}: use 'crypt4gh'")
        url = str(request.base_url).rstrip("/") + f"/api/v1/objects/{object_id}/crypt4gh"
        return {"url": url, "headers": [f"Accept: {CRYPT4GH_MEDIA_TYPE}"]}

    @app.get("/api/v1/objects/{object_id}/crypt4gh", name="objects.content")
    def content(
        object_id: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("objects.content"))],
    ) -> StreamingResponse:
        view = with_conn(
            reads.resolve_object, principal, object_id, str(request.base_url), ctx.research_key
        )
        if principal.public_key is None:
            raise forbidden(
                "no public key is registered for you: content is only sent encrypted to a "
                "registered key (ask the administrator to issue your token with one)"
            )
        path = ctx.store.path(view.sha256)
        stored = with_conn(reads.stored_object, view.sha256)
        problem = ctx.store.damage_before_serving(
            view.sha256, stored.stored_sha256, stored.stored_size
        )
        try:
            if problem:
                raise OSError(problem)
            header, body_offset = reencrypt_header(path, ctx.keys, principal.public_key)
            length = len(header) + path.stat().st_size - body_offset
        except Exception as error:  # missing, unreadable or not crypt4gh: never a 500
            raise unavailable(
                f"object {object_id} cannot be served: its stored file is missing or damaged. "
                "The administrators must restore it from the backup (genomedb verify-backup, "
                "README: Running the database)"
            ) from error

        def stream() -> Iterator[bytes]:
            yield header
            yield from iter_file(path, body_offset)

        return StreamingResponse(
            stream(),
            media_type=CRYPT4GH_MEDIA_TYPE,
            headers={"Content-Length": str(length), "X-Content-SHA256": view.sha256},
        )

    # ---- research projects ---------------------------------------------------------------
    @app.get("/api/v1/projects/{project}/samples", name="projects.list")
    async def project_samples(
        project: str, principal: Annotated[Principal, Depends(allow("projects.list"))]
    ) -> dict[str, Any]:
        return with_conn(reads.project_objects, principal, project, ctx.research_key)

    @app.post("/api/v1/projects/{project}/samples", name="projects.add_sample")
    async def add_project_sample(
        project: str,
        request: Request,
        principal: Annotated[Principal, Depends(allow("projects.add_sample"))],
    ) -> dict[str, Any]:
        accession = await _read_json_string(
            request, "accession", 'give the sample\'s accession: {"accession": "HGS..."}'
        )
        return await run_in_threadpool(admin.add_to_project, ctx, principal.id, project, accession)

    # ---- administration and audit --------------------------------------------------------
    @app.get("/api/v1/principals", name="principals.list")
    async def principals(
        _: Annotated[Principal, Depends(allow("principals.list"))],
    ) -> list[dict[str, Any]]:
        return with_conn(tokens.list_principals)

    @app.get("/api/v1/audit", name="audit.read")
    async def audit_read(
        _: Annotated[Principal, Depends(allow("audit.read"))],
        after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_INT)] = 100,
    ) -> list[dict[str, Any]]:
        return with_conn(audit.entries, after, max(1, min(limit, 1000)))

    @app.get("/api/v1/audit/verify", name="audit.verify")
    def audit_verify(_: Annotated[Principal, Depends(allow("audit.verify"))]) -> dict[str, Any]:
        # The main engine: audit.verify streams the chain (a server-side cursor, which
        # PostgreSQL allows inside a transaction only, not on the autocommit read pool).
        with ctx.engine.connect() as conn:
            result = audit.verify(conn, ctx.audit_key)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head": result.head,
            "broken_seq": result.broken_seq,
            "message": str(result),
        }

    return app
