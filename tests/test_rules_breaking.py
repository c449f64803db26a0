"""Destructive, type and quality rules beyond their pages: new tables are exempt, fixes
produce the intended SQL, and rules that need history see it across migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from migsafe.analysis import Analyzer, Result, Settings, lint_text
from migsafe.findings import Finding
from migsafe.sources import Migration


def lint(rule_id: str, sql: str, assume_in_transaction: bool | None = None) -> list[Finding]:
    settings = Settings(select=frozenset({rule_id}), assume_in_transaction=assume_in_transaction)
    result = lint_text(sql, settings)
    assert not result.errors, result.errors
    return [f for f in result.findings if f.rule == rule_id]


def run(rule_id: str, *texts: str) -> Result:
    migrations = [
        Migration(path=Path(f"{i}.sql"), display=f"{i}.sql", text=text)
        for i, text in enumerate(texts)
    ]
    result = Analyzer(Settings(select=frozenset({rule_id}))).run(migrations)
    assert not result.errors, result.errors
    return result


def apply_fixes(sql: str, findings: list[Finding]) -> str:
    edits = sorted((e for f in findings if f.fix for e in f.fix.edits), key=lambda e: e.span.start)
    for edit in reversed(edits):
        sql = sql[: edit.span.start] + edit.text + sql[edit.span.end :]
    return sql


# -- tables created in the same migration are exempt ------------------------------------------

EXEMPT_WHEN_NEW = [
    ("drop-table", "DROP TABLE t;"),
    ("drop-column", "ALTER TABLE t DROP COLUMN a;"),
    ("rename-table", "ALTER TABLE t RENAME TO u;"),
    ("rename-column", "ALTER TABLE t RENAME COLUMN a TO b;"),
    ("add-required-column", "ALTER TABLE t ADD COLUMN b int NOT NULL;"),
    ("drop-default", "ALTER TABLE t ALTER COLUMN a DROP DEFAULT;"),
    ("truncate-table", "TRUNCATE t;"),
    ("unscoped-data-change", "UPDATE t SET a = 0;"),
    ("unscoped-data-change", "DELETE FROM t;"),
    ("column-type-narrowing", "ALTER TABLE t ALTER COLUMN a TYPE int2;"),
]


@pytest.mark.parametrize(("rule_id", "statement"), EXEMPT_WHEN_NEW)
def test_new_table_is_exempt(rule_id: str, statement: str) -> None:
    assert not lint(rule_id, f"CREATE TABLE t (a int8 DEFAULT 1);\n{statement}")


@pytest.mark.parametrize(("rule_id", "statement"), EXEMPT_WHEN_NEW)
def test_existing_table_fires(rule_id: str, statement: str) -> None:
    # The earlier migration makes t known (so its column types are) but not new.
    result = run(rule_id, "CREATE TABLE t (a int8 DEFAULT 1);", statement)
    assert [f.path for f in result.findings] == ["1.sql"]


def test_drop_table_names_only_existing_tables() -> None:
    findings = lint("drop-table", "CREATE TABLE fresh (a int);\nDROP TABLE fresh, old;")
    assert [f.message for f in findings] == [
        "Dropping table old breaks every running query that uses it."
    ]


def test_rename_of_new_table_keeps_it_new() -> None:
    sql = "CREATE TABLE t (a int);\nALTER TABLE t RENAME TO u;\nDROP TABLE u;"
    assert not lint("drop-table", sql)


def test_where_clause_scopes_the_change() -> None:
    assert not lint("unscoped-data-change", "DELETE FROM sessions WHERE expires_at < now();")


@pytest.mark.parametrize(
    "column",
    [
        "b int NOT NULL DEFAULT 0",
        "b bigint GENERATED ALWAYS AS IDENTITY",
        "b bigserial",
        "b int NOT NULL GENERATED ALWAYS AS (a + 1) STORED",
        "b int",
    ],
)
def test_required_column_that_fills_itself(column: str) -> None:
    assert not lint("add-required-column", f"ALTER TABLE t ADD COLUMN {column};")


# -- rename-table and its bridging view -------------------------------------------------------


def test_rename_with_view_in_same_transaction_is_safe() -> None:
    sql = """BEGIN;
