"""``migsafe rollback`` on a real PostgreSQL holding the example's schema and ledger: it
rolls back when the schema fits, refuses when it does not, downgrades the database only
without data loss and after confirmation, and fails closed — unreachable database, missing
contract, unknown release, deployer failure or timeout each give a clear message, a non-zero
exit, and leave the ledger (and the deployer, where it got that far) as they were."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from migsafe import ledger
from migsafe.cli import main
from migsafe.contracts import load, path_for
from migsafe.db.ephemeral import Server, scratch_on

pytestmark = pytest.mark.postgres
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "bluegreen"
DATA = Path(__file__).parent / "data" / "deploy"
HERE = ledger.Location()


def apply(dsn: str, *names: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute((EXAMPLE / "migrations" / name).read_text(encoding="utf-8"))


@pytest.fixture
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    """The example at release 2.0.0: both releases in the ledger, a few users."""
    with scratch_on(pg_default_server_info, "migsafe_rollback") as fresh:
        apply(fresh, "0001_create_users.up.sql", "0002_add_display_name.up.sql")
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("INSERT INTO users (name, display_name) VALUES ('ada', 'Ada')")
            for release, last in (
                ("1.0.0", "0001_create_users"),
                ("2.0.0", "0002_add_display_name"),
            ):
                contract = load(path_for(release, EXAMPLE))
                ledger.record(conn, HERE, release, contract, last_migration=last, status="live")
        yield fresh


def statuses(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [(e.release, e.status) for e in ledger.entries(conn, HERE)]


def marker_cmd(marker: Path) -> list[str]:
    """A command deployer whose undo writes the target release to ``marker``."""
    undo = (
        f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.argv[2])' "
        f"{marker} {{release}}"
    )
    return ["--deployer", "command", "--undo-cmd", undo]


def rollback(*args: str, cwd: Path = EXAMPLE, stdin: str | None = None) -> Result:
    with contextlib.chdir(cwd):
        done = CliRunner().invoke(main, ["rollback", *args], input=stdin)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done


def test_rollback_to_the_previous_release(dsn: str, tmp_path: Path) -> None:
    marker, log = tmp_path / "undone", tmp_path / "incidents.jsonl"
    dry = rollback("--database-url", dsn, "--previous", "--dry-run", *marker_cmd(marker))
    assert dry.exit_code == 0, dry.output
    assert "plan: 1. roll back from release 2.0.0 to 1.0.0 with the command deployer" in dry.output
    assert not marker.exists()
    done = rollback(
        "--database-url", dsn, "--previous", "--incident-log", str(log), "--format", "json",
        *marker_cmd(marker),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert marker.read_text(encoding="utf-8") == "1.0.0"
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "rolled_back")]
    incident = json.loads(done.output)
    assert json.loads(log.read_text(encoding="utf-8")) == incident
    assert (incident["from"], incident["to"], incident["status"], incident["after"]) == (
        "2.0.0", "1.0.0", "rolled-back", "pass",
    )  # fmt: skip
    assert incident["who"] and incident["when"]
    assert incident["commands"][0]["argv"][-1] == "1.0.0"


def test_refused_when_the_schema_lost_what_the_target_reads(dsn: str, tmp_path: Path) -> None:
    apply(dsn, "0003_drop_name.up.sql")
    marker = tmp_path / "undone"
    done = rollback(
        "--database-url", dsn, "--to", "1.0.0", "--migrations", "migrations", *marker_cmd(marker)
    )
    assert done.exit_code == 3
    assert "users.name: expects column name (text); the schema has no such column — caused by " \
        "migrations/0003_drop_name.up.sql" in done.output  # fmt: skip
    assert "Way out: roll forward" in done.output
    assert not marker.exists()
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]


def test_db_downgrade_only_without_data_loss_and_after_confirmation(
    dsn: str, tmp_path: Path
) -> None:
    apply(dsn, "0003_drop_name.up.sql")
    marker = tmp_path / "undone"
    args = ["--database-url", dsn, "--to", "1.0.0", "--migrations", "migrations",
            "--with-db-downgrade", *marker_cmd(marker)]  # fmt: skip
    lossy = rollback(*args, "--yes")
    assert lossy.exit_code == 3
    assert (
        "migrations/0002_add_display_name.down.sql:2: drops column users.display_name, which "
        "holds data (1 rows)" in lossy.output
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET display_name = NULL")
    unconfirmed = rollback(*args, stdin="n\n")
    assert unconfirmed.exit_code == 3
    assert "not confirmed" in unconfirmed.output
    assert not marker.exists()
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped"
        ).fetchone()
    assert columns == (["id", "display_name"],)
    done = rollback(*args, "--yes")
    assert done.exit_code == 0, done.output
    assert marker.read_text(encoding="utf-8") == "1.0.0"
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped"
        ).fetchone()
    assert columns == (["id", "name"],)
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "rolled_back")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "1.5.0"], "no contract for release 1.5.0"),
        (["--to", "1.0.0", "--contract", "missing.json"], "contract file not found"),
        (["--to", "2.0.0"], "already the one running"),
    ],
)
def test_fails_closed_on_unknown_release_and_missing_contract(
    dsn: str, tmp_path: Path, args: list[str], message: str
) -> None:
    marker = tmp_path / "undone"
    done = rollback("--database-url", dsn, *args, *marker_cmd(marker))
    assert done.exit_code == 2
    assert message in done.output
    assert not marker.exists()
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]


def test_fails_closed_when_the_database_is_unreachable(tmp_path: Path) -> None:
    marker = tmp_path / "undone"
    url = "postgresql://deployer:t0psecret@127.0.0.1:1/prod"
    done = rollback("--database-url", url, "--previous", *marker_cmd(marker))
    assert done.exit_code == 2
    assert "cannot use the database at" in done.output
    assert "t0psecret" not in done.output
    assert not marker.exists()


def test_deployer_timeout_leaves_the_ledger_alone(dsn: str, tmp_path: Path) -> None:
    log = tmp_path / "incidents.jsonl"
    done = rollback(
        "--database-url", dsn, "--previous", "--deployer", "command", "--undo-cmd", "sleep 5",
        "--timeout", "1", "--incident-log", str(log),
    )  # fmt: skip
    assert done.exit_code == 2
    assert "`sleep 5` did not finish within 1 s" in done.output
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]
    incident = json.loads(log.read_text(encoding="utf-8"))
    assert (incident["status"], incident["commands"][0]["exit_code"]) == ("failed", None)


def test_kubectl_failure_mid_undo_is_reported_and_the_ledger_not_marked(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded Deployment runs 2.0.0 with 1.9.1 at revision 2; the undo is forbidden."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        older = dataclasses.replace(load(path_for("1.0.0", EXAMPLE)), release="1.9.1")
        conn.execute("TRUNCATE migsafe_releases")
        ledger.record(conn, HERE, "1.9.1", older, status="live")
        ledger.record(conn, HERE, "2.0.0", load(path_for("2.0.0", EXAMPLE)), status="live")
    k = ["--namespace", "shop"]
    rules = [
        {"argv": [*k, "get", "deployment/web", "--output", "json"],
         "stdout": "kubectl-get-deployment.json"},
        {"argv": [*k, "get", "replicasets", "--selector", "app=web", "--output", "json"],
         "stdout": "kubectl-get-replicasets.json"},
        {"argv": [*k, "rollout", "undo", "deployment/web", "--to-revision=2"], "exit": 1,
         "stderr": "error: unable to find specified revision 2 in history\n"},
    ]  # fmt: skip
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_tool.py"}" "$@"\n', encoding="utf-8"
    )
    kubectl.chmod(0o755)
    monkeypatch.setenv("FAKE_RULES", str(tmp_path / "rules.json"))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    done = rollback(
        "--database-url", dsn, "--previous", "--deployer", "kubectl", "--name", "web",
        "--namespace", "shop", "--format", "json",
    )  # fmt: skip
    assert done.exit_code == 2
    incident = json.loads(done.output)
    assert incident["status"] == "failed"
    assert "unable to find specified revision 2" in incident["message"]
    assert incident["commands"][-1]["exit_code"] == 1
    assert incident["commands"][-1]["argv"][1:] == [*k, "rollout", "undo", "deployment/web",
                                                    "--to-revision=2"]  # fmt: skip
    assert statuses(dsn) == [("1.9.1", "live"), ("2.0.0", "live")]


def test_the_deployer_can_come_from_the_config(dsn: str, tmp_path: Path) -> None:
    marker = tmp_path / "undone"
    undo = marker_cmd(marker)[-1]
    (tmp_path / "migsafe.toml").write_text(
        f"[deploy]\ndeployer = \"command\"\nundo-cmd = '''{undo}'''\ntimeout = 60\n",
        encoding="utf-8",
    )
    done = rollback("--database-url", dsn, "--previous", cwd=tmp_path)
    assert done.exit_code == 0, done.output
    assert marker.read_text(encoding="utf-8") == "1.0.0"
    (tmp_path / "migsafe.toml").write_text('[deploy]\ndeployer = "kubect"\n', encoding="utf-8")
    done = rollback("--database-url", dsn, "--previous", cwd=tmp_path)
    assert done.exit_code == 2
    assert "deploy.deployer must be one of kubectl, argo, helm, haproxy, command" in done.output
    (tmp_path / "migsafe.toml").write_text("[deploy]\nundo_cmd = 'x'\n", encoding="utf-8")
    done = rollback("--database-url", dsn, "--previous", cwd=tmp_path)
    assert done.exit_code == 2
    assert "unknown key 'undo_cmd' in [tool.migsafe.deploy]" in done.output


def with_down(tmp_path: Path, down: str) -> Path:
    """The example's migrations with ``down`` as 0002's down migration."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for f in (EXAMPLE / "migrations").iterdir():
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "0002_add_display_name.down.sql").write_text(down, encoding="utf-8")
    return folder


