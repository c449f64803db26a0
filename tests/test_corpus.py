"""Real migrations from public projects (../shared/corpus): every PostgreSQL file that
PostgreSQL's parser accepts is linted, templated ones included; nothing crashes; and the
findings on a few known statements are the ones an expert would give."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import CORPUS
from corpus import files as corpus_files

from migsafe.cli import main

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared migration corpus not found at {CORPUS}"
)

# Files PostgreSQL itself rejects: MySQL's DELIMITER command left in a PostgreSQL script.
KNOWN_INVALID = {
    "apache__dolphinscheduler/upgrade/3.2.1_schema/postgresql/dolphinscheduler_ddl.sql": 19,
    "apache__dolphinscheduler/upgrade/3.2.2_schema/postgresql/dolphinscheduler_ddl.sql": 35,
    "apache__dolphinscheduler/upgrade/3.3.0_schema/postgresql/dolphinscheduler_ddl.sql": 89,
}


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    files = corpus_files("postgres")
    result = CliRunner().invoke(main, ["lint", "--format", "json", *map(str, files)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    doc: dict[str, object] = json.loads(result.output)
    doc["exit_code"] = result.exit_code
    return doc


def rel(path: str) -> str:
    return str(Path(path).resolve().relative_to(CORPUS))


def test_every_file_is_linted_or_a_real_syntax_error(report: dict[str, object]) -> None:
    files = corpus_files("postgres")
    assert len(files) > 300
    errors = {rel(e["path"]): e for e in report["errors"]}  # type: ignore[attr-defined]
    assert set(errors) == set(KNOWN_INVALID)
    for path, line in KNOWN_INVALID.items():
        assert errors[path]["line"] == line
        assert "delimiter" in errors[path]["message"]
    assert report["exit_code"] == 2
    summary = report["summary"]
    assert summary["files"] == len(files)  # type: ignore[index]
    assert summary["statements"] > 1800  # type: ignore[index]


def test_templated_files_lint_with_placeholders_as_written(report: dict[str, object]) -> None:
    templated = {
        str(p.relative_to(CORPUS))
        for p in (CORPUS / "supabase__auth").glob("*.sql")
        if "{{" in p.read_text(encoding="utf-8")
    }
    assert len(templated) > 50
    linted = {rel(f["path"]) for f in report["files"] if f["statements"]}  # type: ignore[attr-defined]
    assert templated - linted == set()
    names = {
        name
        for f in report["files"]  # type: ignore[attr-defined]
        for s in f["statements"]
        for name in s["locks"]
    }
    assert '{{ index .Options "Namespace" }}.users' in names


def test_findings_an_expert_would_give(report: dict[str, object]) -> None:
    by_place: dict[tuple[str, int], set[str]] = {}
    for f in report["findings"]:  # type: ignore[attr-defined]
        by_place.setdefault((rel(f["path"]), f["line"]), set()).add(f["rule"])
    counts = Counter(f["rule"] for f in report["findings"])  # type: ignore[attr-defined]
    # Documenso adds foreign keys to existing tables without NOT VALID, builds indexes on
    # existing tables without CONCURRENTLY, and drops columns.
    for rule in ("constraint-missing-not-valid", "require-concurrent-index", "drop-column"):
        assert counts[rule] > 0, rule
    # Tables created in the same migration never get locking findings.
    first = "documenso__documenso/20230404095503_initial_migration/migration.sql"
    locking = {"require-concurrent-index", "constraint-missing-not-valid", "require-lock-timeout"}
    assert not any(rules & locking for (path, _), rules in by_place.items() if path == first)
