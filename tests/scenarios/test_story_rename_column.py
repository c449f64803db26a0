"""Renaming users.name to users.full_name: over three releases after the first (expand with
a dual-write trigger and a backfill, switch and retire, drop), and in one release."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_kit import Release, run

from migsafe.db.ephemeral import Server

pytestmark = pytest.mark.postgres

CREATE = Release(
    "v1.0.0",
    (
        (
            "0001_users.sql",
            "CREATE TABLE users (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    name text NOT NULL\n"
            ");\n",
        ),
    ),
)

SAFE = [
    CREATE,
    Release(
        "v2.0.0",
        (
            ("0002_add_full_name.sql", "ALTER TABLE users ADD COLUMN full_name text;\n"),
            (
                "0003_sync_full_name.sql",
                "CREATE FUNCTION users_sync_name() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                "BEGIN\n"
                "    NEW.full_name := coalesce(NEW.full_name, NEW.name);\n"
                "    NEW.name := coalesce(NEW.name, NEW.full_name);\n"
                "    RETURN NEW;\n"
                "END $$;\n"
                "CREATE TRIGGER users_sync_name BEFORE INSERT OR UPDATE ON users\n"
                "    FOR EACH ROW EXECUTE FUNCTION users_sync_name();\n",
            ),
            (
                "0004_backfill_full_name.sql",
                "UPDATE users SET full_name = name WHERE full_name IS NULL;\n",
            ),
        ),
    ),
    # 3.0.0 reads and writes full_name only: name is retired, and may now be left out.
    Release(
        "v3.0.0",
        (("0005_name_optional.sql", "ALTER TABLE users ALTER COLUMN name DROP NOT NULL;\n"),),
    ),
    Release(
        "v4.0.0",
        (
            (
                "0006_drop_name.sql",
                "-- migsafe: phase=contract\n"
                "DROP TRIGGER users_sync_name ON users;\n"
                "DROP FUNCTION users_sync_name();\n"
                "ALTER TABLE users DROP COLUMN name;\n",
            ),
        ),
    ),
]


def test_rename_over_three_releases_passes(tmp_path: Path, pg_default_server_info: Server) -> None:
    outcome = run(tmp_path, pg_default_server_info, SAFE, retired={"3.0.0": ["users.name"]})
    assert outcome.findings == []
    assert [(c.migration, c.against, c.exit_code) for c in outcome.checks] == [
        ("0002_add_full_name.sql", "1.0.0", 0),
        ("0003_sync_full_name.sql", "1.0.0", 0),
        ("0004_backfill_full_name.sql", "1.0.0", 0),
        ("0005_name_optional.sql", "2.0.0", 0),
        ("0006_drop_name.sql", "3.0.0", 0),
    ]


def test_dropping_the_old_column_before_retiring_it_is_flagged(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    # The same story without the retirement: 3.0.0 still uses users.name.
    outcome = run(tmp_path, pg_default_server_info, SAFE)
    assert {(f.rule, f.migration) for f in outcome.findings} == {
        ("contract-before-retirement", "0006_drop_name.sql"),
        ("breaks-previous-release", "0006_drop_name.sql"),
    }
    assert all("release 3.0.0" in f.message for f in outcome.findings)
    last = outcome.check_after("0006_drop_name.sql")
    assert last.exit_code == 3
    assert last.problems == {("users.name", "missing-column")}
    assert [c.exit_code for c in outcome.checks[:-1]] == [0, 0, 0, 0]


def test_rename_in_one_release_is_flagged_naming_the_release_it_breaks(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    releases = [
        CREATE,
        Release(
            "v2.0.0",
            (("0002_rename.sql", "ALTER TABLE users RENAME COLUMN name TO full_name;\n"),),
        ),
    ]
    outcome = run(tmp_path, pg_default_server_info, releases)
    assert {(f.rule, f.migration) for f in outcome.findings} == {
        ("contract-before-retirement", "0002_rename.sql"),
        ("breaks-previous-release", "0002_rename.sql"),
    }
    assert all("release 1.0.0" in f.message for f in outcome.findings)
    [renamed] = [f for f in outcome.findings if f.rule == "contract-before-retirement"]
    assert "renames column users.name to full_name" in renamed.message
    [check] = outcome.checks
    assert (check.against, check.exit_code) == ("1.0.0", 3)
    # 1.0.0 reads name, which is gone, and its INSERTs leave out full_name, NOT NULL.
    assert check.problems == {
        ("users.name", "missing-column"),
        ("users.full_name", "required-column"),
    }
    assert "release 1.0.0 breaks on this schema: 2 problem(s)" in check.output
    assert "(caused by migrations/0002_rename.sql)" in check.output
