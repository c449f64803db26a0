"""Linting only some migrations while replaying the rest for context: files passed one by
one (what pre-commit does) and ``lint --changed`` against a real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from migsafe.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

USERS = "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50));\n"
NARROW = "ALTER TABLE users ALTER COLUMN name TYPE varchar(10);\n"
NULLABLE = "ALTER TABLE users ADD COLUMN nickname text;\n"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def lint_run(*args: str, cwd: Path) -> Result:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, ["lint", "--format", "json", *args])
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def lint_json(*args: str, cwd: Path) -> tuple[int, dict[str, object] | str]:
    """The exit code and the JSON report, or the error (stderr and stdout) when there is
    no report."""
    result = lint_run(*args, cwd=cwd)
    if result.exit_code == 2 and not result.stdout.lstrip().startswith("{"):
        return 2, result.output
    return result.exit_code, json.loads(result.stdout)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def rules_in(doc: object, path: str) -> set[str]:
    assert isinstance(doc, dict)
    return {f["rule"] for f in doc["findings"] if f["path"] == path}


def test_a_file_given_alone_is_linted_after_its_folder_s_earlier_migrations(
    tmp_path: Path,
) -> None:
    m = tmp_path / "migrations"
    m.mkdir()
    (m / "0001_users.up.sql").write_text(USERS, encoding="utf-8")
    (m / "0002_narrow.up.sql").write_text(NARROW, encoding="utf-8")
    (m / "0003_later.up.sql").write_text("SELEC broken;\n", encoding="utf-8")
    code, doc = lint_json("migrations/0002_narrow.up.sql", cwd=tmp_path)
    assert code == 1 and isinstance(doc, dict)
    # The old type is known only from 0001: narrowing needs it.
    assert "column-type-narrowing" in rules_in(doc, "migrations/0002_narrow.up.sql")
    assert {f["path"] for f in doc["findings"]} == {"migrations/0002_narrow.up.sql"}
    assert doc["summary"]["files"] == 1 and doc["errors"] == []  # 0003 is not read


def test_a_lone_script_is_linted_alone(tmp_path: Path) -> None:
    (tmp_path / "setup.sql").write_text(USERS, encoding="utf-8")
    (tmp_path / "fix.sql").write_text(NARROW, encoding="utf-8")
    code, doc = lint_json("fix.sql", cwd=tmp_path)
    assert code == 1
    assert "column-type-narrowing" not in rules_in(doc, "fix.sql")
    assert "column-type-rewrite" in rules_in(doc, "fix.sql")


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    m = repo / "db" / "migrations"
    m.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (m / "0001_users.up.sql").write_text(USERS, encoding="utf-8")
    (m / "0002_nickname.up.sql").write_text(NULLABLE, encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (m / "0003_narrow.up.sql").write_text(NARROW, encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "narrow")
    return repo


def test_changed_reports_only_the_new_migration_with_full_context(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, doc = lint_json("--changed", "db/migrations", cwd=repo)
    assert code == 1 and isinstance(doc, dict)
    assert {f["path"] for f in doc["findings"]} == {"db/migrations/0003_narrow.up.sql"}
    assert "column-type-narrowing" in rules_in(doc, "db/migrations/0003_narrow.up.sql")
    assert doc["summary"]["files"] == 1
    # The whole folder, for comparison, reports 0002 too.
    _, whole = lint_json("db/migrations", cwd=repo)
    assert rules_in(whole, "db/migrations/0002_nickname.up.sql")


def test_changed_sees_modified_and_untracked_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    m = repo / "db" / "migrations"
    (m / "0002_nickname.up.sql").write_text(NULLABLE + "CREATE INDEX i ON users (name);\n")
    (m / "0004_new.up.sql").write_text("DROP TABLE users;\n", encoding="utf-8")
    code, doc = lint_json("--changed", "--base", "main", "db/migrations", cwd=repo)
    assert code == 1 and isinstance(doc, dict)
    paths = {f["path"] for f in doc["findings"]}
    assert paths == {
        "db/migrations/0002_nickname.up.sql",
        "db/migrations/0003_narrow.up.sql",
        "db/migrations/0004_new.up.sql",
    }
    assert "require-concurrent-index" in rules_in(doc, "db/migrations/0002_nickname.up.sql")


def test_nothing_changed_is_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, doc = lint_json("--changed", "--base", "feature", "db/migrations", cwd=repo)
    assert code == 0 and isinstance(doc, dict)
    assert doc["findings"] == [] and doc["summary"]["files"] == 0


def test_a_base_that_is_head_itself_is_said_on_stderr(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    done = lint_run("--changed", "--base", "feature", "db/migrations", cwd=repo)
    assert done.exit_code == 0
    assert "note: --changed compared with feature, whose merge base with HEAD is HEAD" in (
        done.stderr
    )
    assert "--base REF" in done.stderr
    done = lint_run("--changed", "--base", "main", "db/migrations", cwd=repo)
    assert done.exit_code == 1 and "note:" not in done.stderr


def test_a_clone_of_the_branch_alone_does_not_lint_nothing_silently(tmp_path: Path) -> None:
    # The remote's HEAD is the feature branch: origin/HEAD is HEAD, nothing is "changed".
    repo = make_repo(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(clone))
    assert git(clone, "rev-parse", "origin/HEAD") == git(clone, "rev-parse", "HEAD")
    done = lint_run("--changed", "db/migrations", cwd=clone)
    assert done.exit_code == 0 and json.loads(done.stdout)["summary"]["files"] == 0
    assert "compared with origin/HEAD" in done.stderr and "--base REF" in done.stderr


def test_changed_still_says_a_named_path_is_missing_or_empty(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "db" / "empty").mkdir()
    for args in (("--changed",), ()):
        for given, message in (
            (["db/typo"], "no such file or directory"),
            (["db/typo/0001.sql", "db/migrations"], "no such file or directory"),
            (["db/empty"], "no .sql files here"),
        ):
            code, doc = lint_json(*args, *given, cwd=repo)
            assert code == 2 and isinstance(doc, dict), (args, given)
            (error,) = doc["errors"]
            assert error["path"] == given[0] and error["message"].startswith(message)


def test_changed_files_named_keep_their_folder_s_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, doc = lint_json("--changed", "db/migrations/0003_narrow.up.sql", cwd=repo)
    assert code == 1 and isinstance(doc, dict)
    assert "column-type-narrowing" in rules_in(doc, "db/migrations/0003_narrow.up.sql")
    assert doc["summary"]["files"] == 1
    # A named file that did not change is not reported, even beside one that did.
    code, doc = lint_json(
        "--changed",
        "db/migrations/0002_nickname.up.sql",
        "db/migrations/0003_narrow.up.sql",
        cwd=repo,
    )
    assert code == 1 and isinstance(doc, dict)
    assert {f["path"] for f in doc["findings"]} == {"db/migrations/0003_narrow.up.sql"}
    assert "column-type-narrowing" in rules_in(doc, "db/migrations/0003_narrow.up.sql")


def test_an_excluded_named_file_is_skipped_and_the_others_keep_their_history(
    tmp_path: Path,
) -> None:
    (tmp_path / "migsafe.toml").write_text('exclude = ["migrations/003_*"]\n', encoding="utf-8")
    m = tmp_path / "migrations"
    m.mkdir()
    (m / "001_users.sql").write_text(USERS, encoding="utf-8")
    (m / "002_narrow.sql").write_text(NARROW, encoding="utf-8")
    (m / "003_legacy.sql").write_text("CREATE INDEX i ON users (name);\n", encoding="utf-8")
    done = lint_run("migrations/002_narrow.sql", "migrations/003_legacy.sql", cwd=tmp_path)
    assert done.exit_code == 1
    doc = json.loads(done.stdout)
    assert {f["path"] for f in doc["findings"]} == {"migrations/002_narrow.sql"}
    assert "column-type-narrowing" in rules_in(doc, "migrations/002_narrow.sql")
    assert "note: migrations/003_legacy.sql: not linted, the config's exclude" in done.stderr


def test_changed_without_a_base_is_a_clear_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "branch", "-q", "-m", "main", "trunk")
    code, out = lint_json("--changed", "db/migrations", cwd=repo)
    assert code == 2 and isinstance(out, str)
    assert "origin/HEAD, main, master" in out and "--base" in out
    assert "Traceback" not in out
    code, out = lint_json("--changed", "--base", "nope", "db/migrations", cwd=repo)
    assert code == 2 and "(--base nope is not a commit here)" in str(out)


def test_changed_in_a_shallow_clone_says_to_fetch_more_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(clone))
    code, out = lint_json("--changed", "db/migrations", cwd=clone)
    assert code == 2 and isinstance(out, str)
    assert "shallow" in out and "fetch-depth: 0" in out
    # Fetching only the base's tip still leaves no common commit.
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:main")
    code, out = lint_json("--changed", "--base", "main", "db/migrations", cwd=clone)
    assert code == 2 and "no common commit" in str(out) and "shallow" in str(out)
    git(clone, "fetch", "-q", "--unshallow", "origin")
    code, doc = lint_json("--changed", "--base", "main", "db/migrations", cwd=clone)
    assert code == 1 and isinstance(doc, dict)
    assert {f["path"] for f in doc["findings"]} == {"db/migrations/0003_narrow.up.sql"}


def test_changed_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "0001.sql").write_text(USERS, encoding="utf-8")
    code, out = lint_json("--changed", "0001.sql", cwd=tmp_path)
    assert code == 2 and "not in a git repository" in str(out)


def test_base_without_changed_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "0001.sql").write_text(USERS, encoding="utf-8")
    code, out = lint_json("--base", "main", "0001.sql", cwd=tmp_path)
    assert code == 2 and "--base only applies with --changed" in str(out)


def test_an_unreadable_sibling_is_not_reported_but_an_unreadable_given_file_is(
    tmp_path: Path,
) -> None:
    m = tmp_path / "migrations"
    m.mkdir()
    (m / "0001_users.up.sql").write_text(USERS, encoding="utf-8")
    (m / "0002_latin1.up.sql").write_bytes(b"-- caf\xe9\nSELECT 1;\n")
    (m / "0003_narrow.up.sql").write_text(NARROW, encoding="utf-8")
    code, doc = lint_json("migrations/0003_narrow.up.sql", cwd=tmp_path)
    assert code == 1 and isinstance(doc, dict) and doc["errors"] == []
    assert "column-type-narrowing" in rules_in(doc, "migrations/0003_narrow.up.sql")
    code, doc = lint_json("migrations/0002_latin1.up.sql", cwd=tmp_path)
    assert code == 2 and isinstance(doc, dict)
    (error,) = doc["errors"]
    assert "not UTF-8" in error["message"] and error["path"].endswith("0002_latin1.up.sql")


def test_changed_narrows_alembic_revisions_too(tmp_path: Path) -> None:
    from test_alembic_sources import write_revision

    repo = tmp_path / "app"
    versions = repo / "versions"
    write_revision(versions, "a1", None, 'op.create_table("t", sa.Column("c", sa.Integer()))')
    write_revision(versions, "b1", "a1", 'op.drop_column("t", "old")')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write_revision(versions, "c1", "b1", 'op.alter_column("t", "c", type_=sa.BigInteger())')
    code, doc = lint_json("--changed", "--base", "main", "versions", cwd=repo)
    assert isinstance(doc, dict), doc
    # Only the new revision is reported, judged against the int column a1 created.
    assert {f["path"] for f in doc["findings"]} == {"versions/c1_step.py"}
    assert rules_in(doc, "versions/c1_step.py") >= {"column-type-rewrite"}
    assert code == 1


def test_sql_files_keep_their_findings_beside_named_revisions(tmp_path: Path) -> None:
    from test_alembic_sources import write_revision

    versions = tmp_path / "versions"
    write_revision(versions, "a1", None, 'op.create_table("t", sa.Column("c", sa.Integer()))')
    write_revision(versions, "b1", "a1", 'op.drop_column("t", "c")')
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "0001_users.up.sql").write_text(USERS, encoding="utf-8")
    (sql / "0002_narrow.up.sql").write_text(NARROW, encoding="utf-8")
    code, doc = lint_json("versions/b1_step.py", "sql/0002_narrow.up.sql", cwd=tmp_path)
    assert code == 1
    assert isinstance(doc, dict)
    assert {f["path"] for f in doc["findings"]} == {"versions/b1_step.py", "sql/0002_narrow.up.sql"}
    assert "drop-column" in rules_in(doc, "versions/b1_step.py")
    assert "column-type-narrowing" in rules_in(doc, "sql/0002_narrow.up.sql")