def users(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT * FROM users ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("down", "reason"),
    [
        ("DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;",
         ":1: DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$: migsafe cannot tell what this "
         "DoStmt does to the data"),
        ("ALTER TABLE users ALTER COLUMN display_name TYPE varchar(1) USING left(display_name, 1);",
         ":1: changes the type of column users.display_name, which holds data (1 rows)"),
        ("UPDATE users SET display_name = NULL;",
         ":1: updates rows of users, which holds data (1 rows)"),
        ("DELETE FROM users WHERE display_name = 'Ada';",
         ":1: deletes rows of users, which holds data (1 rows)"),
        ("ALTER TABLE users RENAME TO people;\nDROP TABLE people;",
         ":1: renames table users, which holds data (1 rows)"),
        ("ALTER TABLE users RENAME TO people;\nDROP TABLE people;",
         ":2: drops table people, whose rows cannot be counted"),
        ("CREATE SCHEMA attic;\nALTER TABLE users SET SCHEMA attic;",
         ":2: ALTER TABLE users SET SCHEMA attic: migsafe cannot tell what this "
         "AlterObjectSchemaStmt does"),
        ("DROP SCHEMA public CASCADE;", "DROP SCHEMA takes every table in it with it"),
        ("DROP TABLE no_such_table;", "drops table no_such_table, whose rows cannot be counted"),
        ("TRUNCATE users CASCADE;", "TRUNCATE … CASCADE also empties every table"),
        ("DROP SEQUENCE users_id_seq;", "DROP SEQUENCE may take data with it"),
    ],
)  # fmt: skip
def test_db_downgrade_refuses_what_it_cannot_show_keeps_the_data(
    dsn: str, tmp_path: Path, down: str, reason: str
) -> None:
    apply(dsn, "0003_drop_name.up.sql")
    before = users(dsn)
    marker = tmp_path / "undone"
    done = rollback(
        "--database-url", dsn, "--to", "1.0.0", "--migrations", str(with_down(tmp_path, down)),
        "--with-db-downgrade", "--yes", "--format", "json", *marker_cmd(marker),
    )  # fmt: skip
    assert done.exit_code == 3, done.output
    incident = json.loads(done.output)
    assert incident["status"] == "refused"
    assert any(reason in x for x in incident["data_loss"]), incident["data_loss"]
    assert "cannot be shown to keep the data" in incident["message"]
    assert not marker.exists()
    assert users(dsn) == before
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]


