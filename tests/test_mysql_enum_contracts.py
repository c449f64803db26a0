"""MySQL/MariaDB ENUM and SET members in contracts: the optional ``labels`` field, compat()
on added, reordered and removed members, ``table.column:label`` retirement, the phase of a
member change, and members read back from a live MariaDB's information_schema as migrations
declare them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from mariadbfixtures import URL, connect, mariadb

from migsafe import compat as compat_mod
from migsafe import config as config_mod
from migsafe.compat import compat, replay
from migsafe.contracts import Contract, ContractError, from_json, from_schema, load, save
from migsafe.db.mariadb import introspect
from migsafe.parse import mysql
from migsafe.phases import statement_phases
from migsafe.rules import all_rules
from migsafe.sources import Migration

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

__all__ = ["mariadb"]

BASE = """CREATE TABLE shipments (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    status ENUM('pending', 'shipped', 'cancelled') NOT NULL DEFAULT 'pending',
    flags SET('fragile', 'express') NULL
);
"""


def migrations(*texts: str) -> list[Migration]:
    return [
        Migration(path=Path(f"{i:04}.sql"), display=f"{i:04}.sql", text=t)
        for i, t in enumerate(texts, 1)
    ]


def contract(*retired: str) -> Contract:
    return from_schema(replay(migrations(BASE), "mysql").schema, "1.0.0", retired=retired)


def problems(change: str, against: Contract | None = None) -> list[compat_mod.Problem]:
    replayed = replay(migrations(BASE, change), "mysql")
    return compat(replayed.schema, against or contract(), replayed.provenance)


def test_the_contract_records_the_members_and_round_trips(tmp_path: Path) -> None:
    made = contract()
    doc = made.to_json()
    columns = doc["tables"]["shipments"]["columns"]
    assert columns["status"] == {
        "type": "enum",
        "nullable": False,
        "defaulted": True,
        "labels": ["pending", "shipped", "cancelled"],
    }
    assert columns["flags"]["labels"] == ["fragile", "express"]
    assert "labels" not in columns["id"]
    save(made, tmp_path / "1.0.0.json")
    assert load(tmp_path / "1.0.0.json").tables == made.tables


def test_a_contract_without_labels_promises_nothing_about_members() -> None:
    doc = contract().to_json()
    del doc["tables"]["shipments"]["columns"]["status"]["labels"]
    old = from_json(doc, "old.json")
    assert old.tables["shipments"].columns["status"].type.values == ()
    drop = "ALTER TABLE shipments MODIFY status ENUM('pending') NOT NULL DEFAULT 'pending';"
    assert problems(drop, old) == []


@pytest.mark.parametrize("labels", ["cancelled", ["pending", 1], {"a": "b"}])
def test_malformed_labels_are_rejected(labels: object) -> None:
    doc = contract().to_json()
    doc["tables"]["shipments"]["columns"]["status"]["labels"] = labels
    with pytest.raises(ContractError, match=r"shipments\.status: \"labels\" must be a list"):
        from_json(doc, "bad.json")


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE shipments MODIFY status"
        " ENUM('pending', 'shipped', 'cancelled', 'returned') NOT NULL DEFAULT 'pending';",
        "ALTER TABLE shipments MODIFY status"
        " ENUM('shipped', 'pending', 'cancelled') NOT NULL DEFAULT 'pending';",
        "ALTER TABLE shipments MODIFY flags SET('fragile', 'express', 'cold') NULL;",
    ],
    ids=["added", "reordered", "set-member-added"],
)
def test_adding_or_reordering_members_stays_compatible(change: str) -> None:
    assert problems(change) == []


def test_each_removed_member_is_a_problem_naming_column_label_and_migration() -> None:
    found = problems(
        "ALTER TABLE shipments MODIFY status ENUM('pending') NOT NULL DEFAULT 'pending';\n"
        "ALTER TABLE shipments MODIFY flags SET('express') NULL;"
    )
    assert [str(p) for p in found] == [
        "shipments.status: the release expects label 'shipped'; the schema has no label "
        "'shipped' (caused by 0002.sql)",
        "shipments.status: the release expects label 'cancelled'; the schema has no label "
        "'cancelled' (caused by 0002.sql)",
        "shipments.flags: the release expects label 'fragile'; the schema has no label "
        "'fragile' (caused by 0002.sql)",
    ]
    assert {p.kind for p in found} == {compat_mod.ENUM_LABEL}
    assert found[0].to_json()["object"] == "shipments.status"


def test_a_new_type_is_a_type_change_not_missing_members() -> None:
    found = problems("ALTER TABLE shipments MODIFY status VARCHAR(20) NOT NULL;")
    assert compat_mod.ENUM_LABEL not in {p.kind for p in found}


def test_a_retired_member_leaves_the_contract() -> None:
    made = contract("shipments.status:cancelled", "shipments.flags:express")
    columns = made.tables["shipments"].columns
    assert columns["status"].type.values == ("pending", "shipped")
    assert columns["flags"].type.values == ("fragile",)
    drop = "ALTER TABLE shipments MODIFY status ENUM('pending', 'shipped') NOT NULL;"
    assert [p.kind for p in problems(drop, made)] == [compat_mod.DEFAULT_DROPPED]


@pytest.mark.parametrize(
    ("members", "phase"),
    [("'pending', 'shipped', 'cancelled', 'returned'", "expand"), ("'pending'", "contract")],
    ids=["added", "removed"],
)
def test_a_removed_member_is_a_contract_step(members: str, phase: str) -> None:
    schema = replay(migrations(BASE), "mysql").schema
    sql = f"ALTER TABLE shipments MODIFY status ENUM({members}) NOT NULL DEFAULT 'pending';"
    statements = mysql.resolve(mysql.parse(sql), schema.copy())
    assert statement_phases(statements, schema) == [(phase,)]


def test_member_retirement_spelling_is_validated() -> None:
    known = all_rules()
    good = ["shipments.status:cancelled", "app.shipments.status:on hold"]
    assert config_mod.parse({"retired": {"2.0.0": good}}, None, known).retired == {
        "2.0.0": tuple(good)
    }
    for bad in ("shipments:cancelled", "shipments.status:", "a b.status:x"):
        with pytest.raises(config_mod.ConfigError, match=r"table\.column:label"):
            config_mod.parse({"retired": {"2.0.0": [bad]}}, None, known)


TRICKY = """CREATE TABLE tricky (
    mood ENUM('it''s', 'back\\\\slash', 'a,b', 'say "hi"', '') NOT NULL,
    tags SET('x''y', 'z') NULL
);
"""


def test_live_members_read_as_the_migration_declares_them(mariadb: Any) -> None:
    replayed = replay(migrations(TRICKY), "mysql").schema
    expected = ("it's", "back\\slash", "a,b", 'say "hi"', "")
    assert replayed.tables["tricky"].columns["mood"].type.values == expected
    name = f"migsafe_enum_{uuid.uuid4().hex[:10]}"
    conn = connect()
    conn.cursor().execute(f"CREATE DATABASE {name}")
    try:
        inside = connect(name)
        inside.cursor().execute(TRICKY)
        inside.close()
        live = introspect(f"{URL.rstrip('/')}/{name}")
    finally:
        conn.cursor().execute(f"DROP DATABASE {name}")
        conn.close()
    for column in ("mood", "tags"):
        assert (
            live.tables["tricky"].columns[column].type.values
            == replayed.tables["tricky"].columns[column].type.values
        )
    assert from_schema(live, "1.0.0").tables == from_schema(replayed, "1.0.0").tables
