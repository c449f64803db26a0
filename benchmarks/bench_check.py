"""Wall time of `migsafe check --against 1.0.0 --database-url …` (the real command, a fresh
process each run) on a live database of 1,000 tables by 20 columns, against a contract
captured from that same database: the question a deploy gate asks at every step.

Run from the repository root, against a server scratch databases may be created on:

    python benchmarks/bench_check.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Without ``--database-url`` the first server ``migsafe trace`` can get is used. The figure is
the median of N runs after one warm-up run; interpreter start-up and imports included.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wide_database import arguments, wide_database

from migsafe.contracts import from_database, save


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])
    with wide_database(args) as (server, dsn), tempfile.TemporaryDirectory() as tmp:
        save(from_database(dsn, "1.0.0"), Path(tmp) / ".migsafe" / "contracts" / "1.0.0.json")
        command = [sys.executable, "-m", "migsafe", "check", "--against", "1.0.0"]
        command += ["--database-url", dsn]
        times = []
        for run in range(args.repeat + 1):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)
            if run:
                times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"migsafe check exited {done.returncode}: {done.stdout}{done.stderr}")
        print(f"server: {server.label} (PostgreSQL {server.major})")
        print(
            f"migsafe check, {args.tables} tables x {args.columns} columns: median "
            f"{statistics.median(times):.3f} s (min {min(times):.3f} s, max {max(times):.3f} s, "
            f"{args.repeat} runs)"
        )


if __name__ == "__main__":
    main()
