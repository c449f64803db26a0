"""``migsafe trace`` on a real PostgreSQL: what it observes, how it reports, and the lock
model held against every rule page's examples (PostgreSQL 15 here, 16 from pgserver)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pgfixtures import Server

from migsafe.cli import main
from migsafe.rules import all_rules

PAGES = Path(__file__).resolve().parents[1] / "rules"

# Tables the rule pages' examples work on, with rows so that scans can be seen.
EXAMPLES_SETUP = """
CREATE TYPE order_status AS ENUM ('new', 'paid');
CREATE TABLE users (
    id int PRIMARY KEY, email text, username text, first_name text, legacy_flags int,
    newsletter_opt_in bool, deleted_at timestamptz
);
CREATE TABLE orders (
    id bigint PRIMARY KEY, user_id bigint, status order_status DEFAULT 'new',
    refunded_at timestamptz
);
CREATE TABLE events (id bigint PRIMARY KEY, payload text);
CREATE TABLE sessions (id bigint PRIMARY KEY, expires_at timestamptz);
CREATE TABLE legacy_events (id bigint);
CREATE SCHEMA reporting;
INSERT INTO users SELECT g, 'u' || g, 'n' || g, 'f', 0, true FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, g FROM generate_series(1, 50) g;
INSERT INTO events SELECT g, 'e' FROM generate_series(1, 50) g;
INSERT INTO sessions SELECT g, now() FROM generate_series(1, 50) g;
"""
# Pages whose examples work on an index that other pages' examples create.
PAGE_SETUP = {
    "require-concurrent-index-drop": "CREATE INDEX users_email_idx ON users (email);",
    "require-concurrent-reindex": "CREATE INDEX users_email_idx ON users (email);",
    "drop-object": "ALTER TABLE users ADD COLUMN last_seen_at timestamptz;\n"
    "CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;",
}
# Statements that fail on purpose: what the rule warns about is that they do.
EXPECTED_FAILURES = {
    ("add-required-column", "## Example"): "contains null values",
}


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, ["trace", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def trace(*args: str) -> tuple[int, str]:
    """Exit code and everything printed (the provider's announcement goes to stderr)."""
    result = invoke(*args)
    return result.exit_code, result.output


def trace_json(server: Server, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("--database-url", server.dsn, "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [st for f in doc["files"] for st in f["statements"]]


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")
    return path


def test_lint_does_not_import_psycopg(tmp_path: Path) -> None:
    f = write(tmp_path, "0001.sql", "ALTER TABLE t ADD COLUMN c int;\n")
    code = (
        "import sys; from click.testing import CliRunner, Result; from migsafe.cli import main; "
        f"CliRunner().invoke(main, ['lint', {str(f)!r}]); print('psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_database_is_exit_2_without_traceback(tmp_path: Path) -> None:
    f = write(tmp_path, "0001.sql", "SELECT 1;\n")
    code, out = trace(str(f), "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2
    assert "Traceback" not in out and "error" in out


pytestmark_db = pytest.mark.postgres


@pytestmark_db
def test_observed_locks(pg_default_server_info: Server, tmp_path: Path) -> None:
    write(tmp_path, "0001_init.up.sql", "CREATE TABLE a (id int PRIMARY KEY);\n"
          "CREATE TABLE b (id int, a_id int);\nINSERT INTO a VALUES (1);\n")  # fmt: skip
    write(
        tmp_path,
        "0002_change.up.sql",
        "ALTER TABLE a ADD COLUMN c int;\n"
        "CREATE INDEX a_c ON a (c);\n"
        "ALTER TABLE b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id) NOT VALID;\n"
        "CREATE INDEX CONCURRENTLY b_a_id ON b (a_id);\n",
    )
    code, doc = trace_json(pg_default_server_info, str(tmp_path), "--select", "lock-model-mismatch")
    assert code == 0, doc["findings"]
    observed = [st["observed"] for st in statements(doc)]
    assert [o["locks"] for o in observed] == [
        {},
        {},
        {"a": "RowExclusiveLock"},
        {"a": "AccessExclusiveLock"},
        {"a": "ShareLock"},
        {"b": "ShareRowExclusiveLock", "a": "ShareRowExclusiveLock"},
        None,  # CONCURRENTLY: autocommit, locks not observed
    ]
    assert observed[-1]["autocommit"] is True
    assert all("autocommit" not in o for o in observed[:-1])
    for o in observed:
        assert set(o) <= {"locks", "rewrites", "scans", "duration_ms", "autocommit"}
        assert isinstance(o["rewrites"], list) and isinstance(o["scans"], list)
        assert isinstance(o["duration_ms"], float) and o["duration_ms"] >= 0
    assert doc["trace"]["server_version_num"] == pg_default_server_info.version_num


@pytestmark_db
def test_seeded_rewrite_costs_more_than_metadata_changes(
    pg_default_server_info: Server, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "0001_init.up.sql",
        "CREATE TABLE p (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);\n"
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " p_id bigint NOT NULL REFERENCES p (id), n int NOT NULL, at timestamptz NOT NULL,"
        " note varchar(10), CHECK (n IS NOT NULL));\n"
        "CREATE INDEX t_n ON t (n);\nCREATE INDEX t_p_n ON t (p_id, n);\n"
        "CREATE INDEX t_at_n ON t (at, n);\n",
    )
    write(
        tmp_path,
        "0002_change.up.sql",
        "ALTER TABLE t ADD COLUMN a text;\nALTER TABLE t ADD COLUMN b text;\n"
        "ALTER TABLE t ADD COLUMN c text;\nALTER TABLE t ALTER COLUMN n TYPE bigint;\n",
    )
    code, doc = trace_json(
        pg_default_server_info, str(tmp_path), "--seed-rows", "10000", "--select",
        "lock-model-mismatch",
    )  # fmt: skip
    assert code == 0, doc["findings"]
    seeded = {
        s["table"]: s for s in doc["trace"]["seeding"] if s["before"].endswith("0002_change.up.sql")
    }
    assert seeded["public.p"]["rows"] == 10000 and seeded["public.t"]["rows"] == 10000, seeded
    *adds, retype = statements(doc)[5:]
    assert len(adds) == 3
    assert all(a["observed"]["rewrites"] == [] and a["observed"]["scans"] == [] for a in adds)
    assert retype["observed"]["rewrites"] == ["t"] and retype["observed"]["scans"] == ["t"]
    # One sample each; the quickest metadata change is the fair yardstick (scheduler noise
    # can only slow a statement down), and the rewrite rebuilds four indexes besides.
    quickest = min(a["observed"]["duration_ms"] for a in adds)
    assert retype["observed"]["duration_ms"] > 3 * quickest, (retype, adds)


@pytestmark_db
def test_failing_statement_is_reported_and_the_run_goes_on(
    pg_default_server_info: Server, tmp_path: Path
) -> None:
    f = write(
        tmp_path,
        "0001.sql",
        "CREATE EXTENSION migsafe_no_such_extension;\nCREATE TABLE after (id int);\n"
        "ALTER TABLE after ADD COLUMN c int;\n",
    )
    code, out = trace(str(f), "--database-url", pg_default_server_info.dsn)
    assert code == 2
    assert re.search(r"0001\.sql:1 .*FAILED: extension \"migsafe_no_such_extension\"", out), out
    assert re.search(r"0001\.sql:3 .*locks after=AccessExclusiveLock", out), out
    assert "1 failed" in out
    code, doc = trace_json(pg_default_server_info, str(f))
    first, *rest = statements(doc)
    assert first["observed"] is None and "migsafe_no_such_extension" in first["error"]
    assert all(st["observed"] is not None for st in rest)


@pytestmark_db
def test_templates_setup_and_cluster_wide_statements(
    pg_default_server_info: Server, tmp_path: Path
) -> None:
    setup = write(tmp_path, "setup.sql", "CREATE SCHEMA ns;\n")
    f = write(
        tmp_path,
        "0001.up.sql",
        'CREATE TABLE {{ index .Options "Namespace" }}.users (id int);\n'
        "DROP DATABASE migsafe_never_this_one;\n",
    )
    _, doc = trace_json(
        pg_default_server_info, str(f), "--var", "Namespace=ns", "--setup", str(setup)
    )
    created, dropped = statements(doc)
    assert created["observed"] is not None
    assert dropped["observed"] is None and "whole cluster" in dropped["not_run"]
    _, doc = trace_json(pg_default_server_info, str(f))
    assert "--var Namespace=VALUE" in statements(doc)[0]["not_run"]


def page_blocks(page: str, heading: str) -> list[str]:
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


PAGE_RUNS = [
    (rule_id, heading)
    for rule_id in sorted(all_rules())
    for heading in ("## Example", "## Use instead")
    # MySQL/MariaDB pages run on MariaDB instead (tests/test_mysql_rules.py).
    if "<!-- dialect:" not in (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
]


@pytestmark_db
@pytest.mark.parametrize(
    ("rule_id", "heading"), PAGE_RUNS, ids=[f"{r}-{h[3:]}" for r, h in PAGE_RUNS]
)
def test_page_examples_match_the_lock_model(
    rule_id: str, heading: str, any_pg_server: Server, tmp_path: Path
) -> None:
    """Every statement of the page's examples runs, and PostgreSQL does what the model says."""
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    setup = write(tmp_path, "setup.sql", EXAMPLES_SETUP + PAGE_SETUP.get(rule_id, ""))
    files = [write(tmp_path, f"{i}.sql", sql) for i, sql in enumerate(page_blocks(page, heading))]
    code, doc = trace_json(
        any_pg_server, *map(str, files), "--setup", str(setup), "--select", "lock-model-mismatch"
    )
    assert not doc["errors"], doc["errors"]
    failed = [(st["line"], st["error"]) for st in statements(doc) if st.get("error")]
    expected = EXPECTED_FAILURES.get((rule_id, heading))
    if expected is not None:
        assert len(failed) == 1 and expected in failed[0][1], failed
    else:
        assert not failed, failed
    mismatches = [f["message"] for f in doc["findings"] if f["rule"] == "lock-model-mismatch"]
    assert not mismatches, mismatches
    assert code == (2 if expected else 0)
