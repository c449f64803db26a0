"""The 1,000-table database the introspection and check benchmarks share: its command-line
options and a context manager that builds it in a scratch database."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_introspect import wide_schema_sql

from migsafe.db.ephemeral import Server, connect, open_server, scratch_on


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=20)
    return parser.parse_args()


@contextlib.contextmanager
def wide_database(args: argparse.Namespace) -> Iterator[tuple[Server, str]]:
    """(server, DSN of a scratch database holding the wide schema), dropped afterwards."""
    with open_server(args.database_url) as server, scratch_on(server, "migsafe_bench") as dsn:
        with connect(dsn) as conn:
            conn.execute(wide_schema_sql(args.tables, args.columns).encode())
        yield server, dsn
