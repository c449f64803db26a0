"""Wall time of `migsafe lint` on the shared corpus's MySQL files (dialect from their
`mysql/` folders), and on one small MySQL file (what a pre-commit hook pays).

Run from the repository root:  python benchmarks/bench_mysql_lint.py [--repeat N]
Each figure is the median of N runs of the real command in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from bench_lint import CORPUS, corpus_files, wall

SMALL = (
    "ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL, ALGORITHM=INSTANT;\n"
    "CREATE INDEX users_nick ON users (nickname) ALGORITHM=INPLACE LOCK=NONE;\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    migsafe = [sys.executable, "-m", "migsafe", "lint", "--exit-zero", "--no-cache"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "mysql" / "0001_small.sql"
        small.parent.mkdir()
        small.write_text(SMALL, encoding="utf-8")
        print(f"one small MySQL file: {wall([*migsafe, str(small)], args.repeat):.2f} s")
    files = corpus_files("mysql")
    if not files:
        print(f"corpus not found at {CORPUS}: skipped")
        return
    print(f"corpus, {len(files)} MySQL files: {wall([*migsafe, *files], args.repeat):.2f} s")


if __name__ == "__main__":
    main()