ALTER TABLE users RENAME TO accounts;
CREATE VIEW users AS SELECT * FROM accounts;
COMMIT;"""
    assert not lint("rename-table", sql)


def test_rename_with_view_outside_transaction_leaves_a_gap() -> None:
    sql = "ALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;"
    assert len(lint("rename-table", sql)) == 1


# -- drop-object ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP MATERIALIZED VIEW daily_totals;", "Dropping materialized view daily_totals"),
        ("DROP FUNCTION price_with_tax(numeric);", "Dropping function price_with_tax"),
        ("DROP TYPE IF EXISTS mood CASCADE;", "Dropping type mood"),
        ("DROP SEQUENCE invoice_numbers;", "Dropping sequence invoice_numbers"),
    ],
)
def test_drop_object_names_kind_and_object(sql: str, message: str) -> None:
    [finding] = lint("drop-object", sql)
    assert finding.message.startswith(message)


@pytest.mark.parametrize(
    "sql", ["DROP TRIGGER audit ON orders;", "DROP POLICY tenant_isolation ON orders;"]
)
def test_drop_object_ignores_objects_queries_never_name(sql: str) -> None:
    assert not lint("drop-object", sql)


# -- column-type-narrowing --------------------------------------------------------------------

CREATE_PRODUCTS = """CREATE TABLE products (
    sku varchar(100), price numeric(12, 2), stock int8, sold_at timestamptz(6), note text
);"""


@pytest.mark.parametrize(
    ("change", "narrowing"),
    [
        ("sku TYPE varchar(50)", True),
        ("sku TYPE varchar(200)", False),
        ("sku TYPE text", False),
        ("note TYPE varchar(20)", True),
        ("price TYPE numeric(10, 2)", True),
        ("price TYPE numeric(12, 1)", True),
        ("price TYPE numeric(14, 2)", False),
        ("price TYPE numeric", False),
        ("price TYPE int8", True),
        ("stock TYPE int4", True),
        ("stock TYPE numeric(19, 0)", False),
        ("stock TYPE numeric(18, 0)", True),
        ("sold_at TYPE timestamp", True),
        ("sold_at TYPE date", True),
        ("sold_at TYPE timestamptz(3)", True),
        ("sold_at TYPE timestamptz", False),
    ],
)
def test_narrowing_uses_schema_from_an_earlier_migration(change: str, narrowing: bool) -> None:
    result = run(
        "column-type-narrowing", CREATE_PRODUCTS, f"ALTER TABLE products ALTER COLUMN {change};"
    )
    assert bool(result.findings) is narrowing


def test_narrowing_message_names_both_types() -> None:
    result = run(
        "column-type-narrowing", CREATE_PRODUCTS, "ALTER TABLE products ALTER sku TYPE varchar(50);"
    )
    [finding] = result.findings
    assert "products.sku from varchar(100) to varchar(50)" in finding.message


def test_narrowing_is_silent_without_the_old_type() -> None:
    assert not lint("column-type-narrowing", "ALTER TABLE products ALTER sku TYPE varchar(5);")


@pytest.mark.parametrize(
    ("old", "new", "narrowing"),
    [
        ("int4", "int2", True),
        ("int2", "int4", False),
        ("int4", "numeric(10)", False),
        ("int4", "numeric(9)", True),
        ("char(5)", "char(3)", True),
        ("timestamp", "timestamptz", False),
        ("date", "timestamp", False),
        ("timetz", "time", True),
        ("varchar(9)[]", "varchar(3)[]", True),
        ("varchar(9)[]", "varchar(3)", False),
        ("float8", "int4", False),
    ],
)
def test_narrowing_between_types(old: str, new: str, narrowing: bool) -> None:
    result = run(
        "column-type-narrowing", f"CREATE TABLE t (c {old});", f"ALTER TABLE t ALTER c TYPE {new};"
    )
    assert bool(result.findings) is narrowing


# -- type rules and their fixes ---------------------------------------------------------------


def test_prefer_bigint_fix() -> None:
    sql = "CREATE TABLE a (id serial PRIMARY KEY, owner_id int, qty int, group_id int2[]);"
    findings = lint("prefer-bigint", sql)
    assert apply_fixes(sql, findings) == (
        "CREATE TABLE a (id bigserial PRIMARY KEY, owner_id bigint, qty int, group_id bigint[]);"
    )


def test_prefer_bigint_sees_keys_declared_apart_from_the_column() -> None:
    sql = "CREATE TABLE a (k int, parent int, PRIMARY KEY (k), FOREIGN KEY (parent) REFERENCES p);"
    assert [f.message.split(" ")[0] for f in lint("prefer-bigint", sql)] == ["a.k", "a.parent"]


def test_prefer_bigint_on_alter_type_of_a_known_key() -> None:
    result = run(
        "prefer-bigint",
        "CREATE TABLE a (k int8 PRIMARY KEY, qty int8);",
        "ALTER TABLE a ALTER k TYPE int4, ALTER qty TYPE int4;",
    )
    assert [f.message.split(" ")[0] for f in result.findings] == ["a.k"]


def test_prefer_identity_fix() -> None:
    sql = "ALTER TABLE a ADD COLUMN seq smallserial;"
    assert apply_fixes(sql, lint("prefer-identity", sql)) == (
        "ALTER TABLE a ADD COLUMN seq bigint GENERATED BY DEFAULT AS IDENTITY;"
    )


def test_prefer_text_fix_keeps_the_limit_and_quotes_the_column() -> None:
    sql = 'CREATE TABLE a (email character varying(255) NOT NULL, "user" varchar(8), v varchar);'
    assert apply_fixes(sql, lint("prefer-text", sql)) == (
        "CREATE TABLE a (email text CHECK (char_length(email) <= 255) NOT NULL, "
        '"user" text CHECK (char_length("user") <= 8), v varchar);'
    )


def test_prefer_text_has_no_fix_for_alter_type() -> None:
    [finding] = lint("prefer-text", "ALTER TABLE a ALTER email TYPE varchar(80);")
    assert finding.fix is None


@pytest.mark.parametrize(
    ("written", "fixed"),
    [
        ("timestamp", "timestamptz"),
        ("timestamp(3)", "timestamptz(3)"),
        ("timestamp without time zone", "timestamptz"),
        ("timestamp (3) without time zone[]", "timestamptz(3)[]"),
    ],
)
def test_prefer_timestamptz_fix(written: str, fixed: str) -> None:
    sql = f"ALTER TABLE a ADD COLUMN at {written} NOT NULL;"
    assert apply_fixes(sql, lint("prefer-timestamptz", sql)) == (
        f"ALTER TABLE a ADD COLUMN at {fixed} NOT NULL;"
    )


def test_timestamptz_is_not_flagged() -> None:
    assert not lint("prefer-timestamptz", "CREATE TABLE a (at timestamp with time zone);")


def test_ban_char() -> None:
    sql = 'CREATE TABLE a (code character(2), name varchar(10), flag "char");'
    [finding] = lint("ban-char", sql)
    assert finding.message.startswith("a.code is character(2)")
    assert finding.fix is None


# -- foreign-key-without-index ----------------------------------------------------------------


def test_fk_silent_when_index_is_created_later_in_the_migration() -> None:
    sql = """ALTER TABLE lines ADD COLUMN order_id bigint REFERENCES orders (id);
