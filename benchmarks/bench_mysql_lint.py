"""Wall time of `migsafe lint` on the shared corpus's MySQL files (dialect from their
`mysql/` folders), and on one small MySQL file (what a pre-commit hook pays).

Run from the repository root:  python benchmarks/bench_mysql_lint.py [--repeat N]
Each figure is the median of N runs of the real command in a fresh process.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SMALL = (
    "ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL, ALGORITHM=INSTANT;\n"
    "CREATE INDEX users_nick ON users (nickname) ALGORITHM=INPLACE LOCK=NONE;\n"
)


def corpus_files() -> list[str]:
    files: list[str] = []
    if not CORPUS.is_dir():
        return files
    for project in sorted(CORPUS.iterdir()):
        manifest = project / "FILES.tsv"
        if manifest.is_file():
            with manifest.open(encoding="utf-8") as fh:
                rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))
            files += [str(project / r["path"]) for r in rows if r["dialect"] == "mysql"]
    return files


def wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    migsafe = [sys.executable, "-m", "migsafe", "lint", "--exit-zero"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "mysql" / "0001_small.sql"
        small.parent.mkdir()
        small.write_text(SMALL, encoding="utf-8")
        print(f"one small MySQL file: {wall([*migsafe, str(small)], args.repeat):.2f} s")
    files = corpus_files()
    if not files:
        print(f"corpus not found at {CORPUS}: skipped")
        return
    print(f"corpus, {len(files)} MySQL files: {wall([*migsafe, *files], args.repeat):.2f} s")


if __name__ == "__main__":
    main()
