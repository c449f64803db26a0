"""The locking and transaction rules beyond their pages: exemptions for new tables, the text
their fixes produce, version-dependent answers and the transaction state they depend on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migsafe.analysis import Analyzer, Settings, lint_text
from migsafe.findings import Finding
from migsafe.sources import Migration


def findings(sql: str, rule_id: str, **settings: Any) -> list[Finding]:
    result = lint_text(sql, Settings(select=frozenset({rule_id}), **settings))
    assert not result.errors, result.errors
    return result.findings


def run(rule_id: str, *migrations: Migration, **settings: Any) -> list[Finding]:
    analyzer = Analyzer(Settings(select=frozenset({rule_id}), **settings))
    result = analyzer.run(migrations)
    assert not result.errors, result.errors
    return result.findings


def migration(sql: str, name: str = "m.sql", in_transaction: bool = False) -> Migration:
    return Migration(path=Path(name), display=name, text=sql, in_transaction=in_transaction)


def fixed(sql: str, finding: Finding) -> str:
    assert finding.fix is not None
    for edit in sorted(finding.fix.edits, key=lambda e: e.span.start, reverse=True):
        sql = sql[: edit.span.start] + edit.text + sql[edit.span.end :]
    return sql


# -- require-concurrent-index ------------------------------------------------------------------


def test_create_index_names_table_and_lock() -> None:
    [f] = findings("CREATE INDEX users_email_idx ON users (email);", "require-concurrent-index")
    assert '"users"' in f.message
    assert "ShareLock" in f.message


def test_create_index_on_table_created_in_same_migration_is_silent() -> None:
    sql = "CREATE TABLE users (id int, email text);\nCREATE INDEX ON users (email);\n"
    assert findings(sql, "require-concurrent-index") == []


def test_create_index_on_table_created_in_earlier_migration_fires() -> None:
    first = migration("CREATE TABLE users (id int, email text);", "1.sql")
    second = migration("CREATE INDEX ON users (email);", "2.sql")
    assert [f.path for f in run("require-concurrent-index", first, second)] == ["2.sql"]


def test_create_index_fix_inserts_concurrently() -> None:
    sql = "SELECT 1;\ncreate unique index if not exists i on users (email);\n"
    [f] = findings(sql, "require-concurrent-index")
    assert fixed(sql, f) == (
        "SELECT 1;\ncreate unique index CONCURRENTLY if not exists i on users (email);\n"
    )


def test_create_index_fix_not_offered_inside_transaction() -> None:
    [f] = findings("BEGIN;\nCREATE INDEX i ON users (email);\nCOMMIT;", "require-concurrent-index")
    assert f.fix is None


def test_create_index_concurrently_is_silent() -> None:
    assert (
        findings("CREATE INDEX CONCURRENTLY i ON users (email);", "require-concurrent-index") == []
    )


# -- require-concurrent-index-drop -------------------------------------------------------------


def test_drop_index_fix() -> None:
    sql = "DROP INDEX IF EXISTS users_email_idx;"
    [f] = findings(sql, "require-concurrent-index-drop")
    assert fixed(sql, f) == "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;"


def test_drop_index_fix_not_offered_for_several_indexes_or_cascade() -> None:
    for sql in ("DROP INDEX a, b;", "DROP INDEX a CASCADE;"):
        [f] = findings(sql, "require-concurrent-index-drop")
        assert f.fix is None, sql


def test_drop_index_of_new_table_is_silent() -> None:
    sql = "CREATE TABLE t (x int);\nCREATE INDEX t_x ON t (x);\nDROP INDEX t_x;\n"
    assert findings(sql, "require-concurrent-index-drop") == []


def test_drop_index_names_its_known_table() -> None:
    first = migration("CREATE TABLE t (x int);\nCREATE INDEX t_x ON t (x);", "1.sql")
    [f] = run("require-concurrent-index-drop", first, migration("DROP INDEX t_x;", "2.sql"))
    assert '"t_x"' in f.message
    assert 'its table "t"' in f.message


# -- require-concurrent-reindex ----------------------------------------------------------------


def test_reindex_fix_goes_after_target_keyword() -> None:
    sql = "REINDEX (VERBOSE) TABLE users;"
    [f] = findings(sql, "require-concurrent-reindex")
    assert fixed(sql, f) == "REINDEX (VERBOSE) TABLE CONCURRENTLY users;"


def test_reindex_on_pg11_has_no_fix_and_says_why() -> None:
    [f] = findings("REINDEX INDEX users_email_idx;", "require-concurrent-reindex", pg_version=11)
    assert f.fix is None
    assert "PostgreSQL 12" in f.help


def test_reindex_system_and_concurrently_are_silent() -> None:
    sql = "REINDEX SYSTEM app;\nREINDEX INDEX CONCURRENTLY users_email_idx;"
    assert findings(sql, "require-concurrent-reindex") == []


# -- constraint-missing-not-valid --------------------------------------------------------------


def test_foreign_key_fix_appends_not_valid() -> None:
    sql = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);\n"
    [f] = findings(sql, "constraint-missing-not-valid")
    assert '"users"' in f.message
    assert "ShareRowExclusiveLock" in f.message
    assert fixed(sql, f) == (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)"
        " NOT VALID;\n"
    )


def test_check_fix_in_multi_command_alter() -> None:
    sql = "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0), ADD COLUMN y int;"
    [f] = findings(sql, "constraint-missing-not-valid")
    assert (
        fixed(sql, f) == "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0) NOT VALID, ADD COLUMN y int;"
    )


def test_inline_references_fires_without_fix() -> None:
    [f] = findings(
        "ALTER TABLE orders ADD COLUMN user_id int REFERENCES users;",
        "constraint-missing-not-valid",
    )
    assert f.fix is None
    assert "column constraint" in f.help


def test_not_valid_and_new_table_are_silent() -> None:
    sql = (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;\n"
        "CREATE TABLE items (id int, order_id int);\n"
        "ALTER TABLE items ADD CONSTRAINT fk2 FOREIGN KEY (order_id) REFERENCES orders;\n"
    )
    assert findings(sql, "constraint-missing-not-valid") == []


# -- unique-constraint-without-index -----------------------------------------------------------


def test_primary_key_fires_and_using_index_is_silent() -> None:
    sql = (
        "ALTER TABLE users ADD PRIMARY KEY (id);\n"
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;\n"
    )
    [f] = findings(sql, "unique-constraint-without-index")
    assert f.span.line == 1
    assert "PRIMARY KEY" in f.message


def test_exclude_gets_its_own_help() -> None:
    sql = "ALTER TABLE rooms ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);"
    [f] = findings(sql, "unique-constraint-without-index")
    assert "exclusion constraint" in f.help


# -- set-not-null-scan -------------------------------------------------------------------------

PROVEN = (
    "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n"
    "ALTER TABLE users VALIDATE CONSTRAINT c;\n"
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
)


def test_set_not_null_proven_by_validated_check_is_silent_on_pg16() -> None:
    assert findings(PROVEN, "set-not-null-scan") == []


def test_set_not_null_proven_by_check_still_scans_on_pg11() -> None:
    [f] = findings(PROVEN, "set-not-null-scan", pg_version=11)
    assert f.span.line == 3
    assert "PostgreSQL 11" in f.help


def test_set_not_null_with_unvalidated_check_fires() -> None:
    sql = PROVEN.replace("ALTER TABLE users VALIDATE CONSTRAINT c;\n", "")
    assert [f.span.line for f in findings(sql, "set-not-null-scan")] == [2]


# -- column-type-rewrite -----------------------------------------------------------------------


def test_type_change_names_old_and_new_type() -> None:
    first = migration("CREATE TABLE users (id int, name varchar(20));", "1.sql")
    second = migration("ALTER TABLE users ALTER COLUMN id TYPE bigint;", "2.sql")
    [f] = run("column-type-rewrite", first, second)
    assert "from int4 to int8" in f.message


def test_binary_coercible_type_change_is_silent() -> None:
    first = migration("CREATE TABLE users (id int, name varchar(20));", "1.sql")
    second = migration("ALTER TABLE users ALTER COLUMN name TYPE text;", "2.sql")
    assert run("column-type-rewrite", first, second) == []


# -- add-column-rewrite ------------------------------------------------------------------------


def test_add_column_rewrite_causes() -> None:
    sql = (
        "ALTER TABLE t ADD COLUMN a float8 DEFAULT random();\n"
        "ALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS IDENTITY;\n"
        "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (x * 2) STORED;\n"
        "ALTER TABLE t ADD COLUMN d int DEFAULT 0;\n"
        "ALTER TABLE t ADD COLUMN e timestamptz DEFAULT now();\n"
    )
    messages = [f.message for f in findings(sql, "add-column-rewrite")]
    assert len(messages) == 3
    assert "random()" in messages[0]
    assert "identity" in messages[1]
    assert "stored generated" in messages[2]


# -- table-rewrite -----------------------------------------------------------------------------


def test_table_rewrite_statements() -> None:
    sql = (
        "VACUUM users;\n"
        "VACUUM FULL users;\n"
        "ALTER TABLE users SET LOGGED;\n"
        "CREATE TABLE scratch (x int);\n"
        "ALTER TABLE scratch SET UNLOGGED;\n"
        "VACUUM FULL;\n"
    )
    found = findings(sql, "table-rewrite")
    assert [f.span.line for f in found] == [2, 3, 6]
    assert "every table" in found[2].message


# -- require-lock-timeout ----------------------------------------------------------------------


def test_lock_timeout_fix_inserts_set_before_statement() -> None:
    sql = "SELECT 1;\nALTER TABLE users ADD COLUMN a int, ADD COLUMN b int;\n"
    [f] = findings(sql, "require-lock-timeout")
    assert "AccessExclusiveLock" in f.message
    assert fixed(sql, f) == (
        "SELECT 1;\nSET lock_timeout = '2s';\n"
        "ALTER TABLE users ADD COLUMN a int, ADD COLUMN b int;\n"
    )


def test_lock_timeout_set_for_session_silences() -> None:
    sql = "SET lock_timeout = '1s';\nALTER TABLE users ADD COLUMN a int;"
    assert findings(sql, "require-lock-timeout") == []


def test_lock_timeout_set_local_counts_only_inside_transaction() -> None:
    inside = "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE users ADD COLUMN a int;\nCOMMIT;"
    assert findings(inside, "require-lock-timeout") == []
    outside = "SET LOCAL lock_timeout = '1s';\nALTER TABLE users ADD COLUMN a int;"
    assert len(findings(outside, "require-lock-timeout")) == 1


def test_lock_timeout_ends_with_its_transaction_and_zero_disables_it() -> None:
    sql = (
        "BEGIN;\nSET LOCAL lock_timeout = '1s';\nCOMMIT;\n"
        "ALTER TABLE users ADD COLUMN a int;\n"
        "SET lock_timeout = 0;\n"
        "ALTER TABLE users ADD COLUMN b int;\n"
    )
    assert [f.span.line for f in findings(sql, "require-lock-timeout")] == [4, 6]


def test_lock_timeout_ignores_weak_locks_and_new_tables() -> None:
    sql = (
        "CREATE INDEX CONCURRENTLY i ON users (email);\n"
        "CREATE TABLE t (x int);\n"
        "ALTER TABLE t ADD COLUMN y int;\n"
    )
    assert findings(sql, "require-lock-timeout") == []


def test_lock_timeout_fires_for_lock_on_referenced_table() -> None:
    [f] = findings("CREATE TABLE t (user_id int REFERENCES users);", "require-lock-timeout")
    assert '"users"' in f.message


# -- strong-lock-held --------------------------------------------------------------------------


def test_backfill_after_strong_lock_names_lock_and_line() -> None:
    sql = (
        "BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';\nCOMMIT;"
    )
    [f] = findings(sql, "strong-lock-held")
    assert f.span.line == 3
    assert "AccessExclusiveLock" in f.message
    assert "line 2" in f.message


def test_index_build_on_other_table_while_lock_held() -> None:
    sql = "BEGIN;\nLOCK TABLE users IN SHARE MODE;\nCREATE INDEX i ON orders (user_id);\nCOMMIT;"
    [f] = findings(sql, "strong-lock-held")
    assert "ShareLock" in f.message
    assert '"users"' in f.message


def test_slow_work_after_commit_or_on_new_table_is_silent() -> None:
    sql = (
        "BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\n"
        "UPDATE users SET plan = 'free';\n"
        "BEGIN;\nALTER TABLE users ADD COLUMN tier text;\n"
        "CREATE TABLE plans (id int);\nCREATE INDEX ON plans (id);\nCOMMIT;\n"
    )
    assert findings(sql, "strong-lock-held") == []


def test_lock_on_new_table_is_not_a_held_strong_lock() -> None:
    sql = (
        "BEGIN;\nCREATE TABLE t (x int);\nALTER TABLE t ADD COLUMN y int;\n"
        "UPDATE users SET a = 1;\nCOMMIT;"
    )
    assert findings(sql, "strong-lock-held") == []


# -- concurrently-in-transaction ---------------------------------------------------------------


def test_concurrently_fires_when_tool_wraps_migration() -> None:
    sql = "CREATE INDEX CONCURRENTLY i ON users (email);"
    assert findings(sql, "concurrently-in-transaction") == []
    [f] = findings(sql, "concurrently-in-transaction", assume_in_transaction=True)
    assert "migration tool" in f.message


def test_concurrently_variants_inside_begin() -> None:
    sql = (
        "BEGIN;\n"
        "DROP INDEX CONCURRENTLY i;\n"
        "REINDEX INDEX CONCURRENTLY j;\n"
        "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;\n"
        "COMMIT;\n"
    )
    assert [f.span.line for f in findings(sql, "concurrently-in-transaction")] == [2, 3, 4]


def test_concurrently_in_migration_the_tool_wraps() -> None:
    wrapped = migration("DROP INDEX CONCURRENTLY i;", in_transaction=True)
    assert len(run("concurrently-in-transaction", wrapped)) == 1


# -- validate-in-same-transaction --------------------------------------------------------------

ADD = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;\n"
VALIDATE = "ALTER TABLE orders VALIDATE CONSTRAINT fk;\n"


def test_validate_in_same_transaction_fires() -> None:
    [f] = findings(f"BEGIN;\n{ADD}{VALIDATE}COMMIT;\n", "validate-in-same-transaction")
    assert "ShareRowExclusiveLock" in f.message
    assert "line 2" in f.message


def test_validate_in_next_transaction_or_autocommit_is_silent() -> None:
    assert (
        findings(
            f"BEGIN;\n{ADD}COMMIT;\nBEGIN;\n{VALIDATE}COMMIT;\n", "validate-in-same-transaction"
        )
        == []
    )
    assert findings(f"{ADD}{VALIDATE}", "validate-in-same-transaction") == []


def test_validate_in_wrapped_migration_fires() -> None:
    assert (
        len(
            findings(f"{ADD}{VALIDATE}", "validate-in-same-transaction", assume_in_transaction=True)
        )
        == 1
    )


# -- enum-value-in-transaction -----------------------------------------------------------------

ENUM = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nUPDATE people SET mood = 'meh';\nCOMMIT;\n"


def test_enum_value_used_later_in_transaction() -> None:
    [f] = findings(ENUM, "enum-value-in-transaction")
    assert "line 3" in f.message
    assert "unsafe use of new value" in f.message


def test_enum_value_in_transaction_fails_before_pg12() -> None:
    [f] = findings(ENUM, "enum-value-in-transaction", pg_version=11)
    assert "PostgreSQL 11" in f.message


def test_enum_value_outside_transaction_is_silent() -> None:
    assert findings("ALTER TYPE mood ADD VALUE 'meh';", "enum-value-in-transaction") == []


# -- transaction-nesting -----------------------------------------------------------------------


def test_single_explicit_transaction_is_silent() -> None:
    assert (
        findings("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n", "transaction-nesting")
        == []
    )


def test_nested_begin_names_outer_begin() -> None:
    [f] = findings("BEGIN;\nSELECT 1;\nBEGIN;\nCOMMIT;\n", "transaction-nesting")
    assert f.span.line == 3
    assert "line 1" in f.message


def test_commit_in_assumed_transaction() -> None:
    [f] = findings("SELECT 1;\nCOMMIT;\n", "transaction-nesting", assume_in_transaction=True)
    assert f.message.startswith("COMMIT")


def test_begin_and_commit_in_migration_the_tool_wraps() -> None:
    wrapped = migration("BEGIN;\nSELECT 1;\nROLLBACK;\n", in_transaction=True)
    assert [f.span.line for f in run("transaction-nesting", wrapped)] == [1, 3]


def test_only_the_commit_that_ends_the_tool_transaction_is_reported() -> None:
    wrapped = migration(
        "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n", in_transaction=True
    )
    assert [f.span.line for f in run("transaction-nesting", wrapped)] == [1, 3]


def test_validate_of_constraint_added_valid_is_silent() -> None:
    sql = f"BEGIN;\n{ADD.replace(' NOT VALID', '')}{VALIDATE}COMMIT;\n"
    assert findings(sql, "validate-in-same-transaction") == []


def test_strong_lock_held_is_reported_once_per_held_lock() -> None:
    sql = (
        "BEGIN;\n"
        "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0);\n"
        "UPDATE orders SET total = 1 WHERE total IS NULL;\n"
        "UPDATE orders SET total = 2 WHERE total = 0;\n"
        "COMMIT;\n"
    )
    result = lint_text(sql, Settings(select=frozenset({"strong-lock-held"})))
    assert [f.span.line for f in result.findings] == [3]