@pytest.mark.parametrize(
    ("down", "reason"),
    [
        ("BEGIN;\nALTER TABLE users ADD COLUMN name text;\nCOMMIT;\nSELECT 1/0;",
         ":1: BEGIN: transaction control"),
        ("ALTER TABLE users ADD COLUMN name text;\nCOMMIT;\nALTER TABLE users DROP COLUMN name;",
         ":2: COMMIT: transaction control"),
        ("ALTER TABLE users ADD COLUMN name text;\n"
         "CREATE INDEX CONCURRENTLY users_name ON users (name);",
         "CONCURRENTLY cannot run inside the downgrade's transaction"),
    ],
)  # fmt: skip
def test_db_downgrade_refuses_statements_that_escape_its_transaction(
    dsn: str, tmp_path: Path, down: str, reason: str
) -> None:
    """Refused before anything runs: the column the down migration adds is not there."""
    apply(dsn, "0003_drop_name.up.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET display_name = NULL")
    done = rollback(
        "--database-url", dsn, "--to", "1.0.0", "--migrations", str(with_down(tmp_path, down)),
        "--with-db-downgrade", "--yes", "--format", "json", *marker_cmd(tmp_path / "undone"),
    )  # fmt: skip
    assert done.exit_code == 3, done.output
    incident = json.loads(done.output)
    assert any(reason in x for x in incident["data_loss"]), incident["data_loss"]
    assert "rolled back" not in incident["message"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped"
        ).fetchone()
    assert columns == (["id", "display_name"],)


