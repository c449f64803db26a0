"""Wall time of :func:`migsafe.db.introspect.introspect` on a database of 1,000 tables by 20
columns (each with a primary key, a foreign key, a check, a default and an index), and the
number of catalog queries it ran.

Run from the repository root, against a server scratch databases may be created on:

    python benchmarks/bench_introspect.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Without ``--database-url`` the first server ``migsafe trace`` can get is used. Each figure is
the median of N runs in this process (connection set-up included), after one warm-up run.
"""

from __future__ import annotations

import platform
import statistics
import time

from wide_database import arguments, wide_database

from migsafe.db.introspect import QUERIES, introspect


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])
    with wide_database(args) as (server, dsn):
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
