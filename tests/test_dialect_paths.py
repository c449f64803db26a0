"""Which dialect a file is read in, from the folders it sits in: only those inside the
project (the config file's folder, else the current one) and the file's own folder count,
however the path is spelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migsafe import cache
from migsafe.analysis import Settings
from migsafe.cli import main
from migsafe.sources import Migration

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

MYSQL_ONLY = "CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN c INT, ALGORITHM=INSTANT;\n"
POSTGRESQL_ONLY = "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY i ON t (id);\n"


def lint(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["lint", "--no-cache", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_linting_the_mysql_folder_from_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "db" / "mysql" / "001_init.sql", MYSQL_ONLY)
    monkeypatch.chdir(tmp_path / "db" / "mysql")
    code, doc = lint(".")
    assert doc["errors"] == [] and code == 0
    (f,) = doc["files"]
    assert all("online" in s for s in f["statements"])


@pytest.mark.parametrize("config", [True, False], ids=["config", "no-config"])
def test_a_folder_named_mysql_above_the_project_does_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: bool
) -> None:
    app = tmp_path / "mysql" / "app"
    migration = write(app / "migrations" / "001.sql", POSTGRESQL_ONLY)
    if config:
        write(app / "pyproject.toml", "[tool.migsafe]\n")
        monkeypatch.chdir(app / "migrations")
    else:
        monkeypatch.chdir(app)
    _, doc = lint(str(migration))
    assert doc["errors"] == []
    (f,) = doc["files"]
    assert not any("online" in s for s in f["statements"])


def test_a_mysql_folder_inside_the_project_counts_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "migsafe.toml", "")
    write(tmp_path / "db" / "mysql" / "v1" / "001.sql", MYSQL_ONLY)
    monkeypatch.chdir(tmp_path / "db")
    code, doc = lint(str(Path("mysql") / "v1"))
    assert doc["errors"] == [] and code == 0


def test_the_cache_key_holds_each_migrations_dialect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file name and text in a mysql and a postgresql folder, linted from inside
    each: different dialects, so different entries."""
    keys = []
    for name in ("mysql", "pg"):
        write(tmp_path / name / "001.sql", "CREATE TABLE t (id INT);\n")
        monkeypatch.chdir(tmp_path / name)
        m = Migration(path=Path("001.sql"), display="001.sql", text="CREATE TABLE t (id INT);\n")
        keys.append(cache.key([m], Settings()))
    assert keys[0] != keys[1]
