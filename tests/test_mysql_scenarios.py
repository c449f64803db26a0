"""The release/contract stories of tests/scenarios, told on MariaDB: each release's
contract captured from its MySQL migrations, ``migsafe lint`` with releases, and after every
migration ``migsafe check`` both ways — replaying the migrations, and on a live MariaDB
database the migrations were applied to (introspected through information_schema). The two
must agree after every migration, and each release's contract captured from the migrations
must equal the one its live database gives.

The enum story differs from PostgreSQL's in one way: a MySQL ENUM is the column's own type,
so its members are part of the column's contract, and one is removed by restating the
column with MODIFY rather than by recreating a named type."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mariadbfixtures import URL, connect, mariadb
from scenarios.scenario_kit import RELEASE_RULES, Release, build, invoke, pairs, printed

from migsafe import compat
from migsafe.contracts import from_schema, load, path_for, retired_for
from migsafe.db.mariadb import introspect
from migsafe.parse import mysql
from migsafe.sources.sqlfiles import discover

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

__all__ = ["mariadb"]

FOLDER = "migrations/mariadb"


@dataclass(frozen=True)
class Check:
    migration: str
    against: str
    exit_code: int
    problems: frozenset[tuple[str, str]]
    output: str


@dataclass
class Outcome:
    findings: set[tuple[str, str]] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def check_after(self, migration: str) -> Check:
        [found] = [c for c in self.checks if c.migration == migration]
        return found


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    name = f"migsafe_story_{uuid.uuid4().hex[:10]}"
    conn = connect()
    conn.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        conn.cursor().execute(f"DROP DATABASE {name}")
        conn.close()


def apply(database: str, sql: str) -> None:
    """A migration as a MySQL tool runs it: statement by statement."""
    conn = connect(database)
    try:
        cur = conn.cursor()
        for raw in mysql.split(sql):
            cur.execute(sql[raw.start : raw.body_end])
    finally:
        conn.close()


def run(
    root: Path, releases: Sequence[Release], retired: Mapping[str, Sequence[str]] | None = None
) -> Outcome:
    retired = retired or {}
    repo = build(root, releases, retired, FOLDER)
    code, output = invoke(repo, ["lint", FOLDER, "--format", "json"])
    assert code in (0, 1), output
    doc = json.loads(output)
    assert doc["errors"] == [], doc["errors"]
    outcome = Outcome()
    for f in doc["findings"]:
        if f["rule"] in RELEASE_RULES:
            outcome.findings.add((f["rule"], Path(f["path"]).name))
            outcome.messages.append(f["message"])
    migrations = {m.path.name: m for m in discover([repo / FOLDER])}
    with scratch_database() as database:
        url = f"{URL.rstrip('/')}/{database}"
        done: list[str] = []
        previous: Release | None = None
        for release in releases:
            for name, sql in release.migrations:
                apply(database, sql)
                done.append(name)
                if previous is None:
                    continue
                against = previous.version
                contract = load(path_for(against, repo))
                static_code, static_out = invoke(
                    repo, ["check", "--against", against, "--at", name, FOLDER]
                )
                live_code, live_out = invoke(
                    repo, ["check", "--against", against, "--database-url", url]
                )
                replayed = compat.replay(migrations[n] for n in done)
                static = pairs(compat.compat(replayed.schema, contract, replayed.provenance))
                live = pairs(compat.compat(introspect(url), contract))
                where = f"after {name} against {against}:\n{static_out}\nlive:\n{live_out}"
                assert static_code == live_code, where
                assert printed(static_out) == printed(live_out), where
                assert static == live, where
                outcome.checks.append(Check(name, against, static_code, static, static_out))
            live_contract = from_schema(
                introspect(url), release.version, retired=retired_for(release.version, retired)
            )
            captured = load(path_for(release.version, repo))
            assert (live_contract.tables, live_contract.enums) == (
                captured.tables,
                captured.enums,
            ), f"contract of {release.version}: live and captured differ"
            previous = release
    return outcome


def codes(outcome: Outcome) -> list[tuple[str, str, int]]:
    return [(c.migration, c.against, c.exit_code) for c in outcome.checks]


# -- dropping a table ------------------------------------------------------------------------

ACCOUNTS = Release(
    "v1.0.0",
    (
        (
            "0001_accounts.sql",
            "CREATE TABLE accounts (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    email VARCHAR(255) NOT NULL UNIQUE\n"
            ");\n"
            "CREATE TABLE audit_log (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    account_id BIGINT NOT NULL,\n"
            "    action TEXT NOT NULL,\n"
            "    at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
            "    CONSTRAINT audit_log_account FOREIGN KEY (account_id) REFERENCES accounts (id)\n"
            ");\n",
        ),
    ),
)
LAST_SEEN = Release(
    "v2.0.0",
    (("0002_last_seen.sql", "ALTER TABLE accounts ADD COLUMN last_seen_at DATETIME NULL;\n"),),
)
DROP_AUDIT = (("0003_drop_audit_log.sql", "-- migsafe: phase=contract\nDROP TABLE audit_log;\n"),)


def test_dropping_a_table_one_release_too_early_is_flagged(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(tmp_path, [ACCOUNTS, Release("v2.0.0", LAST_SEEN.migrations + DROP_AUDIT)])
    assert outcome.findings == {
        ("contract-before-retirement", "0003_drop_audit_log.sql"),
        ("breaks-previous-release", "0003_drop_audit_log.sql"),
    }
    assert all("release 1.0.0" in m for m in outcome.messages)
    assert outcome.check_after("0002_last_seen.sql").exit_code == 0
    dropped = outcome.check_after("0003_drop_audit_log.sql")
    assert (dropped.exit_code, dropped.problems) == (3, {("audit_log", "missing-table")})
    assert f"(caused by {FOLDER}/0003_drop_audit_log.sql)" in dropped.output


def test_dropping_it_after_the_release_that_retired_it_passes(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(
        tmp_path,
        [ACCOUNTS, LAST_SEEN, Release("v3.0.0", DROP_AUDIT)],
        retired={"2.0.0": ["audit_log"]},
    )
    assert outcome.findings == set()
    assert codes(outcome) == [
        ("0002_last_seen.sql", "1.0.0", 0),
        ("0003_drop_audit_log.sql", "2.0.0", 0),
    ]


# -- renaming a column ---------------------------------------------------------------------

USERS = Release(
    "v1.0.0",
    (
        (
            "0001_users.sql",
            "CREATE TABLE users (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    name VARCHAR(200) NOT NULL\n"
            ");\n",
        ),
    ),
)
RENAME_SAFELY = [
    USERS,
    Release(
        "v2.0.0",
        (
            ("0002_add_full_name.sql", "ALTER TABLE users ADD COLUMN full_name VARCHAR(200);\n"),
            (
                "0003_sync_full_name.sql",
                "CREATE TRIGGER users_sync_insert BEFORE INSERT ON users FOR EACH ROW\n"
                "    SET NEW.full_name = COALESCE(NEW.full_name, NEW.name);\n"
                "CREATE TRIGGER users_sync_update BEFORE UPDATE ON users FOR EACH ROW\n"
                "    SET NEW.full_name = COALESCE(NEW.full_name, NEW.name);\n",
            ),
            (
                "0004_backfill_full_name.sql",
                "UPDATE users SET full_name = name WHERE full_name IS NULL;\n",
            ),
        ),
    ),
    Release(
        "v3.0.0",
        (("0005_name_optional.sql", "ALTER TABLE users MODIFY name VARCHAR(200) NULL;\n"),),
    ),
    Release(
        "v4.0.0",
        (
            (
                "0006_drop_name.sql",
                "-- migsafe: phase=contract\n"
                "DROP TRIGGER users_sync_insert;\n"
                "DROP TRIGGER users_sync_update;\n"
                "ALTER TABLE users DROP COLUMN name;\n",
            ),
        ),
    ),
]


def test_rename_over_three_releases_passes(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(tmp_path, RENAME_SAFELY, retired={"3.0.0": ["users.name"]})
    assert outcome.findings == set()
    assert codes(outcome) == [
        ("0002_add_full_name.sql", "1.0.0", 0),
        ("0003_sync_full_name.sql", "1.0.0", 0),
        ("0004_backfill_full_name.sql", "1.0.0", 0),
        ("0005_name_optional.sql", "2.0.0", 0),
        ("0006_drop_name.sql", "3.0.0", 0),
    ]


def test_rename_in_one_release_is_flagged(tmp_path: Path, mariadb: Any) -> None:
    releases = [
        USERS,
        Release(
            "v2.0.0",
            (("0002_rename.sql", "ALTER TABLE users RENAME COLUMN name TO full_name;\n"),),
        ),
    ]
    outcome = run(tmp_path, releases)
    assert outcome.findings == {
        ("contract-before-retirement", "0002_rename.sql"),
        ("breaks-previous-release", "0002_rename.sql"),
    }
    assert any("renames column users.name to full_name" in m for m in outcome.messages)
    [check] = outcome.checks
    assert check.exit_code == 3
    assert check.problems == {
        ("users.name", "missing-column"),
        ("users.full_name", "required-column"),
    }


# -- adding a required column ----------------------------------------------------------------

ORDERS = Release(
    "v1.0.0",
    (
        (
            "0001_orders.sql",
            "CREATE TABLE orders (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    total DECIMAL(12, 2) NOT NULL\n"
            ");\n",
        ),
    ),
)
REQUIRED_SAFELY = [
    ORDERS,
    Release(
        "v2.0.0",
        (
            (
                "0002_add_currency.sql",
                "ALTER TABLE orders ADD COLUMN currency VARCHAR(3) NULL DEFAULT 'EUR';\n",
            ),
            (
                "0003_backfill_currency.sql",
                "UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;\n",
            ),
            (
                "0004_currency_check.sql",
                "ALTER TABLE orders ADD CONSTRAINT orders_currency_not_null\n"
                "    CHECK (currency IS NOT NULL);\n",
            ),
        ),
    ),
    Release(
        "v3.0.0",
        (
            (
                "0005_currency_not_null.sql",
                "ALTER TABLE orders MODIFY currency VARCHAR(3) NOT NULL DEFAULT 'EUR';\n"
                "ALTER TABLE orders DROP CONSTRAINT orders_currency_not_null;\n",
            ),
        ),
    ),
]


def test_required_column_added_over_releases_passes(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(tmp_path, REQUIRED_SAFELY)
    assert outcome.findings == set()
    assert codes(outcome) == [
        ("0002_add_currency.sql", "1.0.0", 0),
        ("0003_backfill_currency.sql", "1.0.0", 0),
        ("0004_currency_check.sql", "1.0.0", 0),
        ("0005_currency_not_null.sql", "2.0.0", 0),
    ]


def test_required_column_added_in_one_step_is_flagged(tmp_path: Path, mariadb: Any) -> None:
    releases = [
        ORDERS,
        Release(
            "v2.0.0",
            (
                (
                    "0002_add_currency.sql",
                    "ALTER TABLE orders ADD COLUMN currency VARCHAR(3) NOT NULL;\n",
                ),
            ),
        ),
    ]
    outcome = run(tmp_path, releases)
    assert outcome.findings == {("breaks-previous-release", "0002_add_currency.sql")}
    [check] = outcome.checks
    assert (check.exit_code, check.problems) == (3, {("orders.currency", "required-column")})


# -- changing a column's type --------------------------------------------------------------

LINE_ITEMS = Release(
    "v1.0.0",
    (
        (
            "0001_line_items.sql",
            "CREATE TABLE line_items (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    sku VARCHAR(32) NOT NULL,\n"
            "    quantity BIGINT NOT NULL DEFAULT 1\n"
            ");\n",
        ),
    ),
)
THROUGH_A_NEW_COLUMN = [
    LINE_ITEMS,
    Release(
        "v2.0.0",
        (
            (
                "0002_add_qty.sql",
                "ALTER TABLE line_items ADD COLUMN qty INT;\n"
                "CREATE TRIGGER line_items_sync_qty BEFORE INSERT ON line_items FOR EACH ROW\n"
                "    SET NEW.qty = COALESCE(NEW.qty, NEW.quantity);\n",
            ),
            ("0003_backfill_qty.sql", "UPDATE line_items SET qty = quantity WHERE qty IS NULL;\n"),
        ),
    ),
    Release("v3.0.0", (("0004_drop_sync.sql", "DROP TRIGGER line_items_sync_qty;\n"),)),
    Release(
        "v4.0.0",
        (
            (
                "0005_drop_quantity.sql",
                "-- migsafe: phase=contract\nALTER TABLE line_items DROP COLUMN quantity;\n",
            ),
        ),
    ),
]


def test_type_change_through_a_new_column_passes(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(tmp_path, THROUGH_A_NEW_COLUMN, retired={"3.0.0": ["line_items.quantity"]})
    assert outcome.findings == set()
    assert codes(outcome) == [
        ("0002_add_qty.sql", "1.0.0", 0),
        ("0003_backfill_qty.sql", "1.0.0", 0),
        ("0004_drop_sync.sql", "2.0.0", 0),
        ("0005_drop_quantity.sql", "3.0.0", 0),
    ]


def test_narrowing_the_type_directly_is_flagged(tmp_path: Path, mariadb: Any) -> None:
    releases = [
        LINE_ITEMS,
        Release(
            "v2.0.0",
            (
                (
                    "0002_quantity_int.sql",
                    "ALTER TABLE line_items MODIFY quantity INT NOT NULL DEFAULT 1;\n",
                ),
            ),
        ),
    ]
    outcome = run(tmp_path, releases)
    assert outcome.findings == {
        ("contract-before-retirement", "0002_quantity_int.sql"),
        ("breaks-previous-release", "0002_quantity_int.sql"),
    }
    assert any(
        "narrows column line_items.quantity from int8 to int4" in m for m in outcome.messages
    )
    [check] = outcome.checks
    assert (check.exit_code, check.problems) == (3, {("line_items.quantity", "type-changed")})


# -- removing an enum label ------------------------------------------------------------------

SHIPMENTS = Release(
    "v1.0.0",
    (
        (
            "0001_shipments.sql",
            "CREATE TABLE shipments (\n"
            "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
            "    status ENUM('pending', 'shipped', 'cancelled') NOT NULL DEFAULT 'pending'\n"
            ");\n",
        ),
    ),
)
DROP_CANCELLED = (
    (
        "0003_drop_cancelled.sql",
        "-- migsafe: phase=contract\n"
        "ALTER TABLE shipments\n"
        "    MODIFY status ENUM('pending', 'shipped', 'returned') NOT NULL DEFAULT 'pending';\n",
    ),
)
STOP_CANCELLING = (
    (
        "0002_add_returned.sql",
        "ALTER TABLE shipments\n"
        "    MODIFY status ENUM('pending', 'shipped', 'cancelled', 'returned')\n"
        "    NOT NULL DEFAULT 'pending';\n",
    ),
    (
        "0002_backfill_returned.sql",
        "UPDATE shipments SET status = 'returned' WHERE status = 'cancelled';\n",
    ),
)


def test_removing_an_enum_label_the_previous_release_writes_is_flagged(
    tmp_path: Path, mariadb: Any
) -> None:
    releases = [SHIPMENTS, Release("v2.0.0", STOP_CANCELLING + DROP_CANCELLED)]
    outcome = run(tmp_path, releases)
    assert outcome.findings == {
        ("contract-before-retirement", "0003_drop_cancelled.sql"),
        ("breaks-previous-release", "0003_drop_cancelled.sql"),
    }
    assert all("release 1.0.0" in m for m in outcome.messages)
    assert any(
        "removes label shipments.status:cancelled, which release 1.0.0 still uses" in m
        for m in outcome.messages
    )
    assert any("shipments.status: it expects label 'cancelled'" in m for m in outcome.messages)
    # Adding a member keeps 1.0.0 working; removing the one it writes does not.
    assert codes(outcome) == [
        ("0002_add_returned.sql", "1.0.0", 0),
        ("0002_backfill_returned.sql", "1.0.0", 0),
        ("0003_drop_cancelled.sql", "1.0.0", 3),
    ]
    dropped = outcome.check_after("0003_drop_cancelled.sql")
    assert dropped.problems == {("shipments.status", "enum-label")}
    assert "shipments.status: the release expects label 'cancelled'" in dropped.output
    assert "no label 'cancelled'" in dropped.output
    assert f"(caused by {FOLDER}/0003_drop_cancelled.sql)" in dropped.output


def test_removing_it_after_the_release_that_retired_it_passes(tmp_path: Path, mariadb: Any) -> None:
    outcome = run(
        tmp_path,
        [SHIPMENTS, Release("v2.0.0", STOP_CANCELLING), Release("v3.0.0", DROP_CANCELLED)],
        retired={"2.0.0": ["shipments.status:cancelled"]},
    )
    assert outcome.findings == set()
    assert codes(outcome) == [
        ("0002_add_returned.sql", "1.0.0", 0),
        ("0002_backfill_returned.sql", "1.0.0", 0),
        ("0003_drop_cancelled.sql", "2.0.0", 0),
    ]
    contract = load(path_for("2.0.0", tmp_path / "app"))
    assert contract.tables["shipments"].columns["status"].type.values == (
        "pending",
        "shipped",
        "returned",
    )
