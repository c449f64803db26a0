"""Real MySQL migrations from public projects (../shared/corpus): every file is linted with
its dialect found from its path, none fails to parse, every statement carries its online
answer, and findings on known statements are the ones an expert would give."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner
from corpus import CORPUS
from corpus import files as corpus_files

from migsafe.cli import main

pytestmark = [
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"shared migration corpus not found at {CORPUS}"
    ),
]
pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

# Statements read as Unknown, on purpose: calls of helper procedures whose bodies build
# their DDL as strings at run time (PREPARE … FROM @query), and those PREPAREs themselves.
UNKNOWN_FIRST_WORDS = {"CALL", "PREPARE", "EXECUTE", "DEALLOCATE"}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["lint", "--format", "json", *map(str, corpus_files("mysql"))]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    doc: dict[str, Any] = json.loads(result.output)
    return doc


def test_every_mysql_file_parses(report: dict[str, Any]) -> None:
    files = corpus_files("mysql")
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


def test_every_column_type_has_its_span() -> None:
    """Rules point at a column's type and fixes edit it: every type read from a MySQL file
    carries the place it is written, never the start of the file."""
    from migsafe import ops
    from migsafe.parse import mysql

    seen = 0
    for path in corpus_files("mysql"):
        text = path.read_text(encoding="utf-8")
        for st in mysql.parse(text):
            for op in st.ops:
                types = [c.type for c in op.columns] if isinstance(op, ops.CreateTable) else []
                if isinstance(op, ops.AddColumn):
                    types.append(op.column.type)
                if isinstance(op, ops.AlterColumnType):
                    types.append(op.type)
                for t in types:
                    seen += 1
                    written = text[t.span.start : t.span.end]
                    assert 0 < t.span.start < t.span.end, (path, t)
                    assert written.split("(")[0].split()[0].isalpha(), (path, written)
    assert seen > 1000


def test_no_fix_edits_the_start_of_a_file_it_does_not_change_there(
    report: dict[str, Any],
) -> None:
    starts = {
        f["path"]: {(s["line"], s["column"]) for s in f["statements"]} for f in report["files"]
    }
    for finding in report["findings"]:
        at_start = (1, 1) in starts[finding["path"]]
        if (finding["line"], finding["column"]) == (1, 1):
            assert at_start, finding
        for edit in (finding["fix"] or {}).get("edits", []):
            assert (edit["line"], edit["column"]) != (1, 1) or at_start, finding
