"""``migsafe trace`` on MariaDB: migrations applied to a scratch database there, each ALTER
sent with the cheapest algorithm first, and the first the server accepts held against the
online-DDL model. The rule pages' examples go through it too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mariadbfixtures import URL, mariadb

from migsafe import online
from migsafe.cli import main
from migsafe.rules import all_rules

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")
pytest.importorskip("pymysql", reason="PyMySQL is in the mysql and test extras")

__all__ = ["mariadb"]

PAGES = Path(__file__).resolve().parents[1] / "rules"
MYSQL_PAGES = sorted(
    r for r, rule in all_rules().items() if r.startswith("mysql-") and not rule.trace_only
)


@pytest.fixture(autouse=True)
def server_up(mariadb: Any) -> None:
    """Trace makes its own scratch database; this only skips when no MariaDB answers."""


def trace_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["trace", "--format", "json", "--database-url", URL, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for f in doc["files"] for s in f["statements"]]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_trace_applies_and_judges_each_alter(tmp_path: Path) -> None:
    write(
        tmp_path,
        "mysql/001.sql",
        "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, age INT);\n"
        "INSERT INTO users VALUES (1, 'a@b', 3);\n",
    )
    write(
        tmp_path,
        "mysql/002.sql",
        "ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL;\n"
        "ALTER TABLE users MODIFY age BIGINT, ALGORITHM=INPLACE;\n"
        "CREATE INDEX idx_email ON users (email);\n"
        "CREATE DATABASE elsewhere;\n"
        "ALTER TABLE missing ADD COLUMN x INT;\n",
    )
    code, doc = trace_json(str(tmp_path / "mysql"))
    assert doc["trace"]["server"].startswith("mariadb-")
    _, _, added, changed, index, database, missing = statements(doc)
    assert added["observed"] == added["online"] == {"algorithm": "INSTANT", "lock": "NONE"}
    # The statement's own ALGORITHM=INPLACE is left out to find what the server can do.
    assert changed["observed"] == {"algorithm": "COPY", "lock": "SHARED"}
    assert index["observed"] == {"algorithm": "INPLACE", "lock": "NONE"}
    assert database["observed"] is None and "beyond the scratch" in database["not_run"]
    assert "doesn't exist" in missing["error"]
    assert doc["trace"] == {"server": doc["trace"]["server"], "failed": 1, "not_run": 1}
    assert code == 2
    assert not [f for f in doc["findings"] if f["rule"] == "mysql-online-model-mismatch"]


def test_a_wrong_model_row_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "mysql/001.sql", "CREATE TABLE t (id BIGINT PRIMARY KEY, n INT NULL);\n")
    write(tmp_path, "mysql/002.sql", "ALTER TABLE t MODIFY n INT NOT NULL;\n")
    rows = dict(online.MODEL["set_not_null"])
    rows["mariadb"] = (((10, 6, 0), online.INSTANT),)
    monkeypatch.setitem(online.MODEL, "set_not_null", rows)
    code, doc = trace_json(str(tmp_path / "mysql"))
    (finding,) = [f for f in doc["findings"] if f["rule"] == "mysql-online-model-mismatch"]
    assert "model ALGORITHM=INSTANT" in finding["message"]
    assert "accepted ALGORITHM=INPLACE, LOCK=NONE" in finding["message"]
    assert code == 1


def test_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    f = write(tmp_path, "mysql/001.sql", "CREATE TABLE t (id INT);\n")
    result = CliRunner().invoke(
        main, ["trace", "--database-url", "mysql://nobody:secret@127.0.0.1:1", str(f)]
    )
    assert result.exit_code == 2
    assert "cannot connect to the MySQL/MariaDB server at 127.0.0.1:1" in result.output
    assert "secret" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("rule_id", MYSQL_PAGES)
@pytest.mark.parametrize("heading", ["## Example", "## Use instead"])
def test_page_examples_match_the_online_model(rule_id: str, heading: str, tmp_path: Path) -> None:
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    for i, block in enumerate(blocks):
        write(tmp_path, f"mysql/{i:03}.sql", block)
    _, doc = trace_json(str(tmp_path / "mysql"))
    assert not doc["errors"], doc["errors"]
    assert not [s for s in statements(doc) if s.get("error")]
    judged = [s for s in statements(doc) if s["online"] is not None]
    assert judged and all(s["observed"] == s["online"] or "ALGORITHM" in s["sql"] for s in judged)
    assert not [f for f in doc["findings"] if f["rule"] == "mysql-online-model-mismatch"]
