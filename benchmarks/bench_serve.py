"""Throughput and latency of ``GET /v1/gate`` on a running ``migsafe serve``.

The server runs as its own process (``migsafe serve --port 0``, uvicorn) against a scratch
database of N tables by M columns whose ledger holds releases 1.0.0 and 2.0.0; C client
threads, each on a kept-alive connection, send R requests in all, and every answer must be
HTTP 200 ``pass``. Two runs: with the decision cache (the default 5 s TTL) and without it
(``--cache-ttl 0``: every request reads the live schema, shared only between requests in
flight at the same moment).

Run from the repository root, against a server scratch databases may be created on:

    python benchmarks/bench_serve.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Client and server share the machine's cores, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wide_database import wide_schema_sql

from migsafe import ledger
from migsafe.contracts import from_database
from migsafe.db.ephemeral import connect, open_server, scratch_on

TOKEN = "bench-token-0123456789abcdef"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--columns", type=int, default=10)
    return parser.parse_args()


def start(dsn: str, folder: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    env = dict(os.environ, MIGSAFE_DATABASE_URL=dsn, MIGSAFE_SERVE_TOKEN=TOKEN)
    err = folder / "stderr.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "migsafe", "serve", "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=err.open("wb"),
        env=env,
    )
    for _ in range(600):
        found = re.search(r"running on http://127\.0\.0\.1:(\d+)", err.read_text())
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"migsafe serve did not start:\n{err.read_text()}")


def load(port: int, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """(wall time, latency of each request); raises if any answer is not 200 pass."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(count):
            began = time.perf_counter()
            conn.request(
                "GET", "/v1/gate?release=2.0.0", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            resp = conn.getresponse()
            body = resp.read()
            mine.append(time.perf_counter() - began)
            if resp.status != 200 or json.loads(body)["decision"] != "pass":
                with lock:
                    failures.append(f"{resp.status} {body[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} bad answers, e.g. {failures[0]}")
    return wall, latencies


def main() -> None:
    args = arguments()
    with (
        open_server(args.database_url) as server,
        scratch_on(server, "migsafe_bench") as dsn,
        tempfile.TemporaryDirectory() as tmp,
    ):
        with connect(dsn) as conn:
            conn.execute(wide_schema_sql(args.tables, args.columns).encode())
            conn.commit()
            where = ledger.Location()
            ledger.record(conn, where, "1.0.0", from_database(dsn, "1.0.0"), status="live")
            ledger.record(conn, where, "2.0.0", from_database(dsn, "2.0.0"))
            conn.commit()
        print(f"server: {server.label} (PostgreSQL {server.major})")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"schema: {args.tables} tables x {args.columns} columns; "
            f"{args.requests} requests from {args.concurrency} connections"
        )
        for label, extra in (
            ("cached (TTL 5 s)", ()),
            ("uncached (--cache-ttl 0)", ("--cache-ttl", "0")),
        ):
            process, port = start(dsn, Path(tmp), *extra)
            try:
                load(port, min(args.requests, 50), args.concurrency)  # warm-up
                wall, latencies = load(port, args.requests, args.concurrency)
            finally:
                process.terminate()
                process.wait()
            cuts = statistics.quantiles(latencies, n=100)
            print(
                f"{label}: {len(latencies) / wall:.0f} requests/s, "
                f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, "
                f"p99 {cuts[98] * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
