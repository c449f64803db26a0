"""The release ledger on a real PostgreSQL: created on first use, idempotent, ordered, and
safe when two deploys record at the same moment."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from migsafe import ledger
from migsafe.cli import main
from migsafe.contracts import Contract, from_database, save
from migsafe.db.ephemeral import Server, scratch_on

pytestmark = pytest.mark.postgres
HERE = ledger.Location()


@pytest.fixture
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    with scratch_on(pg_default_server_info, "migsafe_ledger") as fresh:
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL)")
        yield fresh


def contract(dsn: str, release: str) -> Contract:
    return from_database(dsn, release)


def test_recording_creates_the_table_and_chains_previous_releases(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert ledger.entries(conn, HERE) == []
        assert conn.execute("SELECT to_regclass('migsafe_releases')").fetchone() == (None,)
        first = ledger.record(conn, HERE, "1.0.0", contract(dsn, "1.0.0"), status="live")
        second = ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"), last_migration="0002")
        assert (first.previous, second.previous) == (None, "1.0.0")
        assert ledger.current(conn, HERE) == second
        wanted, previous = ledger.contract_of(conn, HERE, "2.0.0")
        assert (wanted.release, previous) == ("2.0.0", "1.0.0")
        assert ledger.contract_of(conn, HERE, "1.0.0")[1] is None


def test_recording_again_updates_in_place(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ledger.record(conn, HERE, "1.0.0", contract(dsn, "1.0.0"), status="live")
        ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"), last_migration="0002")
        ledger.mark(conn, HERE, "2.0.0", ledger.ROLLED_BACK)
        assert ledger.current(conn, HERE).release == "1.0.0"  # type: ignore[union-attr]
        again = ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"), status="live")
        assert (again.status, again.previous, again.last_migration) == ("live", "1.0.0", "0002")
        assert [e.release for e in ledger.entries(conn, HERE)] == ["1.0.0", "2.0.0"]


def test_redeploying_after_a_hotfix_runs_beside_the_hotfix(dsn: str) -> None:
    """1.0.0, then 2.0.0 rolled back to 1.0.0, hotfix 1.1.0, then 2.0.0 again: 2.0.0 now
    follows 1.1.0 — the gate checks it against 1.1.0, a rollback goes back to 1.1.0."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ledger.record(conn, HERE, "1.0.0", contract(dsn, "1.0.0"), status="live")
        ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"), status="live")
        ledger.mark(conn, HERE, "2.0.0", ledger.ROLLED_BACK)
        ledger.record(conn, HERE, "1.1.0", contract(dsn, "1.1.0"), status="live")
        again = ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"))
        assert again.previous == "1.1.0"
        assert [e.release for e in ledger.entries(conn, HERE)] == ["1.0.0", "1.1.0", "2.0.0"]
        assert ledger.current(conn, HERE) == again
        assert ledger.contract_of(conn, HERE, "2.0.0")[1] == "1.1.0"
        live = ledger.record(conn, HERE, "2.0.0", contract(dsn, "2.0.0"), status="live")
        assert (live.previous, live.seq, live.status) == ("1.1.0", again.seq, "live")


def test_unknown_release_is_an_error_naming_the_known_ones(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ledger.record(conn, HERE, "1.0.0", contract(dsn, "1.0.0"))
        with pytest.raises(ledger.LedgerError, match=r"release 9\.9\.9 .*releases: 1\.0\.0"):
            ledger.find(conn, HERE, "9.9.9")
        with pytest.raises(ledger.LedgerError, match=r"9\.9\.9"):
            ledger.mark(conn, HERE, "9.9.9", ledger.LIVE)


def test_two_deploys_recording_at_once_both_land(dsn: str) -> None:
    """Both create the table on first use at the same moment: without the advisory lock
    one of them fails on CREATE TABLE IF NOT EXISTS."""
    wanted = {r: contract(dsn, r) for r in ("2.0.0", "2.0.1")}
    for _ in range(5):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS migsafe_releases")
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def deploy(release: str, start: threading.Barrier, errors: list[BaseException]) -> None:
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    start.wait()
                    ledger.record(conn, HERE, release, wanted[release])
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=deploy, args=(r, start, errors)) for r in wanted]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with psycopg.connect(dsn, autocommit=True) as conn:
            found = ledger.entries(conn, HERE)
        assert sorted(e.release for e in found) == ["2.0.0", "2.0.1"]
        # Serialised: exactly one of them saw the other as current.
        assert sorted(str(e.previous) for e in found) == sorted(["None", found[0].release])


def test_cli_record_and_status_with_a_configured_location(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "migsafe.toml").write_text(
        'ledger-schema = "ops"\nledger-table = "releases"\n', encoding="utf-8"
    )
    save(contract(dsn, "1.0.0"), tmp_path / ".migsafe" / "contracts" / "1.0.0.json")
    runner = CliRunner()
    with contextlib.chdir(tmp_path):
        done = runner.invoke(
            main,
            ["deploy", "record", "--release", "1.0.0", "--status", "live"],
            env={"MIGSAFE_DATABASE_URL": dsn},
        )
        assert done.exit_code == 0, done.output
        assert "recorded release 1.0.0 (live) in ops.releases" in done.output
        shown = runner.invoke(main, ["deploy", "status", "--database-url", dsn, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["ledger"] == "ops.releases"
    assert [(r["release"], r["status"]) for r in doc["releases"]] == [("1.0.0", "live")]


def test_cli_record_without_a_contract_fails_and_creates_nothing(dsn: str, tmp_path: Path) -> None:
    with contextlib.chdir(tmp_path):
        done = CliRunner().invoke(
            main, ["deploy", "record", "--release", "3.0.0", "--database-url", dsn]
        )
    assert done.exit_code == 2
    assert "contract file not found" in done.output
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('migsafe_releases')").fetchone() == (None,)


def test_cli_status_of_an_unreachable_database_hides_the_password() -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"
    done = CliRunner().invoke(main, ["deploy", "status", "--database-url", url])
    assert done.exit_code == 2
    assert "cannot use the database at" in done.output
    assert "s3cret" not in done.output


def test_a_ledger_table_name_must_be_an_identifier(tmp_path: Path) -> None:
    (tmp_path / "migsafe.toml").write_text('ledger-table = "releases; drop"\n', encoding="utf-8")
    with contextlib.chdir(tmp_path):
        done = CliRunner().invoke(
            main, ["deploy", "status", "--database-url", "postgresql://127.0.0.1:1/x"]
        )
    assert done.exit_code == 2
    assert "ledger-table must be an SQL identifier, got 'releases; drop'" in done.output


def test_cli_record_finds_the_last_migration_from_the_releases(dsn: str) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "bluegreen"
    with contextlib.chdir(example):
        done = CliRunner().invoke(
            main,
            ["deploy", "record", "--release", "2.0.0", "--migrations", "migrations"],
            env={"MIGSAFE_DATABASE_URL": dsn},
        )
        assert done.exit_code == 0, done.output
        unknown = CliRunner().invoke(
            main,
            ["deploy", "record", "--release", "7.0.0", "--migrations", "migrations"],
            env={"MIGSAFE_DATABASE_URL": dsn},
        )
    assert unknown.exit_code == 2
    assert "release 7.0.0 is not among the releases of --migrations" in unknown.output
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert ledger.find(conn, HERE, "2.0.0").last_migration == "0002_add_display_name"
