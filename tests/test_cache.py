"""The lint cache: a second run over unchanged migrations answers from .migsafe_cache/
without linting, with the same report; any change to a file, the settings or migsafe's
code is a miss; a damaged entry is a miss, not an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe import cache
from migsafe.analysis import Analyzer
from migsafe.cli import main

SQL = {
    "0001_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY, name varchar(50));\n",
    "0002_idx.up.sql": "CREATE INDEX i ON users (name);\n",
    "0003_narrow.up.sql": "ALTER TABLE users ALTER COLUMN name TYPE varchar(10);\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    m = tmp_path / "migrations"
    m.mkdir()
    for name, sql in SQL.items():
        (m / name).write_text(sql, encoding="utf-8")
    return tmp_path


def lint(cwd: Path, *args: str) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["lint", "--format", "json", *args, "migrations"])
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def entries(project: Path) -> list[Path]:
    folder = project / ".migsafe_cache" / f"v{cache._FORMAT}"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def refuse_to_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError("linted although the cache holds the answer")

    monkeypatch.setattr(Analyzer, "run", run)


def test_second_run_answers_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lint(project)
    assert first[0] == 1
    assert len(entries(project)) == 1
    assert (project / ".migsafe_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    with monkeypatch.context() as patch:
        refuse_to_lint(patch)
        assert lint(project) == first
    assert len(entries(project)) == 1


def test_any_change_is_a_miss(project: Path) -> None:
    _, before = lint(project)
    # Only the earlier migration changes: the later one's findings depend on it.
    (project / "migrations" / "0001_users.up.sql").write_text(
        "CREATE TABLE users (id int PRIMARY KEY, name varchar(5));\n", encoding="utf-8"
    )
    _, after = lint(project)
    assert "column-type-narrowing" in before and "column-type-narrowing" not in after
    assert len(entries(project)) == 2
    lint(project, "--select", "require-concurrent-index")
    lint(project, "--pg-version", "11")
    lint(project, "--strict")
    lint(project, "--server-version", "mariadb-10.11")
    lint(project, "--dialect", "mysql")
    assert len(entries(project)) == 7


def test_mysql_online_answers_survive_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sqlglot")
    (project / "migrations" / "0002_idx.up.sql").write_text(
        "ALTER TABLE users ADD COLUMN age int, ALGORITHM=INSTANT;\n", encoding="utf-8"
    )
    first = lint(project, "--dialect", "mariadb")
    assert '"online"' in first[1] and '"INSTANT"' in first[1]
    with monkeypatch.context() as patch:
        refuse_to_lint(patch)
        assert lint(project, "--dialect", "mariadb") == first


def test_no_cache_neither_reads_nor_writes(project: Path) -> None:
    lint(project, "--no-cache")
    assert not (project / ".migsafe_cache").exists()


def test_a_damaged_entry_is_linted_again(project: Path) -> None:
    _, good = lint(project)
    (entry,) = entries(project)
    entry.write_bytes(b"not a pickle")
    assert lint(project) == (1, good)
    assert entry.read_bytes() != b"not a pickle"


def test_an_entry_naming_a_missing_module_is_linted_again(project: Path) -> None:
    # Unpickling this entry imports `migsafe.opX`: ModuleNotFoundError, not a read error.
    _, good = lint(project)
    (entry,) = entries(project)
    data = entry.read_bytes()
    assert b"migsafe.ops" in data
    entry.write_bytes(data.replace(b"migsafe.ops", b"migsafe.opX"))
    assert lint(project) == (1, good)
    assert b"migsafe.opX" not in entry.read_bytes()


def test_the_cache_lives_beside_the_config(project: Path) -> None:
    (project / "migsafe.toml").write_text("pg-version = 15\n", encoding="utf-8")
    sub = project / "migrations"
    old = Path.cwd()
    os.chdir(sub)
    try:
        result = CliRunner().invoke(main, ["lint", "0002_idx.up.sql"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert entries(project) and not (sub / ".migsafe_cache").exists()


REVISIONS = {
    "a1_users.py": """\
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table(
        "users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50))
    )
""",
    "b2_name.py": """\
import sqlalchemy as sa
from alembic import op

from sizes import NAME

revision = "b2"
down_revision = "a1"


def upgrade():
    op.alter_column("users", "name", type_=sa.String(NAME))
""",
}


def test_an_alembic_revision_is_keyed_by_what_it_was_rendered_into(tmp_path: Path) -> None:
    """The revision's text stays the same while the helper module it imports changes what
    it does: the next run is a miss with the new finding."""
    pytest.importorskip("alembic", reason="rendering needs Alembic")
    versions = tmp_path / "versions"
    versions.mkdir()
    for name, text in REVISIONS.items():
        (versions / name).write_text(text, encoding="utf-8")
    sizes = tmp_path / "sizes.py"

    def run() -> str:
        # A process per run, as a hook or an editor runs migsafe: a module the revision
        # imported stays imported within one process.
        done = subprocess.run(
            [sys.executable, "-m", "migsafe", "lint", "--format", "json", "versions"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    sizes.write_text("NAME = 100\n", encoding="utf-8")
    assert "column-type-narrowing" not in run()
    sizes.write_text("NAME = 10\n", encoding="utf-8")
    assert "column-type-narrowing" in (last := run())
    assert len(entries(tmp_path)) == 2
    # Read the same way in a new process: a hit.
    assert run() == last and len(entries(tmp_path)) == 2
