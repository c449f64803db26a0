"""Adding a required column orders.currency: safely over releases (nullable with a default
→ backfill → CHECK (currency IS NOT NULL) NOT VALID → VALIDATE → SET NOT NULL), and
unsafely (ADD COLUMN … NOT NULL without a default, which 1.0.0's INSERTs do not supply)."""

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
            "CREATE TABLE orders (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    total numeric(12, 2) NOT NULL\n"
            ");\n",
        ),
    ),
)

SAFE = [
    CREATE,
    # 2.0.0 writes currency; 1.0.0, running beside it, leaves it to the default. New rows
    # are held to the NOT VALID check at once, old ones are backfilled.
    Release(
        "v2.0.0",
        (
            (
                "0002_add_currency.sql",
                "ALTER TABLE orders ADD COLUMN currency text;\n"
                "ALTER TABLE orders ALTER COLUMN currency SET DEFAULT 'EUR';\n",
            ),
            (
                "0003_backfill_currency.sql",
                "UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;\n",
            ),
            (
                "0004_currency_check.sql",
                "ALTER TABLE orders ADD CONSTRAINT orders_currency_not_null\n"
                "    CHECK (currency IS NOT NULL) NOT VALID;\n",
            ),
        ),
    ),
    Release(
        "v3.0.0",
        (
            (
                "0005_validate_currency.sql",
                "ALTER TABLE orders VALIDATE CONSTRAINT orders_currency_not_null;\n",
            ),
            (
                "0006_currency_not_null.sql",
                "ALTER TABLE orders ALTER COLUMN currency SET NOT NULL;\n"
                "ALTER TABLE orders DROP CONSTRAINT orders_currency_not_null;\n",
            ),
        ),
    ),
]


def test_required_column_added_over_releases_passes(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    outcome = run(tmp_path, pg_default_server_info, SAFE)
    assert outcome.findings == []
    assert [(c.migration, c.against, c.exit_code) for c in outcome.checks] == [
        ("0002_add_currency.sql", "1.0.0", 0),
        ("0003_backfill_currency.sql", "1.0.0", 0),
        ("0004_currency_check.sql", "1.0.0", 0),
        ("0005_validate_currency.sql", "2.0.0", 0),
        ("0006_currency_not_null.sql", "2.0.0", 0),
    ]


def test_required_column_added_in_one_step_is_flagged(
    tmp_path: Path, pg_default_server_info: Server
) -> None:
    releases = [
        CREATE,
        Release(
            "v2.0.0",
            (
                (
                    "0002_add_currency.sql",
                    "ALTER TABLE orders ADD COLUMN currency text NOT NULL;\n",
                ),
            ),
        ),
    ]
    outcome = run(tmp_path, pg_default_server_info, releases)
    assert {(f.rule, f.migration) for f in outcome.findings} == {
        ("breaks-previous-release", "0002_add_currency.sql"),
    }
    [finding] = outcome.findings
    assert "release 1.0.0" in finding.message and "orders.currency" in finding.message
    [check] = outcome.checks
    assert (check.against, check.exit_code) == ("1.0.0", 3)
    assert check.problems == {("orders.currency", "required-column")}
    assert "(caused by migrations/0002_add_currency.sql)" in check.output
