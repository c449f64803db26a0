"""Real MySQL migrations from public projects (../shared/corpus): every file is linted with
its dialect found from its path, none fails to parse, every statement carries its online
answer, and findings on known statements are the ones an expert would give."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migsafe.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

pytestmark = [
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"shared migration corpus not found at {CORPUS}"
    ),
]
pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

# Statements read as Unknown, on purpose: calls of helper procedures whose bodies build
# their DDL as strings at run time (PREPARE … FROM @query), and those PREPAREs themselves.
UNKNOWN_FIRST_WORDS = {"CALL", "PREPARE", "EXECUTE", "DEALLOCATE"}


def mysql_files() -> list[Path]:
    files = []
    for project in sorted(CORPUS.iterdir()):
        manifest = project / "FILES.tsv"
        if not manifest.is_file():
            continue
        with manifest.open(encoding="utf-8") as fh:
            rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))
        files.extend(project / r["path"] for r in rows if r["dialect"] == "mysql")
    return files


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["lint", "--format", "json", *map(str, mysql_files())])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    doc: dict[str, Any] = json.loads(result.output)
    return doc


def test_every_mysql_file_parses(report: dict[str, Any]) -> None:
    files = mysql_files()
    assert len(files) >= 180
    assert report["errors"] == []
    assert report["summary"]["files"] == len(files)
    assert report["summary"]["statements"] > 1200
    statements = [s for f in report["files"] for s in f["statements"]]
    assert all("online" in s for s in statements)
    unknown = {s["sql"].split()[0].upper() for s in statements if s["op"] == "unknown"}
    assert unknown <= UNKNOWN_FIRST_WORDS


def test_findings_an_expert_would_give(report: dict[str, Any]) -> None:
    counts = Counter(f["rule"] for f in report["findings"])
    for rule in ("mysql-table-copy", "mysql-charset-change", "mysql-lock-not-none"):
        assert counts[rule] > 0, rule
    # PostgreSQL's lock rules never speak about MySQL files.
    assert not {"require-concurrent-index", "require-lock-timeout", "ban-char"} & set(counts)
    by_place = {(f["path"].split("corpus/")[-1], f["line"]): f["rule"] for f in report["findings"]}
    # authelia re-adds foreign keys with checks on: the table is copied to check them.
    assert by_place[("authelia__authelia/mysql/V0005.ConsentSubjectNULL.down.sql", 3)] == (
        "mysql-lock-not-none"
    )
    # dolphinscheduler converts whole tables to utf8mb4.
    ddl = "apache__dolphinscheduler/upgrade/3.2.0_schema/mysql/dolphinscheduler_ddl.sql"
    assert by_place[(ddl, 357)] == "mysql-charset-change"
