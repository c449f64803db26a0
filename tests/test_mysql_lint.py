"""Linting MySQL/MariaDB migrations: the dialect and server chosen from options, config and
paths; the "online" field of the JSON report; the mysql-* rules; PostgreSQL's lock rules
silent on MySQL; the rule pages' examples valid on a real MariaDB."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mariadbfixtures import mariadb

from migsafe.analysis import Settings, lint_text
from migsafe.cli import main
from migsafe.rules import all_rules

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

__all__ = ["mariadb"]

PAGES = Path(__file__).resolve().parents[1] / "rules"
MYSQL_RULES = sorted(r for r in all_rules() if r.startswith("mysql-"))
USERS = "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, age INT);\n"


def lint_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["lint", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def findings(sql: str, dialect: str = "mysql", **settings: Any) -> list[tuple[str, int]]:
    result = lint_text(sql, Settings(dialect=dialect, **settings))
    assert not result.errors, result.errors
    return sorted((f.rule, f.span.line) for f in result.findings)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_dialect_from_a_mysql_folder_and_online_field(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "migrations/mysql/001.sql",
        "ALTER TABLE users ADD COLUMN nickname VARCHAR(50);\n"
        "ALTER TABLE users MODIFY age BIGINT;\n"
        "INSERT INTO users (id, email) VALUES (1, 'a@b');\n",
    )
    _, doc = lint_json(str(f))
    added, changed, inserted = doc["files"][0]["statements"]
    assert added["online"] == {"algorithm": "INSTANT", "lock": "NONE"}
    assert changed["online"] == {"algorithm": "COPY", "lock": "SHARED"}
    assert inserted["online"] is None and inserted["op"] == "insert"
    assert added["locks"] == {} and (added["line"], added["column"]) == (1, 1)
    # The type change is a contract beside an expand: the dialect-neutral rules apply too.
    assert {f["rule"] for f in doc["findings"]} == {"mysql-table-copy", "mixed-phase"}


def test_server_version_changes_the_answer(tmp_path: Path) -> None:
    f = write(tmp_path, "001.sql", "ALTER TABLE users DROP COLUMN age;\n")
    _, doc = lint_json("--dialect", "mysql", "--server-version", "mysql-8.0.20", str(f))
    assert doc["files"][0]["statements"][0]["online"]["algorithm"] == "INPLACE"
    _, doc = lint_json("--dialect", "mysql", "--server-version", "mysql-8.4", str(f))
    assert doc["files"][0]["statements"][0]["online"]["algorithm"] == "INSTANT"
    # A server version alone picks its dialect.
    _, doc = lint_json("--server-version", "mariadb-10.11", str(f))
    assert doc["files"][0]["statements"][0]["online"]["algorithm"] == "INSTANT"


def test_config_keys(tmp_path: Path) -> None:
    f = write(tmp_path, "001.sql", "ALTER TABLE users RENAME INDEX a TO b;\n")
    config = write(tmp_path, "migsafe.toml", 'dialect = "mysql"\nserver-version = "mysql-8.4"\n')
    _, doc = lint_json("--config", str(config), str(f))
    assert doc["files"][0]["statements"][0]["online"] == {"algorithm": "INPLACE", "lock": "NONE"}
    bad = write(tmp_path, "bad.toml", 'server-version = "oracle-23"\n')
    result = CliRunner().invoke(main, ["lint", "--config", str(bad), str(f)])
    assert result.exit_code == 2 and "mysql-8.0" in result.output
    assert "Traceback" not in result.output


def test_bad_server_version_option() -> None:
    result = CliRunner().invoke(main, ["lint", "--server-version", "mysql-5.7", "x.sql"])
    assert result.exit_code == 2
    assert "older than migsafe models" in result.output


def test_syntax_error_is_reported_with_position(tmp_path: Path) -> None:
    f = write(tmp_path, "mysql/001.sql", "SELECT 1;\nALTER TABLE t ADD c VARCHAR(3) DEFAULT 'x;\n")
    code, doc = lint_json(str(f))
    assert code == 2
    (error,) = doc["errors"]
    assert (error["line"], error["column"]) == (2, 40) and "unterminated" in error["message"]


def test_a_statement_nested_too_deeply_is_a_syntax_error(tmp_path: Path) -> None:
    # sqlglot reads nested parentheses recursively: 3000 levels are a RecursionError in it.
    deep = "(" * 3000 + "1" + ")" * 3000
    sql = f"SELECT 1;\nALTER TABLE t ADD COLUMN y int DEFAULT {deep};\n"
    f = write(tmp_path, "mysql/001.sql", sql)
    code, doc = lint_json(str(f))
    assert code == 2
    (error,) = doc["errors"]
    assert (error["line"], error["column"]) == (2, 1)
    assert error["message"] == "syntax error: statement nested too deeply"


def test_postgresql_lock_rules_stay_silent_on_mysql() -> None:
    sql = (
        USERS
        + "ALTER TABLE users ADD COLUMN score INT;\n"
        + "CREATE INDEX idx_email ON users (email);\n"
    )
    # As a second migration, on an existing table: PostgreSQL would want CONCURRENTLY.
    text = "CREATE INDEX idx_email ON users (email);\nALTER TABLE users ADD COLUMN nick CHAR(5);\n"
    pg = {rule for rule, _ in findings(text, dialect="postgresql")}
    assert {"require-concurrent-index", "ban-char"} <= pg
    assert findings(text) == []
    assert findings(sql) == []


def test_postgresql_type_advice_stays_silent_on_mysql() -> None:
    # prefer-bigint's help names bigserial and identity columns, which MySQL does not have.
    text = "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(20));\n"
    assert "prefer-bigint" in {rule for rule, _ in findings(text, dialect="postgresql")}
    assert findings(text) == []


def test_table_copy_and_the_refused_algorithm() -> None:
    result = lint_text(
        "ALTER TABLE users MODIFY age BIGINT, ALGORITHM=INPLACE, LOCK=NONE;",
        Settings(dialect="mariadb"),
    )
    (finding,) = result.findings
    assert finding.rule == "mysql-table-copy"
    assert "mariadb-10.11" in finding.message and "refuses" in finding.message


def test_lock_not_none_fix_rewrites_the_clauses() -> None:
    sql = "ALTER TABLE users ADD INDEX idx_email (email), ALGORITHM=COPY, LOCK=SHARED;\n"
    result = lint_text(sql, Settings(dialect="mysql"))
    (finding,) = result.findings
    assert finding.rule == "mysql-lock-not-none" and finding.fix is not None
    fixed = finding.fix.apply(sql)
    assert fixed == "ALTER TABLE users ADD INDEX idx_email (email), ALGORITHM=INPLACE, LOCK=NONE;\n"
    assert lint_text(fixed, Settings(dialect="mysql")).findings == []


def test_foreign_key_checks_decide_the_foreign_key_algorithm() -> None:
    add = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);\n"
    assert findings(add) == [("mysql-lock-not-none", 1)]
    relaxed = "SET foreign_key_checks = 0;\n" + add + "SET foreign_key_checks = 1;\n"
    assert findings(relaxed) == []


def test_implicit_commit_fires_once_per_block() -> None:
    sql = (
        "START TRANSACTION;\n"
        "INSERT INTO audit VALUES (1);\n"
        "ALTER TABLE users ADD COLUMN a INT;\n"
        "ALTER TABLE users ADD COLUMN b INT;\n"
        "COMMIT;\n"
        "ALTER TABLE users ADD COLUMN c INT;\n"
    )
    assert findings(sql) == [("mysql-implicit-commit", 3)]


def test_enum_and_charset_rules_need_the_old_definition() -> None:
    create = (
        "CREATE TABLE o (id BIGINT PRIMARY KEY, s ENUM('a','b','c'), "
        "t VARCHAR(10) CHARACTER SET latin1);\n"
    )
    change = (
        "ALTER TABLE o MODIFY s ENUM('a','c');\n"
        "ALTER TABLE o MODIFY t VARCHAR(10) CHARACTER SET utf8mb4;\n"
    )
    result = lint_text(change, Settings(dialect="mysql"))
    assert [f.rule for f in result.findings] == ["mysql-table-copy", "mysql-table-copy"]
    from migsafe.analysis import Analyzer
    from migsafe.sources import Migration

    migrations = [
        Migration(path=Path(f"{i}.sql"), display=f"{i}.sql", text=text)
        for i, text in enumerate((create, change))
    ]
    result = Analyzer(Settings(dialect="mysql")).run(migrations)
    found = sorted((f.rule, f.span.line) for f in result.findings)
    # Removing 'b' is a contract step, widening the charset an expand one: mixed-phase.
    assert found == [("mixed-phase", 1), ("mysql-charset-change", 2), ("mysql-enum-reorder", 1)]
    enum = next(f for f in result.findings if f.rule == "mysql-enum-reorder")
    assert "removes 'b'" in enum.message


def page_blocks(rule_id: str) -> list[str]:
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", page, re.S)


@pytest.mark.parametrize("rule_id", MYSQL_RULES)
def test_page_examples_run_on_mariadb(rule_id: str, mariadb: Any) -> None:
    """Every statement of the page's examples is valid MariaDB: each section's blocks run in
    order on fresh tables."""
    from migsafe.parse import mysql

    for block in page_blocks(rule_id):
        for st in mysql.parse(block):
            if st.sql.upper().startswith("CREATE TABLE"):
                table = st.ops[0].table  # type: ignore[attr-defined]
                mariadb.execute(f"DROP TABLE IF EXISTS {table}")
            mariadb.execute(st.sql.rstrip(";"))


def test_config_dialect_reaches_contracts_and_check(tmp_path: Path) -> None:
    """A MySQL project whose migrations sit in no mysql/ folder says so once, in its config;
    replaying them for contracts and checks reads them as MySQL too."""
    write(tmp_path, "migsafe.toml", 'dialect = "mysql"\nreleases = "annotations"\n')
    write(
        tmp_path,
        "db/0001_users.sql",
        "-- migsafe: release=1.0.0\n"
        "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL)"
        " ENGINE=InnoDB;\n",
    )
    write(
        tmp_path,
        "db/0002_drop.sql",
        "-- migsafe: release=2.0.0\nALTER TABLE users DROP COLUMN name;\n",
    )
    config = ["--config", str(tmp_path / "migsafe.toml")]
    db = str(tmp_path / "db")
    captured = CliRunner().invoke(
        main, ["contract", "capture", *config, "--release", "1.0.0", "--from-migrations", db]
    )
    assert captured.exit_code == 0, captured.output
    contract = tmp_path / ".migsafe/contracts/1.0.0.json"
    assert "name" in json.loads(contract.read_text(encoding="utf-8"))["tables"]["users"]["columns"]
    checked = CliRunner().invoke(
        main, ["check", *config, "--against", "1.0.0", "--at", "0002_drop", db]
    )
    assert checked.exit_code == 3, checked.output
    assert "users.name" in checked.output


INCOMPLETE = [
    "ALTER TABLE",
    "ALTER TABLE t ADD COLUMN",
    "ALTER TABLE t ADD",
    "ALTER TABLE t DROP",
    "ALTER TABLE t MODIFY",
    "ALTER TABLE t CHANGE a",
    "ALTER TABLE t RENAME",
    "ALTER TABLE t ADD CONSTRAINT",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE INDEX i ON",
    "RENAME TABLE",
    "RENAME TABLE a TO",
    "TRUNCATE",
    "SET",
    "DROP TABLE",
    "UPDATE",
    "DELETE FROM",
    "INSERT INTO",
]


@pytest.mark.parametrize("in_procedure", [False, True], ids=["top", "procedure"])
@pytest.mark.parametrize("statement", INCOMPLETE)
def test_incomplete_statements_are_syntax_errors_at_their_end(
    tmp_path: Path, statement: str, in_procedure: bool
) -> None:
    """MySQL rejects a statement cut short: a syntax error where it stops, not a traceback
    and not a clean lint."""
    if in_procedure:
        text = f"DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  {statement};\nEND//\nDELIMITER ;\n"
        line, column = 4, 3 + len(statement)
    else:
        text = f"SELECT 1;\n\n{statement};\n"
        line, column = 3, 1 + len(statement)
    f = write(tmp_path, "mysql/001.sql", text)
    code, doc = lint_json("--no-cache", str(f))
    assert code == 2
    (error,) = doc["errors"]
    assert (error["line"], error["column"]) == (line, column)
    assert error["message"].startswith("syntax error: incomplete statement")


def test_column_type_narrowing_points_at_the_type_on_its_line(tmp_path: Path) -> None:
    write(tmp_path, "mysql/001.sql", "CREATE TABLE t (id INT, name VARCHAR(100) NOT NULL);\n")
    write(
        tmp_path, "mysql/002.sql", "-- shorter\n\nALTER TABLE t MODIFY name VARCHAR(20) NOT NULL;\n"
    )
    _, doc = lint_json("--no-cache", str(tmp_path / "mysql"))
    (narrowing,) = [f for f in doc["findings"] if f["rule"] == "column-type-narrowing"]
    assert (narrowing["line"], narrowing["column"], narrowing["end_column"]) == (3, 27, 38)
    assert "from varchar(100) to varchar(20)" in narrowing["message"]
