"""Capturing contracts (models, a live database, migrations with retired objects), the
bookshop example against a real PostgreSQL, and the release rules over tagged git repos."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe import config as config_mod
from migsafe.cli import main
from migsafe.compat import compat
from migsafe.contracts import from_database, from_migrations, from_models
from migsafe.db.introspect import introspect
from migsafe.releases import assign
from migsafe.rules import all_rules
from migsafe.sources.sqlfiles import discover

BOOKSHOP = Path(__file__).resolve().parents[1] / "examples" / "bookshop"


@pytest.fixture()
def bookshop_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.syspath_prepend(str(BOOKSHOP))
    yield "models:Base.metadata"
    sys.modules.pop("models", None)


def test_models_contract_reads_every_column_and_supplies_the_required_ones(
    bookshop_models: str,
) -> None:
    c = from_models(bookshop_models, "1.0.0")
    books = c.tables["books"]
    assert set(books.columns) == {"id", "title", "author_id", "price", "status", "created_at"}
    # status has a Python-side default: SQLAlchemy always sends it.
    assert books.insert == {"title", "author_id", "price", "status"}
    assert books.columns["created_at"].defaulted and books.columns["id"].defaulted
    assert c.tables["authors"].columns["bio"].nullable
    assert c.enums == {"book_status": ("draft", "published")}


def test_from_models_reports_bad_targets() -> None:
    from migsafe.contracts import ContractError

    for target in ("nomodule_here:x", "json:nothing", "json"):
        with pytest.raises(ContractError):
            from_models(target, "1.0.0")


def _run(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


@pytest.mark.postgres
def test_bookshop_models_fit_the_database_its_migrations_made(
    pg_database: str, bookshop_models: str
) -> None:
    for path in sorted((BOOKSHOP / "migrations").glob("*.sql")):
        _run(pg_database, path.read_text(encoding="utf-8"))
    models = from_models(bookshop_models, "1.0.0")
    assert compat(introspect(pg_database), models) == []
    # The database's own contract agrees with itself, and with the replayed migrations.
    live = from_database(pg_database, "1.0.0")
    assert compat(introspect(pg_database), live) == []
    _run(pg_database, "ALTER TABLE authors DROP COLUMN bio")
    [problem] = compat(introspect(pg_database), models)
    assert problem.object == "authors.bio" and problem.kind == "missing-column"


@pytest.mark.postgres
def test_capture_from_database_and_check_from_the_command_line(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _run(pg_database, "CREATE TABLE IF NOT EXISTS cli_t (id int PRIMARY KEY, note text)")
    runner = CliRunner()
    args = ["contract", "capture", "--release", "1.0.0", "--from-database", pg_database]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    check = ["check", "--against", "1.0.0", "--database-url", pg_database]
    assert runner.invoke(main, check).exit_code == 0
    _run(pg_database, "ALTER TABLE cli_t DROP COLUMN note")
    broken = runner.invoke(main, check)
    assert broken.exit_code == 3 and "cli_t.note" in broken.output


# -- migrations and retired objects --------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(root: Path, steps: list[tuple[str, str, str | None]], config: str = "") -> Path:
    """A git repository with one migration per step, tagged when the step names a tag."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    (root / "migsafe.toml").write_text('releases = "git"\n' + config, encoding="utf-8")
    for name, sql, tag in steps:
        (root / "migrations").mkdir(exist_ok=True)
        (root / "migrations" / name).write_text(sql, encoding="utf-8")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", name)
        if tag:
            git(root, "tag", tag)
    return root


CREATE = ("0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n", "v1.0.0")


def test_contract_from_migrations_leaves_retired_objects_out(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "app",
        [CREATE, ("0002_nick.sql", "ALTER TABLE users ADD nick text;\n", "v2.0.0")],
    )
    table = assign(discover([repo / "migrations"]), "git")
    retired = {"2.0.0": ("users.name",)}
    assert set(from_migrations(table, "1.0.0", retired).tables["users"].columns) == {"id", "name"}
    later = from_migrations(table, "2.0.0", retired).tables["users"].columns
    assert set(later) == {"id", "nick"}


def test_retired_enum_labels_and_types_leave_the_contract(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "app",
        [
            (
                "0001_users.sql",
                "CREATE TYPE mood AS ENUM ('ok', 'sad', 'v1.2:x');\n"
                "CREATE TYPE app_state AS ENUM ('on');\n"
                "CREATE TABLE users (id bigint PRIMARY KEY, m mood, s app_state);\n",
                "v1.0.0",
            ),
            ("0002_nick.sql", "ALTER TABLE users ADD nick text;\n", "v2.0.0"),
        ],
    )
    table = assign(discover([repo / "migrations"]), "git")
    retired = {"2.0.0": ("type mood:sad", "type mood:v1.2:x", "type app_state")}
    assert from_migrations(table, "1.0.0", retired).enums == {
        "mood": ("ok", "sad", "v1.2:x"),
        "app_state": ("on",),
    }
    assert from_migrations(table, "2.0.0", retired).enums == {"mood": ("ok",)}


