"""``migsafe lint --fix`` and ``--diff``: every rule page's Bad example that has a safe fix
is fixed in one run, a second run finds nothing, the fixed SQL lints clean for that rule and
runs on a real PostgreSQL; files with syntax errors are never touched; fixes that meet are
made one round at a time; line endings and byte order marks are kept."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_rule_pages import PAGES, fired, sql_blocks
from test_trace import EXAMPLES_SETUP, PAGE_SETUP

from migsafe.cli import main
from migsafe.fixes import SAFE
from migsafe.parse.postgres import parse


def lint(*args: str, cwd: Path) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["lint", *args])
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def pages_with_a_safe_fix() -> list[str]:
    from migsafe.analysis import Analyzer, Settings
    from migsafe.sources import Migration

    found = []
    for rule_id in SAFE:
        blocks = sql_blocks((PAGES / f"{rule_id}.md").read_text(encoding="utf-8"), "## Example")
        migrations = [
            Migration(path=Path(f"{i}.sql"), display=f"{i}.sql", text=sql)
            for i, sql in enumerate(blocks)
        ]
        result = Analyzer(Settings(select=frozenset({rule_id}))).run(migrations)
        if any(f.fix is not None for f in result.findings):
            found.append(rule_id)
    return found


FIXABLE = pages_with_a_safe_fix()


def test_every_safe_rule_has_a_page_example_with_a_fix() -> None:
    assert list(SAFE) == FIXABLE


def write_example(folder: Path, rule_id: str) -> tuple[list[str], Path]:
    blocks = sql_blocks((PAGES / f"{rule_id}.md").read_text(encoding="utf-8"), "## Example")
    for i, sql in enumerate(blocks):
        (folder / f"{i:04d}_example.sql").write_text(sql, encoding="utf-8")
    return blocks, folder / f"{len(blocks) - 1:04d}_example.sql"


@pytest.mark.postgres
@pytest.mark.parametrize("rule_id", FIXABLE)
def test_fix_on_the_page_example_is_complete_idempotent_and_runs(
    rule_id: str, tmp_path: Path, pg_server: str
) -> None:
    from migsafe.db.ephemeral import scratch_on

    blocks, example = write_example(tmp_path, rule_id)
    code, out = lint("--fix", "--exit-zero", example.name, cwd=tmp_path)
    assert code == 0, out
    fixed = example.read_text(encoding="utf-8")
    assert fixed != blocks[-1]
    assert "fixed " in out
    assert not fired(rule_id, [*blocks[:-1], fixed]), fixed
    # Nothing is left to fix: --diff is silent and a second --fix changes nothing.
    assert lint("--diff", example.name, cwd=tmp_path) == (0, "")
    lint("--fix", "--exit-zero", example.name, cwd=tmp_path)
    assert example.read_text(encoding="utf-8") == fixed
    code, out = lint("--select", rule_id, example.name, cwd=tmp_path)
    assert code == 0 and "No problems found" in out, out
    # PostgreSQL accepts it: each statement on its own, as a migration tool would send it.
    import psycopg

    from migsafe.db.ephemeral import existing_server

    with (
        existing_server(pg_server) as server,
        scratch_on(server, "migsafe_fix") as dsn,
        psycopg.connect(dsn, autocommit=True) as conn,
    ):
        conn.execute((EXAMPLES_SETUP + PAGE_SETUP.get(rule_id, "")).encode("utf-8"))
        for text in [*blocks[:-1], fixed]:
            for statement in parse(text):
                conn.execute(statement.sql.encode("utf-8"))


def test_diff_shows_without_writing(tmp_path: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "0001_users.up.sql").write_text("CREATE TABLE users (id bigint, name text);\n")
    original = "CREATE INDEX i ON users (name);\n"
    (m / "0002_idx.up.sql").write_text(original)
    code, out = lint("--diff", "m/0002_idx.up.sql", cwd=tmp_path)
    assert code == 1
    assert out.startswith("--- a/m/0002_idx.up.sql\n+++ b/m/0002_idx.up.sql\n")
    assert "-CREATE INDEX i ON users (name);\n" in out
    assert "+CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (name);\n" in out
    assert (m / "0002_idx.up.sql").read_text() == original
    # Only the file given is fixed; 0001 is context.
    assert "0001_users" not in out


def test_diff_applies_with_git_to_files_without_a_final_newline(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    m = tmp_path / "m"
    m.mkdir()
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True)
    files = {
        # No final newline; a form feed, which str.splitlines would take for a line end.
        "0002_idx.sql": b"SELECT '\x0c';\nCREATE INDEX t_a ON t (a);",
        "0003_bom.sql": "\ufeffCREATE INDEX t_b ON t (b);\n".encode(),
    }
    for name, data in files.items():
        (m / name).write_bytes(data)
    code, out = lint("--diff", "m", cwd=tmp_path)
    assert code == 1 and "\\ No newline at end of file\n" in out
    (tmp_path / "fix.patch").write_text(out, encoding="utf-8", newline="")
    check = subprocess.run(
        [git, "apply", "--check", "fix.patch"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    subprocess.run([git, "apply", "fix.patch"], cwd=tmp_path, check=True)
    applied = {name: (m / name).read_bytes() for name in files}
    # --fix writes the same bytes.
    for name, data in files.items():
        (m / name).write_bytes(data)
    lint("--fix", "--exit-zero", "m", cwd=tmp_path)
    assert applied == {name: (m / name).read_bytes() for name in files}
    assert applied["0002_idx.sql"].endswith(b"CONCURRENTLY IF NOT EXISTS t_a ON t (a);")


def test_fixes_that_meet_are_made_in_turn(tmp_path: Path) -> None:
    # CONCURRENTLY and IF NOT EXISTS both go right after CREATE INDEX.
    f = tmp_path / "0001_idx.sql"
    f.write_text("CREATE INDEX i ON users (name);\nDROP INDEX j;\n", encoding="utf-8")
    lint("--fix", "--exit-zero", f.name, cwd=tmp_path)
    assert f.read_text(encoding="utf-8") == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (name);\n"
        "DROP INDEX CONCURRENTLY IF EXISTS j;\n"
    )


def test_one_lock_timeout_covers_the_file(tmp_path: Path) -> None:
    # golang-migrate sends the file as one query: an implicit transaction, no CONCURRENTLY.
    f = tmp_path / "0001_two.up.sql"
    sql = "ALTER TABLE users ADD COLUMN x int;\nALTER TABLE users ADD COLUMN y int;\n"
    f.write_text(sql, encoding="utf-8")
    lint("--fix", "--exit-zero", f.name, cwd=tmp_path)
    assert f.read_text(encoding="utf-8") == "SET lock_timeout = '2s';\n" + sql


def test_a_file_with_a_syntax_error_is_never_rewritten(tmp_path: Path) -> None:
    bad = tmp_path / "0001_bad.sql"
    bad_sql = "CREATE INDEX i ON users (name);\nSELEC 1;\n"
    bad.write_text(bad_sql, encoding="utf-8")
    good = tmp_path / "0002_good.sql"
    good.write_text("CREATE INDEX k ON users (name);\n", encoding="utf-8")
    code, out = lint("--diff", bad.name, good.name, cwd=tmp_path)
    assert code == 2 and f"not fixed: {bad.name}:2:1: syntax error" in out
    assert "+++ b/0002_good.sql" in out and "0001_bad" not in out.split("not fixed")[0]
    code, out = lint("--fix", bad.name, good.name, cwd=tmp_path)
    assert code == 2 and "syntax error" in out
    assert bad.read_text(encoding="utf-8") == bad_sql
    assert "CONCURRENTLY" in good.read_text(encoding="utf-8")


def test_judgement_fixes_are_left_as_suggestions(tmp_path: Path) -> None:
    f = tmp_path / "0001.sql"
    sql = "BEGIN;\nCREATE TABLE t (id int, at timestamp);\nCOMMIT;\n"
    f.write_text(sql, encoding="utf-8")
    code, out = lint("--fix", f.name, cwd=tmp_path)
    assert code == 0  # warnings only
    assert "= fix:" in out  # prefer-bigint and prefer-timestamptz offer one
    assert f.read_text(encoding="utf-8") == sql
    assert lint("--diff", f.name, cwd=tmp_path) == (0, "")


def test_line_endings_and_byte_order_mark_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "0001.sql"
    f.write_bytes("\ufeffCREATE INDEX i ON users (name);\r\nSELECT 1;\r\n".encode())
    lint("--fix", "--exit-zero", f.name, cwd=tmp_path)
    assert (
        f.read_bytes()
        == (
            "\ufeffCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (name);\r\nSELECT 1;\r\n"
        ).encode()
    )


def test_dbmate_file_fixes_both_sections(tmp_path: Path) -> None:
    f = tmp_path / "20240101_idx.sql"
    f.write_text(
        "-- migrate:up transaction:false\nCREATE INDEX i ON users (name);\n\n"
        "-- migrate:down transaction:false\nDROP INDEX i;\n",
        encoding="utf-8",
    )
    lint("--fix", "--exit-zero", f.name, cwd=tmp_path)
    text = f.read_text(encoding="utf-8")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (name);" in text
    assert "DROP INDEX CONCURRENTLY IF EXISTS i;" in text
    assert lint("--diff", f.name, cwd=tmp_path) == (0, "")


def test_no_lock_timeout_that_would_put_vacuum_in_a_transaction(tmp_path: Path) -> None:
    # One statement sent as one query runs outside a transaction; with a SET before it the
    # query string becomes an implicit transaction, which VACUUM refuses.
    f = tmp_path / "0001_vacuum.up.sql"
    f.write_text("VACUUM FULL users;\n", encoding="utf-8")
    code, out = lint("--exit-zero", f.name, cwd=tmp_path)
    assert code == 0
    assert "require-lock-timeout" in out and "= fix:" not in out
    assert lint("--diff", f.name, cwd=tmp_path) == (0, "")
    plain = tmp_path / "vacuum.sql"  # statements sent one by one: the SET is harmless
    plain.write_text("VACUUM FULL users;\n", encoding="utf-8")
    assert lint("--diff", plain.name, cwd=tmp_path)[0] == 1
