"""The genome database's command line, run on the server (`genomedb`, or `python -m genomedb`):

    genomedb [--home DIR] init [--database-url URL] [--max-file-bytes N]
    genomedb serve [--host 127.0.0.1] [--port 8000]
    genomedb keys public | keys generate --secret F --public F
    genomedb token issue --role R --name N [--department D]
                         [--project P ...] [--public-key F] (--expires-days N | --no-expiry)
                         [--out F]
    genomedb token list | token revoke ID
    genomedb project add-sample --project P --accession A
    genomedb delete --accession A --reason TEXT
    genomedb verify-audit [--checkpoints FILE [--checkpoint-public-key F]]
    genomedb checkpoint --to FILE [--key F]
    genomedb backup --to DIR | verify-backup DIR | restore --from DIR
    genomedb scrub
    genomedb gc [--older-than-hours H]

Two commands are clients of a running database (genomedb_contract.client), usable anywhere:

    genomedb fetch --url URL --token-file F --object-id ID
                   --secret-key F --db-public-key F --out FILE
    genomedb deposit --url URL --token-file F --manifest FILE --files KEY=PATH ...
                     --db-public-key F --out RECEIPT [--retries N]

The home is --home or HELGENOM_GENOMEDB_HOME (default ./genomedb). Every administrative
command leaves an entry in the audit log. Exit status: 0 done, 1 refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genomedb.errors import GenomeDBError
from genomedb.settings import DEFAULT_MAX_FILE_BYTES, Settings, default_home

__all__ = ["main"]


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def cmd_init(args: argparse.Namespace) -> int:
    from genomedb.context import init_home

    ctx = init_home(
        args.home,
        args.database_url,
        passphrase=None if args.no_passphrase else _passphrase(),
        max_file_bytes=args.max_file_bytes,
    )
    print(f"genome database home: {ctx.settings.home}")
    print(f"catalog: {ctx.engine.url.render_as_string(hide_password=True)}")
    print(f"public key (submitters encrypt to it): {ctx.settings.public_key}")
    if not ctx.settings.passphrase:
        print(
            f"note: {ctx.settings.secret_key} is not passphrase-protected (mode 0400); set "
            "HELGENOM_GENOMEDB_PASSPHRASE before init (and for every command) to encrypt it"
        )
    return 0


def _passphrase() -> str | None:
    return os.environ.get("HELGENOM_GENOMEDB_PASSPHRASE") or None


def _context(args: argparse.Namespace) -> Any:
    from genomedb.context import Context

    return Context.open(args.home)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from genomedb.app import create_app

    options: dict[str, Any] = {}
    if args.workers > 1:  # each worker process opens the home itself (app_from_environment)
        Settings.load(args.home)  # fail here, not in every worker, if it is no home
        os.environ["HELGENOM_GENOMEDB_HOME"] = str(Path(args.home or default_home()).resolve())
        app: Any = "genomedb.app:app_from_environment"
        options = {"factory": True, "workers": args.workers}
    else:
        app = create_app(_context(args))
    uvicorn.run(
        app,
        **options,
        host=args.host,
        port=args.port,
        access_log=False,  # the audit log is the access log; uvicorn's would echo queries
        # h11 parses every request line, so that a request with any method reaches the
        # application and its audit entry (httptools answers unknown methods itself, unaudited)
        http="h11",
        log_level="warning",
        timeout_graceful_shutdown=10,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from genomedb.settings import Settings
    from genomedb_contract.crypto import generate_keypair

    if args.keys_command == "public":
        print(Settings.load(args.home).public_key.read_text(), end="")
        return 0
    generate_keypair(Path(args.secret), Path(args.public), _passphrase())
    print(f"secret key: {args.secret} (keep it; never send it)\npublic key: {args.public}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from genomedb import tokens
    from genomedb_contract.crypto import load_public_key

    ctx = _context(args)
    if args.token_command == "list":
        with ctx.engine.connect() as conn:
            _print(tokens.list_principals(conn))
        return 0
    if args.token_command == "revoke":
        with ctx.engine.begin() as conn:
            tokens.revoke(conn, args.id)
        ctx.record("token.revoke", {"principal": args.id})
        print(f"revoked {args.id}")
        return 0
    public = load_public_key(args.public_key) if args.public_key else None
    with ctx.engine.begin() as conn:
        principal, token = tokens.issue(
            conn,
            name=args.name,
            role=args.role,
            department=args.department,
            projects=args.project or [],
            public_key=public,
            expires_days=args.expires_days,
        )
    ctx.record(
        "token.issue",
        {"principal": principal.id, "role": principal.role, "department": principal.department},
    )
    print(
        f"issued {principal.id} ({principal.role}, {principal.department or '-'}, "
        f"projects: {', '.join(principal.projects) or '-'})",
        file=sys.stderr,
    )
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
    else:
        print(token)
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    from genomedb.admin import add_to_project

    ctx = _context(args)
    result = add_to_project(ctx, "cli", args.project, args.accession)
    ctx.record("projects.add_sample", {"project": args.project, "accession": args.accession})
    _print(result)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from genomedb.admin import delete_sample

    ctx = _context(args)
    tombstone = delete_sample(ctx, "cli", args.accession, args.reason)
    ctx.record("samples.delete", {"accession": args.accession}, detail=args.reason)
    _print(tombstone)
    return 0


def cmd_verify_audit(args: argparse.Namespace) -> int:
    from genomedb import audit, checkpoint

    ctx = _context(args)
    with ctx.engine.connect() as conn:
        result = audit.verify(conn, ctx.audit_key)
        anchored = None
        if args.checkpoints:
            public = checkpoint.load_public(
                Path(args.checkpoint_public_key or ctx.settings.checkpoint_public_key)
            )
            found = checkpoint.read_checkpoints(Path(args.checkpoints))
            anchored = checkpoint.check_checkpoints(conn, found, public)
    print(result)
    if anchored is not None:
        for problem in anchored.problems:
            print(f"BROKEN: {problem}")
        if anchored.ok:
            print(f"OK: {anchored.checked} checkpoint(s) of {args.checkpoints} match the log")
    ok = result.ok and (anchored is None or anchored.ok)
    if ok:  # a broken chain gets no new entry appended to it
        ctx.record("audit.verify", {}, detail=str(result))
    return 0 if ok else 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from genomedb import checkpoint

    ctx = _context(args)
    key = Path(args.key or ctx.settings.checkpoint_secret_key)
    with ctx.engine.connect() as conn:
        made = checkpoint.make_checkpoint(conn, key)
    checkpoint.append_checkpoint(Path(args.to), made)
    ctx.record("audit.checkpoint", {"seq": made["seq"], "to": str(Path(args.to).resolve())})
    print(f"checkpoint of entry {made['seq']} ({made['head'][:16]}...) appended to {args.to}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from genomedb.backup import backup

    ctx = _context(args)
    report = backup(ctx, Path(args.to))
    ctx.record("backup", {"to": str(Path(args.to).resolve())}, detail=report["audit"])
    _print(report)
    return 0


def cmd_scrub(args: argparse.Namespace) -> int:
    from genomedb.scrub import scrub

    ctx = _context(args)
    report = scrub(ctx)
    damaged = report["damaged"]
    ctx.record(
        "scrub",
        {"objects": report["objects"], "damaged": len(damaged)},
        detail="; ".join(f"{d['object']}: {d['problem']}" for d in damaged)[:2000],
    )
    _print(report)
    if damaged:
        print(
            f"{len(damaged)} damaged object(s): restore them from the backup (README: "
            "Running the database, Scrub)",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_verify_backup(args: argparse.Namespace) -> int:
    from genomedb.backup import verify_backup

    ctx = _context(args)
    _print(verify_backup(Path(args.dir), ctx.audit_key))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from genomedb.backup import restore

    ctx = _context(args)
    report = restore(ctx, Path(getattr(args, "from")))
    ctx.record("restore", {"from": str(Path(getattr(args, "from")).resolve())})
    _print(report)
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from genomedb.admin import gc

    ctx = _context(args)
    result = gc(ctx, args.older_than_hours)
    ctx.record("gc", result)
    _print(result)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from genomedb_contract.client import GenomeDBClient, read_token
    from genomedb_contract.crypto import load_keypair, load_public_key

    keys = load_keypair(Path(args.secret_key), _passphrase())
    with GenomeDBClient(args.url, read_token(args.token_file)) as client:
        out = client.fetch(args.object_id, args.out, keys, load_public_key(args.db_public_key))
    print(f"fetched {args.object_id} -> {out} (decrypted, checksums verified)")
    return 0


def cmd_deposit(args: argparse.Namespace) -> int:
    from genomedb_contract.client import deposit, read_token, write_receipt

    manifest = json.loads(Path(args.manifest).read_text())
    receipt = deposit(
        args.url,
        read_token(args.token_file),
        manifest,
        dict(args.files),
        args.db_public_key,
        retries=args.retries,
    )
    write_receipt(receipt, args.out)
    print(f"deposited {receipt['accession']} version {receipt['version']} -> {args.out}")
    return 0


def _key_path(text: str) -> tuple[str, Path]:
    key, sep, path = text.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"KEY=PATH, not {text!r}")
    return key, Path(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genomedb",
        description="The national genome database service (genomedb).",
    )
    parser.add_argument("--home", type=Path, default=None, help="the database's home folder")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create a home: keys, config, catalog")
    p.add_argument("--database-url", help="default: SQLite in the home")
    p.add_argument("--max-file-bytes", type=int, default=DEFAULT_MAX_FILE_BYTES)
    p.add_argument(
        "--no-passphrase",
        action="store_true",
        help="leave the secret key unencrypted even if HELGENOM_GENOMEDB_PASSPHRASE is set",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("HELGENOM_GENOMEDB_WORKERS", "1")),
        help="worker processes (one per core; default 1 or HELGENOM_GENOMEDB_WORKERS)",
    )
    p.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--ssl-keyfile", help="... and this private key (PEM)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="the database's public key; reader key pairs")
    keys = p.add_subparsers(dest="keys_command", required=True)
    keys.add_parser("public", help="print the database's public key")
    g = keys.add_parser("generate", help="make a crypt4gh key pair (for a reader)")
    g.add_argument("--secret", required=True)
    g.add_argument("--public", required=True)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("token", help="issue, list and revoke tokens")
    tok = p.add_subparsers(dest="token_command", required=True)
    i = tok.add_parser("issue")
    i.add_argument("--role", required=True)
    i.add_argument("--name", required=True)
    i.add_argument("--department")
    i.add_argument("--project", action="append", help="approved project (researchers)")
    i.add_argument("--public-key", help="the principal's crypt4gh public key (for reads)")
    expiry = i.add_mutually_exclusive_group(required=True)
    expiry.add_argument("--expires-days", type=float, help="the token expires after N days (> 0)")
    expiry.add_argument(
        "--no-expiry", action="store_true", help="the token never expires (revoke it by hand)"
    )
    i.add_argument("--out", help="write the token to this file (mode 0600) instead of stdout")
    tok.add_parser("list")
    r = tok.add_parser("revoke")
    r.add_argument("id")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("project", help="research projects")
    proj = p.add_subparsers(dest="project_command", required=True)
    a = proj.add_parser("add-sample", help="make a sample available to a project")
    a.add_argument("--project", required=True)
    a.add_argument("--accession", required=True)
    p.set_defaults(func=cmd_project)

    p = sub.add_parser("delete", help="delete a sample's content on request (withdrawn consent)")
    p.add_argument("--accession", required=True)
    p.add_argument("--reason", required=True, help="why (no personal data)")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("verify-audit", help="verify the audit log's hash chain")
    p.add_argument(
        "--checkpoints", help="a checkpoint file (genomedb checkpoint): also check its heads"
    )
    p.add_argument("--checkpoint-public-key", help="default: the home's keys/checkpoint.pub")
    p.set_defaults(func=cmd_verify_audit)

    p = sub.add_parser(
        "checkpoint", help="append a signed checkpoint of the audit chain's head to a file"
    )
    p.add_argument("--to", required=True, help="the checkpoint file (keep it off this host)")
    p.add_argument("--key", help="the signing key (default: the home's keys/checkpoint.sec)")
    p.set_defaults(func=cmd_checkpoint)

    p = sub.add_parser("backup", help="copy catalog and objects to a second location; verify")
    p.add_argument("--to", required=True)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "scrub", help="check every stored object against the checksum recorded at ingest"
    )
    p.set_defaults(func=cmd_scrub)

    p = sub.add_parser("verify-backup", help="verify a backup folder")
    p.add_argument("dir")
    p.set_defaults(func=cmd_verify_backup)

    p = sub.add_parser("restore", help="load a backup into this (empty) home")
    p.add_argument("--from", required=True)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("gc", help="remove abandoned staging deposits and orphan objects")
    p.add_argument("--older-than-hours", type=float)
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("fetch", help="read a DRS object as an authorised reader and decrypt it")
    p.add_argument("--url", required=True)
    p.add_argument("--token-file")
    p.add_argument("--object-id", required=True)
    p.add_argument("--secret-key", required=True, help="the reader's crypt4gh secret key")
    p.add_argument("--db-public-key", required=True, help="the database's public key")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("deposit", help="deposit a sample's files under a manifest, as a submitter")
    p.add_argument("--url", required=True)
    p.add_argument("--token-file")
    p.add_argument("--manifest", required=True, help="the manifest (JSON) of the files")
    p.add_argument("--files", nargs="+", required=True, type=_key_path, metavar="KEY=PATH")
    p.add_argument("--db-public-key", required=True, help="the database's public key")
    p.add_argument("--out", required=True, help="where to write the receipt (JSON)")
    p.add_argument("--retries", type=int, default=3)
    p.set_defaults(func=cmd_deposit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.home = (args.home or default_home()).resolve()
    try:
        return int(args.func(args))
    except GenomeDBError as error:
        print(f"genomedb: refused: {error.message}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as error:
        print(f"genomedb: {error}", file=sys.stderr)
        return 1