def test_retired_config_is_validated(tmp_path: Path) -> None:
    known = all_rules()
    good = config_mod.parse({"retired": {"2.1.0": ["users.legacy_name"]}}, None, known)
    assert good.retired == {"2.1.0": ("users.legacy_name",)}
    labels = ["type mood:sad", "type app.state", "type mood:a b"]
    assert config_mod.parse({"retired": {"2.1.0": labels}}, None, known).retired == {
        "2.1.0": tuple(labels)
    }
    for bad in (
        {"2.1.0": "users.x"},
        {"not a version": ["a"]},
        {"2.1.0": ["a b"]},
        ["x"],
        {"2.1.0": ["type "]},
        {"2.1.0": ["type a b:c"]},
    ):
        with pytest.raises(config_mod.ConfigError):
            config_mod.parse({"retired": bad}, None, known)


def test_capture_from_migrations_writes_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "app", [CREATE])
    monkeypatch.chdir(repo)
    done = CliRunner().invoke(
        main, ["contract", "capture", "--release", "1.0.0", "--from-migrations", "migrations"]
    )
    assert done.exit_code == 0, done.output
    doc = json.loads((repo / ".migsafe" / "contracts" / "1.0.0.json").read_text())
    assert doc["release"] == "1.0.0" and "users" in doc["tables"]
    both = CliRunner().invoke(
        main,
        [
            "contract",
            "capture",
            "--release",
            "1.0.0",
            "--from-database",
            "x",
            "--from-migrations",
            "m",
        ],
    )
    assert both.exit_code == 2


# -- lint with releases ------------------------------------------------------------------------


def lint(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    monkeypatch.chdir(repo)
    done = CliRunner().invoke(
        main,
        [
            "lint",
            "migrations",
            "--format",
            "json",
            "--select",
            "contract-before-retirement,breaks-previous-release",
        ],
    )
    assert done.exit_code in (0, 1), done.output
    findings: list[dict[str, object]] = json.loads(done.output)["findings"]
    return findings


def test_renaming_a_column_in_one_release_is_flagged_naming_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(
        tmp_path / "app",
        [CREATE, ("0002_rename.sql", "ALTER TABLE users RENAME name TO full_name;\n", "v2.0.0")],
    )
    found = lint(repo, monkeypatch)
    assert {f["rule"] for f in found} == {"contract-before-retirement", "breaks-previous-release"}
    assert all("1.0.0" in str(f["message"]) for f in found)


def test_the_three_release_rename_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(
        tmp_path / "app",
        [
            CREATE,
            ("0002_expand.sql", "ALTER TABLE users ADD full_name text;\n", None),
            (
                "0003_backfill.sql",
                "UPDATE users SET full_name = name WHERE full_name IS NULL;\n",
                "v2.0.0",
            ),
            (
                "0004_contract.sql",
                "-- migsafe: phase=contract\nALTER TABLE users DROP COLUMN name;\n",
                "v3.0.0",
            ),
        ],
        config='[retired]\n"2.0.0" = ["users.name"]\n',
    )
    assert lint(repo, monkeypatch) == []


def test_a_captured_contract_file_wins_over_the_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(
        tmp_path / "app",
        [CREATE, ("0002_drop.sql", "ALTER TABLE users DROP COLUMN name;\n", "v2.0.0")],
    )
    assert lint(repo, monkeypatch)
    contracts = repo / ".migsafe" / "contracts"
    contracts.mkdir(parents=True)
    (contracts / "1.0.0.json").write_text(
        json.dumps({"version": 1, "release": "1.0.0", "tables": {}}), encoding="utf-8"
    )
    assert lint(repo, monkeypatch) == []


def test_without_releases_the_rules_find_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "app", [CREATE, ("0002_drop.sql", "DROP TABLE users;\n", "v2.0.0")])
    (repo / "migsafe.toml").write_text("", encoding="utf-8")
    assert lint(repo, monkeypatch) == []


def test_a_not_null_check_makes_the_contract_expect_a_value_even_not_valid() -> None:
    from migsafe.contracts import from_schema
    from migsafe.parse.postgres import parse
    from migsafe.schema import Schema

    schema = Schema()
    sql = (
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text, currency text, code text);"
        "ALTER TABLE orders ALTER COLUMN currency SET DEFAULT 'EUR';"
        "ALTER TABLE orders ADD CONSTRAINT c1 CHECK (currency IS NOT NULL) NOT VALID;"
        "ALTER TABLE orders ADD CONSTRAINT c2 CHECK (code IS NOT NULL);"
    )
    for st in parse(sql):
        for op in st.ops:
            schema.apply(op)
    orders = from_schema(schema, "2.0.0").tables["orders"]
    # The release never wrote NULL there, so a later SET NOT NULL does not break it.
    assert orders.columns["note"].nullable
    assert not orders.columns["currency"].nullable and orders.columns["currency"].defaulted
    assert not orders.columns["code"].nullable
    # Without a default, its INSERTs must have supplied code; currency has a default.
    assert orders.insert == {"id", "code"}
    contract = from_schema(schema, "2.0.0")
    for st in parse(
        "ALTER TABLE orders ALTER currency SET NOT NULL, ALTER code SET NOT NULL;"
        "ALTER TABLE orders ALTER note SET NOT NULL;"
    ):
        for op in st.ops:
            schema.apply(op)
    assert [(p.object, p.kind) for p in compat(schema, contract)] == [
        ("orders.note", "not-null-added")
    ]
