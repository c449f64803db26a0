"""Wall time of :func:`migsafe.db.introspect.introspect` on a database of 1,000 tables by 20
columns (each with a primary key, a foreign key, a check, a default and an index), and the
number of catalog queries it ran.

Run from the repository root, against a server scratch databases may be created on:

    python benchmarks/bench_introspect.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Without ``--database-url`` the first server ``migsafe trace`` can get is used. Each figure is
the median of N runs in this process (connection set-up included), after one warm-up run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_introspect import wide_schema_sql  # noqa: E402

from migsafe.db.ephemeral import connect, open_server, scratch_on  # noqa: E402
from migsafe.db.introspect import QUERIES, introspect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=20)
    args = parser.parse_args()
    with open_server(args.database_url) as server, scratch_on(server, "migsafe_bench") as dsn:
        with connect(dsn) as conn:
            conn.execute(wide_schema_sql(args.tables, args.columns).encode())
        introspect(dsn)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            schema = introspect(dsn)
            times.append(time.perf_counter() - start)
        columns = sum(len(t.columns) for t in schema.tables.values())
        print(f"server: {server.label} (PostgreSQL {server.major})")
        print(f"machine: {platform.machine()}, Python {platform.python_version()}")
        print(
            f"{len(schema.tables)} tables, {columns} columns, {len(schema.indexes)} indexes: "
            f"{len(QUERIES)} queries, median {statistics.median(times):.3f} s "
            f"(min {min(times):.3f} s, max {max(times):.3f} s, {args.repeat} runs)"
        )


if __name__ == "__main__":
    main()
