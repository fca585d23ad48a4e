#!/usr/bin/env python3
"""Load benchmark of the genome database service: requests per second and latency
percentiles for metadata reads at N concurrent clients, on SQLite and on PostgreSQL.

For each backend: a fresh home with a running service (genomedb.testing.deployment, the
same as the tests), one deposited sample, then `--clients` connections send `--seconds` of
requests, a mix of the clinician's metadata reads: the sample (GET
/api/v1/samples/{accession}), a DRS object (GET /ga4gh/drs/v1/objects/{id}) and whoami. The
load comes from wrk (Debian package wrk, one thread) in its own process, so that the client's
Python does not take the server's CPU; without wrk, from Python threads (slower: the figures
then say more about the client). Every request is audited as in production; afterwards the
audit chain is verified and must hold an entry for every request answered. Prints one line
per backend:

    backend  clients  requests  req/s  p50 ms  p90 ms  p99 ms  max ms  errors  audit

Targets (issue 12): >= 1,000 req/s and p99 <= 100 ms at 20 clients, on both backends. Each
backend runs `--repeat` times (a fresh home each): on a shared virtual machine the figures
vary from run to run by up to a factor of two, so look at all of them.
PostgreSQL needs the test server (scripts/genomedb/pg_start.sh); without it that line says so.

    .venv/bin/python scripts/genomedb/benchmark_load.py [--clients 20] [--seconds 10]
        [--backend sqlite --backend postgresql] [--workers N (default: the cores)]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from genomedb import audit
from genomedb.catalog import audit_log
from genomedb.testing import BACKENDS, deployment, pg_server_url, sample_files


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


WRK_SCRIPT = """
paths = {%s}
n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Authorization"] = "Bearer %s"})
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def wrk_load(url: str, token: str, paths: list[str], clients: int, seconds: float, tmp: Path):
    """(requests, req/s, p50, p90, p99, max in ms, non-2xx) measured by wrk."""
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), token))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency"]
        + ["-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"([0-9]+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {q: _ms(v) for q, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M)}
    latency = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    errors = int(bad.group(1)) if bad else 0
    return requests, rate, pct["50"], pct["90"], pct["99"], _ms(latency), errors


def run(backend: str, clients: int, seconds: float) -> str:
    if backend == "postgresql" and pg_server_url() is None:
        return f"{backend:10}  (no PostgreSQL test server: run scripts/genomedb/pg_start.sh)"
    with (
        tempfile.TemporaryDirectory(prefix="genomedb-load-") as tmp,
        deployment(Path(tmp), backend) as db,
    ):
        files = sample_files(Path(tmp) / "in", "S-LOAD", size=2_000)
        db.register("S-LOAD")
        receipt = db.deposit("S-LOAD", files)
        accession, drs_id = receipt["accession"], receipt["files"]["vcf"]["drs_id"]
        paths = [
            f"/api/v1/samples/{accession}",
            f"/ga4gh/drs/v1/objects/{drs_id}",
            "/api/v1/whoami",
        ]
        token = db.principals["clinician"].token
        with db.ctx.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(audit_log)).scalar()
        if shutil.which("wrk"):
            n, rate, p50, p90, p99, worst, bad = wrk_load(
                db.url, token, paths, clients, seconds, Path(tmp)
            )
            with db.ctx.engine.connect() as conn:
                after = conn.execute(select(func.count()).select_from(audit_log)).scalar()
                chain = audit.verify(conn, db.ctx.audit_key)
            audited = after - before
            # wrk may leave requests unanswered at its deadline: each audited request was
            # answered or cut off, so the log holds at least the requests wrk counted.
            audit_ok = chain.ok and audited >= n
            return (
                f"{backend:10}  {clients:7}  {n:8}  {rate:6.0f}  {p50:6.1f}  {p90:6.1f}  "
                f"{p99:6.1f}  {worst:6.1f}  {bad:6}  {'OK' if audit_ok else 'FAIL'} "
                f"({audited} entries, chain {'verified' if chain.ok else 'BROKEN'}; wrk)"
            )
        latencies: list[list[float]] = [[] for _ in range(clients)]
        errors = [0] * clients
        start = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def client(i: int) -> None:
            with httpx.Client(
                base_url=db.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http:
                start.wait()
                n = i
                while time.perf_counter() < stop_at[0]:
                    began = time.perf_counter()
                    answer = http.get(paths[n % len(paths)])
                    latencies[i].append(time.perf_counter() - began)
                    if answer.status_code != 200:
                        errors[i] += 1
                    n += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + seconds
        began = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        every = [x for per in latencies for x in per]
        with db.ctx.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(audit_log)).scalar()
            chain = audit.verify(conn, db.ctx.audit_key)
        audited = after - before
        audit_ok = chain.ok and audited == len(every)
        ms = [x * 1000 for x in every]
        return (
            f"{backend:10}  {clients:7}  {len(every):8}  {len(every) / elapsed:6.0f}  "
            f"{statistics.median(ms):6.1f}  {_percentile(ms, 0.9):6.1f}  "
            f"{_percentile(ms, 0.99):6.1f}  {max(ms):6.1f}  {sum(errors):6}  "
            f"{'OK' if audit_ok else 'FAIL'} ({audited} entries, chain "
            f"{'verified' if chain.ok else 'BROKEN'})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per backend (a fresh home each; default 3)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="service worker processes"
    )
    args = parser.parse_args()
    os.environ["HELGENOM_GENOMEDB_WORKERS"] = str(args.workers)  # genomedb serve --workers
    print(f"genomedb serve --workers {args.workers}; load from wrk, one thread")
    print("backend     clients  requests   req/s  p50 ms  p90 ms  p99 ms  max ms  errors  audit")
    for backend in args.backend or BACKENDS:
        for _ in range(args.repeat):
            print(run(backend, args.clients, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
