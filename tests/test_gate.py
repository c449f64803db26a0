"""``migsafe gate`` and :mod:`migsafe.gate` on a real PostgreSQL: pass, fail naming each
problem's release, and inconclusive (fail closed) when the question has no answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from migsafe import gate, ledger
from migsafe.cli import main
from migsafe.config import Config
from migsafe.contracts import from_database, save
from migsafe.db.ephemeral import Server, scratch_on

pytestmark = pytest.mark.postgres
CFG = Config()


@pytest.fixture
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    """1.0.0 live (users.name), 2.0.0 deploying (adds users.display_name), both recorded."""
    with scratch_on(pg_default_server_info, "migsafe_gate") as fresh:
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL)")
            ledger.record(conn, ledger.Location(), "1.0.0", from_database(fresh, "1.0.0"))
            conn.execute("ALTER TABLE users ADD COLUMN display_name text")
            ledger.record(conn, ledger.Location(), "2.0.0", from_database(fresh, "2.0.0"))
        yield fresh


def run(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["gate", *args])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, done.output


def test_gate_passes_with_the_previous_release_from_the_ledger(dsn: str) -> None:
    decision = gate.decide(dsn, "2.0.0", cfg=CFG)
    assert (decision.decision, decision.previous, decision.problems) == ("pass", "1.0.0", ())
    code, out = run("--database-url", dsn, "--release", "2.0.0", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "decision": "pass",
        "release": "2.0.0",
        "previous": "1.0.0",
        "problems": [],
        "reason": None,
    }


def test_gate_fails_naming_the_release_each_problem_breaks(dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN name")
    code, out = run("--database-url", dsn, "--release", "2.0.0")
    assert code == 3
    assert "release 2.0.0: users.name: the release expects column name (text)" in out
    assert "release 1.0.0: users.name: the release expects column name (text)" in out
    assert "gate: fail: the live schema breaks release 2.0.0 and release 1.0.0: 2 problems" in out
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0003_drop_name.sql").write_text("ALTER TABLE users DROP COLUMN name;\n")
    code, out = run(
        "--database-url",
        dsn,
        "--release",
        "2.0.0",
        "--migrations",
        str(migrations),
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert (code, doc["decision"]) == (3, "fail")
    assert {(p["release"], p["object"], p["kind"], p["migration"]) for p in doc["problems"]} == {
        (r, "users.name", "missing-column", str(migrations / "0003_drop_name.sql"))
        for r in ("1.0.0", "2.0.0")
    }


def test_contract_files_win_over_the_ledger(dsn: str, tmp_path: Path) -> None:
    mine = tmp_path / "3.0.0.json"
    save(from_database(dsn, "3.0.0"), mine)
    decision = gate.decide(dsn, "3.0.0", "2.0.0", cfg=CFG, contract_files={"3.0.0": mine})
    assert (decision.decision, decision.previous) == ("pass", "2.0.0")
    wrong = gate.decide(dsn, "3.1.0", cfg=CFG, contract_files={"3.1.0": mine})
    assert wrong.decision == "inconclusive"
    assert "holds the contract of release 3.0.0" in str(wrong.reason)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--release", "9.9.9"], "no contract for release 9.9.9"),
        (["--release", "2.0.0", "--previous", "1.5.0"], "no contract for release 1.5.0"),
        (["--release", "2.0.0", "--contract", "missing.json"], "contract file not found"),
    ],
)
def test_gate_is_inconclusive_without_a_contract(dsn: str, args: list[str], reason: str) -> None:
    code, out = run("--database-url", dsn, *args, "--format", "json")
    doc = json.loads(out)
    assert (code, doc["decision"]) == (2, "inconclusive")
    assert reason in doc["reason"]


def test_gate_is_inconclusive_when_the_database_is_unreachable() -> None:
    url = "postgresql://app:hunter2@127.0.0.1:1/prod"
    decision = gate.decide(url, "2.0.0", cfg=CFG)
    assert decision.decision == "inconclusive"
    assert "cannot use the database at" in str(decision.reason)
    code, out = run("--database-url", url, "--release", "2.0.0")
    assert code == 2
    assert "gate: inconclusive: cannot use the database" in out
    assert "hunter2" not in out


def test_judge_is_pure_and_checks_both_releases(dsn: str) -> None:
    schema = gate.read_live_schema(dsn, CFG)
    assert "migsafe_releases" not in schema.tables
    contract, previous_contract, previous = gate.resolve_contracts(dsn, CFG, "2.0.0", None)
    assert (contract.release, previous, previous_contract and previous_contract.release) == (
        "2.0.0",
        "1.0.0",
        "1.0.0",
    )
    del schema.tables["users"].columns["name"]
    decision = gate.judge(schema, "2.0.0", contract, None, None)
    assert [(p.release, p.object) for p in decision.problems] == [("2.0.0", "users.name")]


def test_an_application_in_its_own_schema_is_captured_and_gated(
    pg_default_server_info: Server, tmp_path: Path
) -> None:
    """The application's tables live in schema ``app``: the captured contract holds them
    (and not the ledger), and the gate reads that schema — passing, then failing when a
    column the release reads is dropped."""
    with scratch_on(pg_default_server_info, "migsafe_gate_app") as fresh:
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA app")
            conn.execute("CREATE TABLE app.orders (id bigint PRIMARY KEY, total numeric)")
            ledger.record(conn, ledger.Location(), "0.9.0", from_database(fresh, "0.9.0"))
        out = tmp_path / "1.0.0.json"
        captured = CliRunner().invoke(
            main,
            ["contract", "capture", "--release", "1.0.0", "--from-database", fresh,
             "--output", str(out)],
        )  # fmt: skip
        assert captured.exit_code == 0, captured.output
        tables = json.loads(out.read_text(encoding="utf-8"))["tables"]
        assert set(tables) == {"app.orders"}
        decision = gate.decide(fresh, "1.0.0", cfg=CFG, contract_files={"1.0.0": out})
        assert (decision.decision, decision.problems) == ("pass", ())
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("ALTER TABLE app.orders DROP COLUMN total")
        decision = gate.decide(fresh, "1.0.0", cfg=CFG, contract_files={"1.0.0": out})
        assert decision.decision == "fail"
        # both releases read it: 1.0.0, and 0.9.0 running beside it (from the ledger)
        assert sorted((p.release, p.object) for p in decision.problems) == [
            ("0.9.0", "app.orders.total"),
            ("1.0.0", "app.orders.total"),
        ]
