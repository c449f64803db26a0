"""Removing the label 'cancelled' from order_status, which 1.0.0 uses: the type is
recreated without it (PostgreSQL cannot drop an enum label in place)."""

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
            "0001_orders.sql",
            "CREATE TYPE order_status AS ENUM ('pending', 'paid', 'cancelled');\n"
            "CREATE TABLE orders (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    status order_status NOT NULL DEFAULT 'pending'\n"
            ");\n",
        ),
    ),
)

RECREATE = Release(
    "v2.0.0",
    (
        (
            "0002_drop_cancelled.sql",
            "ALTER TYPE order_status RENAME TO order_status_old;\n"
            "CREATE TYPE order_status AS ENUM ('pending', 'paid');\n"
            "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;\n"
            "ALTER TABLE orders ALTER COLUMN status TYPE order_status\n"
            "    USING status::text::order_status;\n"
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';\n"
            "DROP TYPE order_status_old;\n",
        ),
    ),
)


def test_removing_an_enum_label_the_previous_release_uses_is_flagged(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    outcome = run(tmp_path, pg_default_server_info, [CREATE, RECREATE])
    by_rule = {f.rule: f for f in outcome.findings}
    assert set(by_rule) == {"breaks-previous-release", "contract-before-retirement"}
    assert {f.migration for f in outcome.findings} == {"0002_drop_cancelled.sql"}
    broken = by_rule["breaks-previous-release"].message
    assert "release 1.0.0 no longer works" in broken
    assert "type order_status: it expects label 'cancelled'" in broken
    swapped = by_rule["contract-before-retirement"].message
    assert "renames type order_status to order_status_old" in swapped
    assert "release 1.0.0 still uses" in swapped
    [check] = outcome.checks
    assert (check.against, check.exit_code) == ("1.0.0", 3)
    assert check.problems == {("type order_status", "enum-label")}
    assert "no label 'cancelled'" in check.output
    assert "(caused by migrations/0002_drop_cancelled.sql)" in check.output


SPLIT = Release(
    "v2.0.0",
    (
        (
            "0002_rename_type.sql",
            "ALTER TYPE order_status RENAME TO order_status_old;\n"
            "CREATE TYPE order_status AS ENUM ('pending', 'paid');\n",
        ),
    ),
)


def test_renaming_the_type_alone_reads_the_same_statically_and_live(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    # The column keeps the renamed type; the new order_status lacks 'cancelled'. run()
    # asserts that the replayed and the live schema give the same problems.
    outcome = run(tmp_path, pg_default_server_info, [CREATE, SPLIT])
    [check] = outcome.checks
    assert check.exit_code == 3
    assert ("orders.status", "type-changed") in check.problems
    assert ("type order_status", "enum-label") in check.problems