CREATE INDEX CONCURRENTLY lines_order_id_idx ON lines (order_id, created_at);"""
    assert not lint("foreign-key-without-index", sql)


def test_fk_fires_when_the_later_index_leads_with_another_column() -> None:
    sql = """ALTER TABLE lines ADD COLUMN order_id bigint REFERENCES orders (id);
CREATE INDEX CONCURRENTLY lines_created_at_idx ON lines (created_at, order_id);"""
    [finding] = lint("foreign-key-without-index", sql)
    assert "lines(order_id) references orders" in finding.message


def test_fk_silent_when_an_earlier_migration_built_the_index() -> None:
    result = run(
        "foreign-key-without-index",
        "CREATE INDEX lines_order_id_idx ON lines (order_id);",
        "ALTER TABLE lines ADD CONSTRAINT lines_order_fk FOREIGN KEY (order_id) "
        "REFERENCES orders (id) NOT VALID;",
    )
    assert not result.findings


def test_fk_covered_by_the_new_tables_own_keys() -> None:
    sql = """CREATE TABLE tags (
    post_id bigint REFERENCES posts (id),
    tag_id bigint REFERENCES tag_names (id),
    PRIMARY KEY (tag_id, post_id)
);"""
    [finding] = lint("foreign-key-without-index", sql)
    assert "tags(post_id)" in finding.message


def test_composite_fk_served_by_an_index_in_another_column_order() -> None:
    sql = """CREATE TABLE c (a int, b int, FOREIGN KEY (a, b) REFERENCES p (x, y));
