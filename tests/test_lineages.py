"""One run over several lines of migrations (a project's mysql/ and postgresql/ folders,
SQL files beside an Alembic versions folder): each builds its own schema, and none sees the
other's tables."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migsafe.analysis import Analyzer, Settings
from migsafe.cli import main
from migsafe.sources import Migration

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")


def lint(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["lint", "--no-cache", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    doc: dict[str, Any] = json.loads(result.output)
    assert doc["errors"] == []
    return doc


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_mysql_file_does_not_hide_a_postgresql_files_own_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "db/mysql/001_init.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n")
    write(
        tmp_path / "db/pg/001_init.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
        "CREATE INDEX users_email ON users (email);\n",
    )
    monkeypatch.chdir(tmp_path)
    doc = lint("db/mysql/001_init.sql", "db/pg/001_init.sql")
    rules = {f["rule"] for f in doc["findings"] if f["path"] == "db/pg/001_init.sql"}
    assert rules == {"prefer-robust-statements"}


def test_sql_files_and_alembic_revisions_keep_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL files made users.name varchar(100); the Alembic revision narrowing a
    users.name of its own knows nothing of that type."""
    write(tmp_path / "sql/001.sql", "CREATE TABLE users (id bigint, name varchar(100));\n")
    write(
        tmp_path / "versions/a1_step.py",
        textwrap.dedent(
            """\
            import sqlalchemy as sa
            from alembic import op

            revision = "a1"
            down_revision = None


            def upgrade():
                op.alter_column("users", "name", type_=sa.String(20))


            def downgrade():
                pass
            """
        ),
    )
    monkeypatch.chdir(tmp_path)
    alone = lint("sql/001.sql")
    together = lint("sql/001.sql", "versions")
    assert len(together["files"]) == 2
    assert "column-type-narrowing" not in {f["rule"] for f in together["findings"]}
    sql = [f for f in together["findings"] if f["path"] == "sql/001.sql"]
    assert sql == alone["findings"]


def test_each_lineage_keeps_its_own_schema_through_the_others_up_and_down() -> None:
    """MySQL's users.name stays varchar(100) while PostgreSQL creates and its down drops a
    users table of its own: narrowing it later is seen for what it is."""
    mysql = Migration(
        path=Path("mysql/001.sql"),
        display="m1",
        text="CREATE TABLE users (id INT, name VARCHAR(100));\n",
    )
    pg = Migration(path=Path("pg/001.sql"), display="p1", text="CREATE TABLE users (id int);\n")
    pg_down = Migration(
        path=Path("pg/001.down.sql"), display="p1d", text="DROP TABLE users;\n", direction="down"
    )
    mysql_later = Migration(
        path=Path("mysql/002.sql"),
        display="m2",
        text="ALTER TABLE users MODIFY name VARCHAR(20);\n",
    )
    result = Analyzer(Settings(select=frozenset({"column-type-narrowing"}))).run(
        [mysql, pg, pg_down, mysql_later]
    )
    assert result.errors == []
    assert [(f.path, f.rule) for f in result.findings] == [("m2", "column-type-narrowing")]
