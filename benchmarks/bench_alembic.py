"""Wall time of `migsafe lint` on the shared corpus's Alembic histories (CTFd, quay; their
applications not installed), with and without Alembic installed for offline rendering,
and on one revision file named alone (what the pre-commit hook pays: its folder's history
is read as context).

Run from the repository root:  python benchmarks/bench_alembic.py [--repeat N]
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
FOLDERS = ("CTFd__CTFd/versions", "quay__quay/versions")
# A stand-in for a missing Alembic, so the run shows the static reader alone.
NO_ALEMBIC = "import sys; sys.modules['alembic'] = None; from migsafe.cli import main; main()"


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
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}")
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    folders = [str(CORPUS / f) for f in FOLDERS]
    files = sum(len(list((CORPUS / f).glob("*.py"))) for f in FOLDERS)
    lint = ["lint", "--exit-zero", *folders]
    rendered = wall([sys.executable, "-m", "migsafe", *lint], args.repeat)
    static = wall([sys.executable, "-c", NO_ALEMBIC, *lint], args.repeat)
    print(f"migsafe lint, {files} revisions, offline rendering on: {rendered:.2f} s")
    print(f"migsafe lint, {files} revisions, static reader only: {static:.2f} s")
    with (CORPUS / "quay__quay" / "FILES.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    # The head of quay's history: every revision before it is context.
    last = CORPUS / "quay__quay" / max(rows, key=lambda r: int(r["order"]))["path"]
    one = wall([sys.executable, "-c", NO_ALEMBIC, "lint", "--exit-zero", str(last)], args.repeat)
    print(f"migsafe lint, quay's head revision with its history as context: {one:.2f} s")


if __name__ == "__main__":
    main()