CREATE INDEX c_b_a_idx ON c (b, a);"""
    assert not lint("foreign-key-without-index", sql)


# -- prefer-robust-statements -----------------------------------------------------------------

FRAGILE = """CREATE TABLE t (a int);
CREATE UNIQUE INDEX CONCURRENTLY t_a_idx ON t (a);
ALTER TABLE t ADD COLUMN b int, DROP COLUMN c,
    DROP CONSTRAINT t_c_check;
DROP INDEX CONCURRENTLY old_idx;
DROP MATERIALIZED VIEW mv;
DROP TABLE u, v;
"""
ROBUST = """CREATE TABLE IF NOT EXISTS t (a int);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);
ALTER TABLE t ADD COLUMN IF NOT EXISTS b int, DROP COLUMN IF EXISTS c,
    DROP CONSTRAINT IF EXISTS t_c_check;
DROP INDEX CONCURRENTLY IF EXISTS old_idx;
DROP MATERIALIZED VIEW IF EXISTS mv;
DROP TABLE IF EXISTS u, v;
"""


def test_robust_fixes_insert_the_guards() -> None:
    findings = lint("prefer-robust-statements", FRAGILE)
    assert len(findings) == 8
    assert apply_fixes(FRAGILE, findings) == ROBUST
    assert not lint("prefer-robust-statements", ROBUST)


def test_robust_statements_not_required_in_a_transaction() -> None:
    assert not lint("prefer-robust-statements", f"BEGIN;\n{FRAGILE}COMMIT;")
    assert not lint("prefer-robust-statements", FRAGILE, assume_in_transaction=True)


def test_robust_finding_without_a_place_for_the_clause_has_no_fix() -> None:
    sql = "ALTER TABLE t DROP COLUMN c, DROP c2, DROP COLUMN c;"
    findings = lint("prefer-robust-statements", sql)
    # "DROP COLUMN c" appears twice, so the clause's place for c is ambiguous.
    assert [f.fix is None for f in findings] == [True, False, True]


# -- unknown-statement ------------------------------------------------------------------------


def test_unknown_statement_only_when_strict() -> None:
    sql = "DO $$ BEGIN PERFORM 1; END $$;"
    unknown = "unknown-statement"
    assert not [f for f in lint_text(sql).findings if f.rule == unknown]
    [finding] = [f for f in lint_text(sql, Settings(strict=True)).findings if f.rule == unknown]
    assert finding.message.startswith("DoStmt: migsafe has no model")
