"""The command line as users meet it: output, exit codes, config errors, suppressions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop" / "migrations"


def run(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(main, list(args))
    else:
        with runner.isolated_filesystem(temp_dir=cwd):
            result = runner.invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")
    return path


def test_text_output_points_at_the_statement(tmp_path: Path) -> None:
    f = write(tmp_path, "0001_idx.up.sql", "SELECT 1;\nCREATE INDEX i ON users (email);\n")
    code, out = run("lint", str(f))
    assert code == 1
    assert f"{f}:2:1: error[require-concurrent-index]" in out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "error[require-concurrent-index]" in line)
    assert lines[at + 2] == "2 | CREATE INDEX i ON users (email);"
    assert lines[at + 3] == "  | " + "^" * len("CREATE INDEX i ON users (email);")
    assert any(line.strip().startswith("= help:") for line in lines[at:])
    assert "= fix:" in out
    assert lines[-1].startswith("Found ")


def test_clean_file_exits_zero(tmp_path: Path) -> None:
    f = write(tmp_path, "0001.sql", "-- nothing but a comment\n")
    code, out = run("lint", str(f))
    assert code == 0
    assert "No problems found (1 file, 0 statements)." in out


def test_json_shape(tmp_path: Path) -> None:
    sql = (
        "CREATE TABLE a (id bigint);\n"
        "ALTER TABLE users ADD COLUMN x uuid DEFAULT gen_random_uuid();\n"
    )
    f = write(tmp_path, "m/0001.sql", sql)
    code, out = run("lint", "--format", "json", str(f))
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1
    assert set(doc) >= {"version", "files", "findings", "summary"}
    (entry,) = doc["files"]
    add = entry["statements"][1]
    assert add["line"] == 2 and add["column"] == 1 and add["end_line"] == 2
    assert add["end_column"] == len(sql.splitlines()[1]) + 1
    assert add["op"] == "add_column"
    assert add["locks"] == {"users": "AccessExclusiveLock"}
    assert add["rewrites"] == ["users"] and add["scans"] == ["users"]
    created = entry["statements"][0]
    assert created["locks"] == {} and created["rewrites"] == [] and created["scans"] == []
    rules = {f["rule"] for f in doc["findings"]}
    assert "add-column-rewrite" in rules
    finding = next(f for f in doc["findings"] if f["rule"] == "add-column-rewrite")
    assert set(finding) >= {
        "rule", "severity", "path", "line", "column", "end_line", "end_column",
        "message", "help", "fix",
    }  # fmt: skip
    assert doc["summary"]["files"] == 1 and doc["summary"]["statements"] == 2
    assert doc["summary"]["errors"] == sum(f["severity"] == "error" for f in doc["findings"])


def test_syntax_error_is_exit_2_and_other_files_still_linted(tmp_path: Path) -> None:
    write(tmp_path, "0001_bad.up.sql", "SELECT 1;\nALTER TABEL users ADD COLUMN x int;\n")
    write(tmp_path, "0002_ok.up.sql", "DROP TABLE users;\n")
    code, out = run("lint", str(tmp_path))
    assert code == 2
    assert re.search(r"0001_bad\.up\.sql:2:7: syntax error: at or near \"TABEL\"", out)
    assert "error[drop-table]" in out


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    code, out = run("lint", str(tmp_path / "nope.sql"))
    assert code == 2
    assert "nope.sql: no such file or directory" in out
    assert "Traceback" not in out


def test_no_paths_is_a_usage_error() -> None:
    code, out = run("lint")
    assert code == 2
    assert "no paths given" in out


def test_unknown_rule_in_select_is_named() -> None:
    code, out = run("lint", "--select", "require-concurent-index", str(EXAMPLE))
    assert code == 2
    assert "unknown rule id 'require-concurent-index'" in out
    assert "did you mean 'require-concurrent-index'" in out


def test_pg_version_out_of_range() -> None:
    code, out = run("lint", "--pg-version", "9", str(EXAMPLE))
    assert code == 2
    assert "must be 11" in out


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[tool.migsafe]\npg-versoin = 15\n", "unknown key 'pg-versoin'"),
        ("[tool.migsafe]\nignore = ['no-such-rule']\n", "unknown rule id 'no-such-rule'"),
        ("[tool.migsafe.severity]\ndrop-table = 'fatal'\n", 'must be "error", "warning"'),
        ("[tool.migsafe]\nassume-in-transaction = 'yes'\n", "must be true or false"),
        ("[tool.migsafe\n", "not valid TOML"),
    ],
)
def test_bad_config_is_exit_2(tmp_path: Path, config: str, expected: str) -> None:
    write(tmp_path, "pyproject.toml", config)
    f = write(tmp_path, "0001.sql", "SELECT 1;\n")
    code, out = run("lint", str(f), "--config", str(tmp_path / "pyproject.toml"))
    assert code == 2
    assert expected in out


def test_config_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        "migsafe.toml",
        "ignore = ['drop-table']\n[severity]\nrequire-lock-timeout = 'off'\n",
    )
    f = write(tmp_path, "db/0001.sql", "DROP TABLE users;\n")
    sub = tmp_path / "db"
    monkeypatch.chdir(sub)
    code, out = run("lint", str(f))
    assert "drop-table" not in out and "require-lock-timeout" not in out
    monkeypatch.chdir(tmp_path.parent)
    code, out = run("lint", str(f))
    assert "error[drop-table]" in out and code == 1


def test_severity_override_and_fail_on(tmp_path: Path) -> None:
    write(tmp_path, "migsafe.toml", "[severity]\ndrop-table = 'warning'\n")
    f = write(
        tmp_path, "0001.sql", "BEGIN;\nSET LOCAL lock_timeout = '1s';\nDROP TABLE users;\nCOMMIT;\n"
    )
    cfg = str(tmp_path / "migsafe.toml")
    code, out = run("lint", str(f), "--config", cfg)
    assert "warning[drop-table]" in out and code == 0
    code, _ = run("lint", str(f), "--config", cfg, "--fail-on", "warning")
    assert code == 1
    code, _ = run("lint", str(f), "--config", cfg, "--fail-on", "warning", "--exit-zero")
    assert code == 0


def test_ignore_comments(tmp_path: Path) -> None:
    sql = (
        "-- migsafe:ignore drop-table -- retired in 2.3\n"
        "DROP TABLE old_a;\n"
        "DROP TABLE old_b; -- migsafe:ignore drop-table,require-lock-timeout\n"
        "DROP TABLE old_c;\n"
    )
    f = write(tmp_path, "0001.sql", sql)
    _, out = run("lint", "--select", "drop-table", str(f))
    assert "0001.sql:2:" not in out and "0001.sql:3:" not in out
    assert "0001.sql:4:1: error[drop-table]" in out
    f2 = write(
        tmp_path, "0002.sql", "-- migsafe:ignore-file drop-table\nDROP TABLE a;\nDROP TABLE b;\n"
    )
    code, out = run("lint", "--select", "drop-table", str(f2))
    assert code == 0 and "drop-table" not in out.replace("No problems", "")


def test_down_migrations_are_marked(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.up.sql", "CREATE TABLE a (id bigint);\n")
    write(tmp_path, "0001_a.down.sql", "DROP TABLE a;\n")
    _, out = run("lint", "--select", "drop-table", "--format", "json", str(tmp_path))
    (finding,) = json.loads(out)["findings"]
    assert finding["direction"] == "down" and finding["path"].endswith("0001_a.down.sql")
    _, text = run("lint", "--select", "drop-table", str(tmp_path))
    assert "error[drop-table] (down migration)" in text


def test_strict_reports_unknown_statements(tmp_path: Path) -> None:
    f = write(tmp_path, "0001.sql", "DO $$ BEGIN PERFORM 1; END $$;\n")
    code, out = run("lint", str(f))
    assert code == 0 and "unknown-statement" not in out
    _, out = run("lint", "--strict", str(f))
    assert "warning[unknown-statement]" in out and "DoStmt" in out


def test_pg_version_changes_the_answer(tmp_path: Path) -> None:
    sql = (
        "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    )
    f = write(tmp_path, "0001.sql", sql)
    _, out16 = run("lint", "--select", "set-not-null-scan", "--pg-version", "16", str(f))
    _, out11 = run("lint", "--select", "set-not-null-scan", "--pg-version", "11", str(f))
    assert "set-not-null-scan" not in out16.replace("No problems", "")
    assert "0001.sql:3:1: error[set-not-null-scan]" in out11


def test_rules_and_explain() -> None:
    code, out = run("rules")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    from migsafe.deploy_lint import RULES as DEPLOY_RULES

    assert listed == set(all_rules()) | set(DEPLOY_RULES)
    assert re.search(r"^rollback-window +error +lint-deploy ", out, re.M)
    code, page = run("explain", "require-concurrent-index")
    assert code == 0 and page.startswith("# require-concurrent-index")
    code, out = run("explain", "no-such-rule")
    assert code == 2 and "unknown rule id" in out


def test_readme_rule_table_matches_registry() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- rules-table", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \| (error|warning) \|", table, re.M)
    assert {r: s for r, s in rows} == {r.id: r.severity.value for r in all_rules().values()}


def test_example_project_shows_the_unsafe_migration() -> None:
    code, out = run("lint", "--format", "json", str(EXAMPLE))
    doc = json.loads(out)
    by_file: dict[str, set[str]] = {}
    for f in doc["findings"]:
        by_file.setdefault(Path(f["path"]).name, set()).add(f["rule"])
    hurried = by_file["0003_referrals.up.sql"]
    assert {"add-column-rewrite", "require-concurrent-index", "column-type-rewrite"} <= hurried
    assert "constraint-missing-not-valid" in hurried
    careful = {
        name: rules
        for name, rules in by_file.items()
        if name.startswith(("0004", "0005", "0006", "0007")) and ".up." in name
    }
    assert careful == {}
    assert code == 1


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "migsafe", "lint", "--exit-zero", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "error[add-column-rewrite]" in proc.stdout


def test_golang_file_with_several_statements_is_one_transaction(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.up.sql", "SELECT 1;\nCREATE INDEX CONCURRENTLY i ON users (email);\n")
    write(tmp_path, "0002_b.up.sql", "CREATE INDEX CONCURRENTLY j ON users (name);\n")
    _, out = run("lint", "--select", "concurrently-in-transaction", str(tmp_path))
    assert "0001_a.up.sql:2:1: error[concurrently-in-transaction]" in out
    assert "0002_b.up.sql" not in out
    _, out = run(
        "lint", "--select", "concurrently-in-transaction", "--no-assume-in-transaction",
        str(tmp_path),
    )  # fmt: skip
    assert "concurrently-in-transaction]" not in out


def test_fix_is_shown_and_underline_follows_tabs(tmp_path: Path) -> None:
    f = write(tmp_path, "0001.sql", "SELECT 1;\n\tCREATE INDEX i ON users (email);\n")
    _, out = run("lint", "--select", "require-concurrent-index,require-lock-timeout", str(f))
    lines = out.splitlines()
    assert "  | \t" + "^" * len("CREATE INDEX i ON users (email);") in lines
    assert "2 + \tCREATE INDEX CONCURRENTLY i ON users (email);" in lines
    at = lines.index("2 + \tSET lock_timeout = '2s';")
    assert lines[at + 1] == "3 + \tCREATE INDEX i ON users (email);"


def test_one_unreadable_file_does_not_stop_the_others(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.sql", "DROP TABLE users;\n")
    bad = tmp_path / "bad.sql"
    bad.write_bytes(b"\xff\xfeDROP")
    code, out = run("lint", "--select", "drop-table", str(ok), str(bad), str(tmp_path / "no.sql"))
    assert code == 2
    assert f"{bad}: not UTF-8 text" in out and f"{tmp_path / 'no.sql'}: no such file" in out
    assert f"{ok}:1:1: error[drop-table]" in out


def test_empty_folder_and_empty_selection_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = run("lint", str(tmp_path / "empty"))
    assert code == 2 and "no .sql files here" in out
    f = write(tmp_path, "a.sql", "SELECT 1;\n")
    code, out = run("lint", "--select", ",", str(f))
    assert code == 2 and "select names no rule ids" in out


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[tool.migsafe]\nseverity = 'error'\n", "severity must be a table"),
        ("[tool.migsafe]\npg-version = '16'\n", "must be 11 to 17"),
    ],
)
def test_config_value_types(tmp_path: Path, config: str, expected: str) -> None:
    cfg = write(tmp_path, "custom.toml", config)
    f = write(tmp_path, "a.sql", "SELECT 1;\n")
    code, out = run("lint", "--config", str(cfg), str(f))
    assert code == 2 and expected in out and "Traceback" not in out


def test_config_path_that_is_a_directory(tmp_path: Path) -> None:
    f = write(tmp_path, "a.sql", "SELECT 1;\n")
    code, out = run("lint", "--config", str(tmp_path), str(f))
    assert code == 2 and "is a directory" in out


def test_unknown_rule_in_ignore_comment_is_named(tmp_path: Path) -> None:
    f = write(tmp_path, "a.sql", "-- migsafe:ignore drop-tabel\nDROP TABLE x;\n")
    code, out = run("lint", str(f))
    assert code == 2
    assert f"{f}:1:19: unknown rule id 'drop-tabel' in migsafe:ignore" in out


def test_dbmate_findings_show_their_own_section(tmp_path: Path) -> None:
    sql = "-- migrate:up\nCREATE INDEX i ON users (email);\n\n-- migrate:down\nDROP TABLE t;\n"
    write(tmp_path, "20240101000000_x.sql", sql)
    _, out = run("lint", "--select", "require-concurrent-index,drop-table", str(tmp_path))
    lines = out.splitlines()
    assert "2 | CREATE INDEX i ON users (email);" in lines
    assert "5 | DROP TABLE t;" in lines


def test_set_config_and_zero_lock_timeout(tmp_path: Path) -> None:
    rule = ["--select", "require-lock-timeout"]
    f = write(tmp_path, "a.sql", "SELECT set_config('lock_timeout', '2s', false);\nDROP TABLE x;\n")
    _, out = run("lint", *rule, str(f))
    assert "require-lock-timeout]" not in out
    f = write(tmp_path, "b.sql", "SET lock_timeout = '0s';\nDROP TABLE x;\n")
    _, out = run("lint", *rule, str(f))
    assert "b.sql:2:1: warning[require-lock-timeout]" in out


def test_create_table_if_not_exists_on_a_known_table_is_not_new(tmp_path: Path) -> None:
    write(tmp_path, "V1__init.sql", "CREATE TABLE users (id bigint, email text);\n")
    write(
        tmp_path,
        "V2__more.sql",
        "CREATE TABLE IF NOT EXISTS users (id bigint, email text);\n"
        "CREATE INDEX users_email_idx ON users (email);\n",
    )
    _, out = run("lint", "--select", "require-concurrent-index", str(tmp_path))
    assert "V2__more.sql:2:1: error[require-concurrent-index]" in out


def test_single_query_file_after_commit_is_still_one_transaction(tmp_path: Path) -> None:
    write(
        tmp_path,
        "0002_b.up.sql",
        "BEGIN;\nALTER TABLE t ADD COLUMN x int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (x);\n",
    )
    _, out = run("lint", "--select", "concurrently-in-transaction", str(tmp_path))
    assert "0002_b.up.sql:4:1: error[concurrently-in-transaction]" in out


def test_schema_qualified_rename_keeps_the_schema(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "a.sql",
        "CREATE TABLE app.users (id bigint);\n"
        "ALTER TABLE app.users RENAME TO people;\n"
        "CREATE INDEX people_id ON app.people (id);\n",
    )
    _, out = run("lint", "--select", "require-concurrent-index", str(f))
    assert "require-concurrent-index]" not in out


BLOCK_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None\n"
    "from migsafe.cli import main\n"
    "sys.argv[0] = 'migsafe'\n"
    "main()\n"
)


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "--database-url", "postgresql://u:pw@127.0.0.1:1/db", "migrations"],
        ["check", "--against", "1.0.0", "--database-url", "postgresql://u:pw@127.0.0.1:1/db"],
        ["gate", "--release", "1.0.0", "--database-url", "postgresql://u:pw@127.0.0.1:1/db"],
        ["deploy", "status", "--database-url", "postgresql://u:pw@127.0.0.1:1/db"],
    ],
)
def test_database_commands_without_psycopg_say_what_to_install(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_a.up.sql").write_text("SELECT 1;\n", encoding="utf-8")
    contracts = tmp_path / ".migsafe" / "contracts"
    contracts.mkdir(parents=True)
    (contracts / "1.0.0.json").write_text(
        '{"version": 1, "release": "1.0.0", "source": "database", "tables": {}}',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PSYCOPG, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and "pw" not in output
    assert "needs psycopg" in output
