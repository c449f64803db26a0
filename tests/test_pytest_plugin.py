"""The pytest plugin, run in a real pytest session by ``pytester``: off by default, one item
per revision or SQL file when on, each failing with its own findings.

The sessions run in their own process: run in this one, pytester unloads the migsafe
modules they imported, and later tests would pickle (for the lint cache) objects whose
class was imported again."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

SAFE = """\
import sqlalchemy as sa
from alembic import op
from myapp.models import Base  # not installed: the plugin reads, never imports

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True))
"""

UNSAFE = """\
import sqlalchemy as sa
from alembic import op

revision = "b2"
down_revision = "a1"


def upgrade():
    op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
    op.drop_column("users", "id")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    versions = pytester.mkdir("migrations").joinpath("versions")
    versions.mkdir()
    versions.joinpath("a1_users.py").write_text(SAFE, encoding="utf-8")
    versions.joinpath("b2_email.py").write_text(UNSAFE, encoding="utf-8")
    sql = pytester.mkdir("sql")
    sql.joinpath("V1__t.sql").write_text("CREATE TABLE t (id bigint);\n", encoding="utf-8")
    sql.joinpath("V2__idx.sql").write_text("CREATE INDEX ix ON t (id);\n", encoding="utf-8")
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    return pytester


def test_off_unless_asked(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_one_item_per_migration_failing_with_its_findings(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--migsafe", "-rA")
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    assert "migrations/versions/b2_email.py:10:5: error[drop-column]" in out
    assert '10 |     op.drop_column("users", "id")' in out
    assert "sql/V2__idx.sql:1:1: error[require-concurrent-index]" in out
    assert "PASSED migrations/versions/a1_users.py::migsafe" in out
    assert "FAILED migrations/versions/b2_email.py::migsafe" in out
    # Each item shows only its own file's findings.
    assert "a1_users.py:" not in out.split("FAILURES")[1].split("short test summary")[0]


def test_ini_switch_paths_and_fail_on(project: pytest.Pytester) -> None:
    project.makeini(
        textwrap.dedent(
            """\
            [pytest]
            migsafe = true
            migsafe_paths = migrations/versions
            migsafe_fail_on = warning
            testpaths = test_app.py
            """
        )
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    # The add_column (no lock_timeout) is a warning: with fail_on = warning it fails too,
    # and the SQL folder is not collected (not in testpaths nor migsafe_paths).
    result.assert_outcomes(passed=2, failed=1)
    assert "b2_email.py:9:5: warning[require-lock-timeout]" in result.stdout.str()


def test_bad_fail_on_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nmigsafe = true\nmigsafe_fail_on = sometimes\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*migsafe_fail_on must be error or warning*"])


def test_items_use_the_configs_dialect(pytester: pytest.Pytester) -> None:
    """`dialect = "mysql"` in the config reads the SQL files as MySQL, as `migsafe lint`
    does; read as PostgreSQL, MODIFY is a syntax error."""
    pytester.makefile(".toml", migsafe='dialect = "mysql"\nserver-version = "mysql-8.0"\n')
    db = pytester.mkdir("db")
    db.joinpath("V1__t.sql").write_text(
        "CREATE TABLE t (id int, name varchar(50)) ENGINE=InnoDB;\n", encoding="utf-8"
    )
    db.joinpath("V2__m.sql").write_text(
        "ALTER TABLE t MODIFY name varchar(10);\n", encoding="utf-8"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--migsafe", "db")
    out = result.stdout.str()
    assert "syntax error" not in out
    result.assert_outcomes(passed=1, failed=1)
    assert "db/V2__m.sql:1:27: error[column-type-narrowing]" in out


def test_a_diesel_migration_is_judged_with_the_history_of_its_folder(
    pytester: pytest.Pytester,
) -> None:
    root = pytester.mkdir("migrations")
    for name, sql in (
        ("2024-01-01-000000_users", "CREATE TABLE users (id bigint, name varchar(50));\n"),
        ("2024-01-02-000000_narrow", "ALTER TABLE users ALTER COLUMN name TYPE varchar(10);\n"),
    ):
        folder = root / name
        folder.mkdir()
        folder.joinpath("up.sql").write_text(sql, encoding="utf-8")
        folder.joinpath("down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--migsafe", "migrations", "-rA"
    )
    out = result.stdout.str()
    assert "FAILED migrations/2024-01-02-000000_narrow/up.sql::migsafe" in out
    assert "2024-01-02-000000_narrow/up.sql:1:" in out and "column-type-narrowing" in out
