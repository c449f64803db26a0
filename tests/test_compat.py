"""compat(): each kind of problem, provenance naming the migration, the JSON format, and
`migsafe check` exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe import compat as compat_mod
from migsafe.cli import main
from migsafe.compat import compat, replay
from migsafe.contracts import Contract, ContractError, from_json, from_schema, load, save
from migsafe.sources import Migration

BASE = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name varchar(100) NOT NULL,
    nick text,
    state text NOT NULL DEFAULT 'new',
    feeling mood
);
"""


def migrations(*texts: str) -> list[Migration]:
    return [
        Migration(path=Path(f"{i:04}.sql"), display=f"{i:04}.sql", text=t)
        for i, t in enumerate(texts, 1)
    ]


def contract() -> Contract:
    return from_schema(replay(migrations(BASE)).schema, "1.0.0")


def problems(change: str) -> list[compat_mod.Problem]:
    replayed = replay(migrations(BASE, change))
    return compat(replayed.schema, contract(), replayed.provenance)


def test_the_schema_a_contract_came_from_has_no_problems() -> None:
    assert compat(replay(migrations(BASE)).schema, contract()) == []


@pytest.mark.parametrize(
    ("change", "kind", "obj"),
    [
        ("DROP TABLE users;", compat_mod.MISSING_TABLE, "users"),
        ("ALTER TABLE users RENAME TO people;", compat_mod.MISSING_TABLE, "users"),
        ("ALTER TABLE users DROP COLUMN nick;", compat_mod.MISSING_COLUMN, "users.nick"),
        ("ALTER TABLE users RENAME nick TO handle;", compat_mod.MISSING_COLUMN, "users.nick"),
        ("ALTER TABLE users ALTER name TYPE varchar(50);", compat_mod.TYPE_CHANGED, "users.name"),
        ("ALTER TABLE users ALTER nick TYPE int4 USING 0;", compat_mod.TYPE_CHANGED, "users.nick"),
        ("ALTER TABLE users ALTER nick SET NOT NULL;", compat_mod.NOT_NULL_ADDED, "users.nick"),
        ("ALTER TABLE users ADD email text NOT NULL;", compat_mod.REQUIRED_COLUMN, "users.email"),
        ("ALTER TABLE users ALTER state DROP DEFAULT;", compat_mod.DEFAULT_DROPPED, "users.state"),
        ("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", compat_mod.ENUM_LABEL, "type mood"),
    ],
)
def test_each_problem_names_object_expectation_and_migration(
    change: str, kind: str, obj: str
) -> None:
    [problem] = problems(change)
    assert (problem.kind, problem.object, problem.migration) == (kind, obj, "0002.sql")
    assert problem.expected and problem.found
    assert obj in str(problem) and "caused by 0002.sql" in str(problem)


def test_compatible_changes_are_not_problems() -> None:
    assert (
        problems(
            "ALTER TABLE users ALTER name TYPE varchar(200);"
            "ALTER TABLE users ALTER nick TYPE text;"
            "ALTER TABLE users ADD email text;"
            "ALTER TABLE users ADD score int NOT NULL DEFAULT 0;"
            "ALTER TYPE mood ADD VALUE 'calm';"
            "CREATE TABLE other (id int NOT NULL);"
        )
        == []
    )


def test_renamed_label_is_told_apart_from_removed() -> None:
    [problem] = problems("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';")
    assert "renamed to 'blue'" in problem.found


def test_json_round_trip(tmp_path: Path) -> None:
    original = contract()
    path = tmp_path / "1.0.0.json"
    save(original, path)
    again = load(path)
    assert again == original
    assert again.to_json()["version"] == 1
    assert again.to_json()["tables"]["users"]["columns"]["id"]["defaulted"] is True
    assert again.to_json()["tables"]["users"]["insert"] == ["name"]


@pytest.mark.parametrize(
    "doc",
    [
        {"version": 2, "release": "1", "tables": {}},
        {"version": 1, "tables": {}},
        {"version": 1, "release": "1", "tables": {"t": {"columns": {"c": {"type": "int4"}}}}},
        {
            "version": 1,
            "release": "1",
            "tables": {"t": {"columns": {"c": {"type": "(", "nullable": True}}}},
        },
    ],
)
def test_malformed_contracts_are_rejected(doc: object) -> None:
    with pytest.raises(ContractError):
        from_json(doc, "c.json")


# -- migsafe check ------------------------------------------------------------------------------


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_base.sql").write_text(BASE, encoding="utf-8")
    (tmp_path / "migrations" / "0002_drop.sql").write_text(
        "ALTER TABLE users DROP COLUMN nick;\n", encoding="utf-8"
    )
    save(contract(), tmp_path / ".migsafe" / "contracts" / "1.0.0.json")
    return tmp_path


def test_check_exit_codes(project: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["check", "--against", "1.0.0", "--at", "0001_base", "migrations"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["check", "--against", "1.0.0", "migrations"])
    assert bad.exit_code == 3
    assert "users.nick" in bad.output and "0002_drop.sql" in bad.output
    missing = runner.invoke(main, ["check", "--against", "9.9.9", "migrations"])
    assert missing.exit_code == 2 and "capture" in missing.output
    unknown = runner.invoke(main, ["check", "--against", "1.0.0", "--at", "nope", "migrations"])
    assert unknown.exit_code == 2


def test_check_json_names_each_problem_and_its_migration(project: Path) -> None:
    runner = CliRunner()
    args = ["check", "--against", "1.0.0", "--format", "json", "migrations"]
    bad = runner.invoke(main, args)
    assert bad.exit_code == 3, bad.output
    doc = json.loads(bad.output)
    assert doc["release"] == "1.0.0" and doc["compatible"] is False
    [problem] = doc["problems"]
    assert problem["object"] == "users.nick" and problem["kind"] == "missing-column"
    assert problem["migration"].endswith("0002_drop.sql")
    ok = runner.invoke(main, [*args[:5], "--at", "0001_base", "migrations"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == {
        "release": "1.0.0",
        "compatible": True,
        "tables_checked": doc["tables_checked"],
        "problems": [],
    }


def test_check_unreachable_database_hides_the_password(project: Path) -> None:
    url = "postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=2"
    done = CliRunner().invoke(main, ["check", "--against", "1.0.0", "--database-url", url])
    assert done.exit_code == 2
    assert "s3cret" not in done.output and "Traceback" not in done.output
    assert "cannot read the schema" in done.output
