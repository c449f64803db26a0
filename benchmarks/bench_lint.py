"""Wall time of `migsafe lint` on the shared corpus's PostgreSQL files, cold (`--no-cache`)
and warm (answered from `.migsafe_cache/`), next to squawk's when installed
(`pip install squawk-cli`), and on one small file (what a pre-commit hook pays).

Run from the repository root:  python benchmarks/bench_lint.py [--repeat N]
Each figure is the median of N runs of the real command in a fresh process.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SMALL = (
    "ALTER TABLE users ADD COLUMN nickname text;\n"
    "CREATE INDEX CONCURRENTLY users_nick ON users (nickname);\n"
)


def corpus_files(dialect: str = "postgres") -> list[str]:
    """The corpus files FILES.tsv marks with ``dialect``, project by project, in apply order."""
    files: list[str] = []
    if not CORPUS.is_dir():
        return files
    for project in sorted(CORPUS.iterdir()):
        manifest = project / "FILES.tsv"
        if manifest.is_file():
            with manifest.open(encoding="utf-8") as fh:
                rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))
            files += [str(project / r["path"]) for r in rows if r["dialect"] == dialect]
    return files


# As installed by pip, modules come with their bytecode; an environment that forbids writing
# it would make every run compile migsafe afresh, which no user pays.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def walls(cmds: dict[str, list[str]], repeat: int, cwd: str | None = None) -> dict[str, float]:
    """The median wall time of each command, run in turn in every round after one warm-up
    round, so that the load of a shared machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for run in range(repeat + 1):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                cwd=cwd,
                env=ENV,
            )
            if run:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def wall(cmd: list[str], repeat: int) -> float:
    return walls({"": cmd}, repeat)[""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    migsafe = [sys.executable, "-m", "migsafe", "lint", "--exit-zero", "--no-cache"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "0001_small.up.sql"
        small.write_text(SMALL, encoding="utf-8")
        one = wall([*migsafe, str(small)], args.repeat)
        print(f"migsafe lint, one small file: {one * 1000:.0f} ms")

    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}; skipping the corpus comparison")
        return
    files = corpus_files()
    squawk = shutil.which("squawk")
    with tempfile.TemporaryDirectory() as project:
        # The cache lives in the current folder here (no config file above a temp folder).
        cached = [c for c in migsafe if c != "--no-cache"]
        subprocess.run([*cached, *files], stdout=subprocess.DEVNULL, check=False, cwd=project)
        cmds = {"cold": [*migsafe, *files], "warm": [*cached, *files]}
        if squawk is not None:
            cmds["squawk"] = [squawk, *files]
        t = walls(cmds, args.repeat, cwd=project)
    print(f"migsafe lint, corpus ({len(files)} PostgreSQL files), cold: {t['cold']:.2f} s")
    print(f"migsafe lint, corpus, warm (from .migsafe_cache): {t['warm']:.2f} s")
    if squawk is None:
        print("squawk not installed (pip install squawk-cli); no comparison")
        return
    print(f"squawk, same files: {t['squawk']:.2f} s")
    print(
        f"ratio migsafe / squawk: cold {t['cold'] / t['squawk']:.2f}, "
        f"warm {t['warm'] / t['squawk']:.2f}"
    )


if __name__ == "__main__":
    main()