def test_db_downgrade_counts_again_under_lock_after_the_prompt(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The column is empty when the plan is made; while the operator reads the prompt a
    writer inserts a row that still holds its lock when the downgrade starts and commits
    only later. The downgrade waits for the lock, counts again, finds the row, and rolls
    back: the row and its column survive."""
    import threading

    import click

    apply(dsn, "0003_drop_name.up.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET display_name = NULL")
    writer = psycopg.connect(dsn)
    started = threading.Event()

    def commit_later() -> None:
        started.wait()
        # the downgrade's LOCK TABLE queues behind this transaction until it commits
        with psycopg.connect(dsn, autocommit=True) as watcher:
            while not watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users'::regclass"
            ).fetchone()[0]:  # type: ignore[index]
                watcher.execute("SELECT pg_sleep(0.05)")
        writer.commit()

    def confirm(*_: object, **__: object) -> bool:
        writer.execute("INSERT INTO users (display_name) VALUES ('written during the prompt')")
        started.set()
        return True

    monkeypatch.setattr(click, "confirm", confirm)
    thread = threading.Thread(target=commit_later)
    thread.start()
    try:
        marker = tmp_path / "undone"
        done = rollback(
            "--database-url", dsn, "--to", "1.0.0", "--migrations", "migrations",
            "--with-db-downgrade", "--format", "json", *marker_cmd(marker),
        )  # fmt: skip
    finally:
        started.set()
        thread.join()
        writer.close()
    assert done.exit_code == 3, done.output
    incident = json.loads(done.stdout)
    assert "the data changed while the plan waited for confirmation" in incident["message"]
    assert any("drops column users.display_name, which holds data (1 rows)" in x
               for x in incident["data_loss"])  # fmt: skip
    assert not marker.exists()
    assert [r[-1] for r in users(dsn)] == [None, "written during the prompt"]
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]


def test_unreadable_deployer_output_mid_rollback_is_a_failed_incident(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helm's status after the rollback prints something that is not a status: a clear
    error, exit 2, and the incident record is still written."""
    history = [
        {"revision": 1, "status": "superseded", "chart": "web-1.0.0", "app_version": "1.0.0"},
        {"revision": 2, "status": "deployed", "chart": "web-2.0.0", "app_version": "2.0.0"},
    ]
    rules = [
        {"argv": ["history", "web", "--output", "json", "--max", "256"],
         "text": json.dumps(history)},
        {"argv": ["rollback", "web", "1", "--wait", "--timeout", "60s"]},
        {"argv": ["status", "web", "--output", "json"], "text": '{"info": "deployed"}'},
    ]  # fmt: skip
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    helm = tmp_path / "helm"
    helm.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_tool.py"}" "$@"\n', encoding="utf-8"
    )
    helm.chmod(0o755)
    monkeypatch.setenv("FAKE_RULES", str(tmp_path / "rules.json"))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "incidents.jsonl"
    done = rollback(
        "--database-url", dsn, "--previous", "--deployer", "helm", "--name", "web",
        "--timeout", "60", "--incident-log", str(log),
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    incident = json.loads(log.read_text(encoding="utf-8"))
    assert incident["status"] == "failed"
    assert "status web --output json` printed output migsafe cannot read" in incident["message"]
    assert statuses(dsn) == [("1.0.0", "live"), ("2.0.0", "live")]
