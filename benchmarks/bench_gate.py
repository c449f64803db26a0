"""Wall time of `migsafe gate --release 2.0.0` (the real command, a fresh process each run)
on a live database of 1,000 tables by 20 columns whose release ledger holds releases 1.0.0
and 2.0.0, each with a contract of the whole schema: the question a canary step asks. Also
the same decision in-process (`migsafe.gate.decide`), which `migsafe serve` pays per request.

Run from the repository root, against a server scratch databases may be created on:

    python benchmarks/bench_gate.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The figures are medians of N runs after one warm-up run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import psycopg
from wide_database import arguments, wide_database

from migsafe import gate, ledger
from migsafe.config import Config
from migsafe.contracts import from_database


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])
    with wide_database(args) as (server, dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for release in ("1.0.0", "2.0.0"):
                ledger.record(conn, ledger.Location(), release, from_database(dsn, release))
        command = [sys.executable, "-m", "migsafe", "gate", "--release", "2.0.0"]
        command += ["--database-url", dsn]
        process, inside = [], []
        for run in range(args.repeat + 1):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if run:
                process.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"migsafe gate exited {done.returncode}: {done.stdout}{done.stderr}")
            start = time.perf_counter()
            decision = gate.decide(dsn, "2.0.0", cfg=Config())
            if run:
                inside.append(time.perf_counter() - start)
            if decision.decision != gate.PASS:
                sys.exit(f"gate.decide said {decision.decision}: {decision.reason}")
        print(f"server: {server.label} (PostgreSQL {server.major})")
        for what, times in (("migsafe gate", process), ("gate.decide()", inside)):
            print(
                f"{what}, {args.tables} tables x {args.columns} columns, two contracts: median "
                f"{statistics.median(times):.3f} s (min {min(times):.3f} s, "
                f"max {max(times):.3f} s, {args.repeat} runs)"
            )


if __name__ == "__main__":
    main()
