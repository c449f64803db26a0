"""Wall time of `migsafe trace` over each PostgreSQL migration set of the shared corpus, from
an empty database to head, and the average per statement traced.

Run from the repository root, against a server trace may create scratch databases on:

    python benchmarks/bench_trace.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Each figure is the median of N runs of the real command in a fresh process (scratch database
creation and removal included). supabase/auth's files are templates: they get
``--var Namespace=auth`` and a setup creating that schema, as its migrate command provides.
"""

from __future__ import annotations

import argparse
import csv
import json
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
SETS = (
    "supabase__auth",
    "documenso__documenso",
    "authelia__authelia",
    "dani-garcia__vaultwarden",
    "apache__dolphinscheduler",
)


def files(project: str) -> list[str]:
    """The set's PostgreSQL up migrations in the order its FILES.tsv gives."""
    with (CORPUS / project / "FILES.tsv").open(encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))
    return [
        str(CORPUS / project / r["path"])
        for r in rows
        if r["dialect"] == "postgres" and r["kind"] in ("up", "forward")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed-rows", type=int, default=0)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"the shared corpus is not at {CORPUS}: nothing to trace")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        "| set | files | statements traced | failed | not run | mismatches | time | per statement |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        setup = Path(tmp) / "supabase_setup.sql"
        setup.write_text("CREATE SCHEMA IF NOT EXISTS auth;\n", encoding="utf-8")
        for project in SETS:
            paths = files(project)
            cmd = [sys.executable, "-m", "migsafe", "trace", *paths, "--format", "json"]
            cmd += ["--database-url", args.database_url, "--seed-rows", str(args.seed_rows)]
            if project == "supabase__auth":
                cmd += ["--var", "Namespace=auth", "--setup", str(setup)]
            times, doc = [], {}
            for _ in range(args.repeat):
                start = time.perf_counter()
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                times.append(time.perf_counter() - start)
                doc = json.loads(done.stdout)
            entries = [st for f in doc["files"] for st in f["statements"]]
            observed = sum(1 for st in entries if st.get("observed") is not None)
            mismatches = sum(1 for f in doc["findings"] if f["rule"] == "lock-model-mismatch")
            median = statistics.median(times)
            print(
                f"| {project} | {len(paths)} | {observed} of {len(entries)} "
                f"| {doc['trace']['failed']} | {doc['trace']['not_run']} | {mismatches} "
                f"| {median:.2f} s | {1000 * median / max(len(entries), 1):.1f} ms |"
            )


if __name__ == "__main__":
    main()
