"""``migsafe check`` takes the live database's URL from $MIGSAFE_DATABASE_URL, so a job
(the Helm pre-rollback hook) need not put the password in its arguments; given PATHS it
replays them as before, whatever the environment holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.contracts import from_database, save
from migsafe.db.ephemeral import Server, scratch_on

UNREACHABLE = "postgresql://app:hunter2@127.0.0.1:1/prod"


@pytest.fixture
def project(
    pg_default_server_info: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    with scratch_on(pg_default_server_info, "migsafe_check_env") as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text)")
        save(from_database(dsn, "1.0.0"), tmp_path / ".migsafe" / "contracts" / "1.0.0.json")
        (tmp_path / "migrations").mkdir()
        (tmp_path / "migrations" / "0001_base.sql").write_text(
            "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n", encoding="utf-8"
        )
        monkeypatch.chdir(tmp_path)
        yield tmp_path, dsn


@pytest.mark.postgres
def test_check_reads_the_database_url_from_the_environment(
    project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, dsn = project
    monkeypatch.setenv("MIGSAFE_DATABASE_URL", dsn)
    done = CliRunner().invoke(main, ["check", "--against", "1.0.0"])
    assert done.exit_code == 0, done.output
    assert "release 1.0.0 works on this schema (1 tables checked)" in done.output
    monkeypatch.setenv("MIGSAFE_DATABASE_URL", UNREACHABLE)
    down = CliRunner().invoke(main, ["check", "--against", "1.0.0"])
    assert down.exit_code == 2
    assert "cannot read the schema of the database" in down.output
    assert "hunter2" not in down.output


@pytest.mark.postgres
def test_check_with_paths_replays_whatever_the_environment_holds(
    project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGSAFE_DATABASE_URL", UNREACHABLE)
    done = CliRunner().invoke(main, ["check", "--against", "1.0.0", "migrations"])
    assert done.exit_code == 0, done.output
    both = CliRunner().invoke(
        main, ["check", "--against", "1.0.0", "--database-url", UNREACHABLE, "migrations"]
    )
    assert both.exit_code == 2
    assert "--database-url reads a live database" in both.output
