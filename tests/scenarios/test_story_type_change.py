"""Changing line_items.quantity from bigint to integer: through a new column over releases
(add, backfill, switch and retire, drop), and directly with ALTER COLUMN TYPE, which
narrows what 1.0.0 writes."""

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
            "0001_line_items.sql",
            "CREATE TABLE line_items (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    sku varchar(32) NOT NULL,\n"
            "    quantity bigint NOT NULL DEFAULT 1\n"
            ");\n",
        ),
    ),
)

THROUGH_A_NEW_COLUMN = [
    CREATE,
    # 2.0.0 writes both columns; 1.0.0 beside it writes quantity only, the trigger copies.
    Release(
        "v2.0.0",
        (
            (
                "0002_add_qty.sql",
                "ALTER TABLE line_items ADD COLUMN qty integer;\n"
                "CREATE FUNCTION line_items_sync_qty() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                "BEGIN\n"
                "    NEW.qty := coalesce(NEW.qty, NEW.quantity);\n"
                "    RETURN NEW;\n"
                "END $$;\n"
                "CREATE TRIGGER line_items_sync_qty BEFORE INSERT OR UPDATE ON line_items\n"
                "    FOR EACH ROW EXECUTE FUNCTION line_items_sync_qty();\n",
            ),
            ("0003_backfill_qty.sql", "UPDATE line_items SET qty = quantity WHERE qty IS NULL;\n"),
        ),
    ),
    # 3.0.0 uses qty only (quantity retired), so nothing needs the trigger any more.
    Release(
        "v3.0.0",
        (
            (
                "0004_drop_sync.sql",
                "DROP TRIGGER line_items_sync_qty ON line_items;\n"
                "DROP FUNCTION line_items_sync_qty();\n",
            ),
        ),
    ),
    Release(
        "v4.0.0",
        (
            (
                "0005_drop_quantity.sql",
                "-- migsafe: phase=contract\nALTER TABLE line_items DROP COLUMN quantity;\n",
            ),
        ),
    ),
]


def test_type_change_through_a_new_column_passes(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    outcome = run(
        tmp_path,
        pg_default_server_info,
        THROUGH_A_NEW_COLUMN,
        retired={"3.0.0": ["line_items.quantity"]},
    )
    assert outcome.findings == []
    assert [(c.migration, c.against, c.exit_code) for c in outcome.checks] == [
        ("0002_add_qty.sql", "1.0.0", 0),
        ("0003_backfill_qty.sql", "1.0.0", 0),
        ("0004_drop_sync.sql", "2.0.0", 0),
        ("0005_drop_quantity.sql", "3.0.0", 0),
    ]


def test_narrowing_the_type_directly_is_flagged(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    releases = [
        CREATE,
        Release(
            "v2.0.0",
            (
                (
                    "0002_quantity_int.sql",
                    "ALTER TABLE line_items ALTER COLUMN quantity TYPE integer;\n",
                ),
            ),
        ),
    ]
    outcome = run(tmp_path, pg_default_server_info, releases)
    assert {(f.rule, f.migration) for f in outcome.findings} == {
        ("contract-before-retirement", "0002_quantity_int.sql"),
        ("breaks-previous-release", "0002_quantity_int.sql"),
    }
    assert all("release 1.0.0" in f.message for f in outcome.findings)
    [narrows] = [f for f in outcome.findings if f.rule == "contract-before-retirement"]
    assert "narrows column line_items.quantity from int8 to int4" in narrows.message
    [check] = outcome.checks
    assert (check.against, check.exit_code) == ("1.0.0", 3)
    assert check.problems == {("line_items.quantity", "type-changed")}
    assert "(caused by migrations/0002_quantity_int.sql)" in check.output
