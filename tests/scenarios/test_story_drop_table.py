"""Dropping the table audit_log: one release too early (2.0.0 drops what 1.0.0 writes), and
in 3.0.0 after 2.0.0 retired it."""

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
            "0001_accounts.sql",
            "CREATE TABLE accounts (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    email text NOT NULL UNIQUE\n"
            ");\n"
            "CREATE TABLE audit_log (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    account_id bigint NOT NULL REFERENCES accounts (id),\n"
            "    action text NOT NULL,\n"
            "    at timestamptz NOT NULL DEFAULT now()\n"
            ");\n",
        ),
    ),
)
# 2.0.0 sends its audit trail elsewhere and records when accounts were last seen.
EXPAND = Release(
    "v2.0.0",
    (("0002_last_seen.sql", "ALTER TABLE accounts ADD COLUMN last_seen_at timestamptz;\n"),),
)
DROP = (("0003_drop_audit_log.sql", "-- migsafe: phase=contract\nDROP TABLE audit_log;\n"),)


def test_dropping_a_table_one_release_too_early_is_flagged(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    outcome = run(
        tmp_path, pg_default_server_info, [CREATE, Release("v2.0.0", EXPAND.migrations + DROP)]
    )
    assert {(f.rule, f.migration) for f in outcome.findings} == {
        ("contract-before-retirement", "0003_drop_audit_log.sql"),
        ("breaks-previous-release", "0003_drop_audit_log.sql"),
    }
    assert all("release 1.0.0" in f.message for f in outcome.findings)
    assert outcome.check_after("0002_last_seen.sql").exit_code == 0
    dropped = outcome.check_after("0003_drop_audit_log.sql")
    assert (dropped.against, dropped.exit_code) == ("1.0.0", 3)
    assert dropped.problems == {("audit_log", "missing-table")}
    assert "release 1.0.0 breaks on this schema: 1 problem(s)" in dropped.output
    assert "(caused by migrations/0003_drop_audit_log.sql)" in dropped.output


def test_dropping_it_after_the_release_that_retired_it_passes(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    outcome = run(
        tmp_path,
        pg_default_server_info,
        [CREATE, EXPAND, Release("v3.0.0", DROP)],
        retired={"2.0.0": ["audit_log"]},
    )
    assert outcome.findings == []
    assert [(c.migration, c.against, c.exit_code) for c in outcome.checks] == [
        ("0002_last_seen.sql", "1.0.0", 0),
        ("0003_drop_audit_log.sql", "2.0.0", 0),
    ]
