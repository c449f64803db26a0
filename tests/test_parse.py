"""PostgreSQL SQL → ops: exact spans, syntax errors with positions, Go templates, types,
defaults, and one representative statement for every op the parser produces."""

from __future__ import annotations

import pytest

from migsafe import ops
from migsafe.parse.postgres import SqlSyntaxError, parse
from migsafe.parse.text import SourceText, neutralise_templates


def by_position(text: str, span: ops.Span) -> str:
    """The text a span covers, found by its lines and columns alone (end exclusive)."""
    lines = text.split("\n")
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :]]
    parts.extend(lines[span.line : span.end_line - 1])
    parts.append(lines[span.end_line - 1][: span.end_column - 1])
    return "\n".join(parts)


def covered(text: str, span: ops.Span) -> str:
    """The text a span covers, checking offsets and line/column agree."""
    by_offset = text[span.start : span.end]
    assert by_position(text, span) == by_offset, span
    return by_offset


def only_op(sql: str) -> ops.Op:
    (statement,) = parse(sql)
    (op,) = statement.ops
    return op


# --- statement spans -----------------------------------------------------------------------


def test_statement_span_excludes_leading_comments_and_includes_semicolon() -> None:
    sql = "-- a comment\n/* block */  CREATE TABLE t (id int);\n"
    (st,) = parse(sql)
    assert st.sql == "CREATE TABLE t (id int);"
    assert (st.span.line, st.span.column, st.span.end_line, st.span.end_column) == (2, 14, 2, 38)
    assert (st.span.start, st.span.end) == (26, 50)
    assert covered(sql, st.span) == st.sql


def test_multi_line_statement() -> None:
    sql = "CREATE TABLE t (\n    id bigint,\n    name text\n)\n;\nSELECT 1;"
    first, second = parse(sql)
    assert first.sql == "CREATE TABLE t (\n    id bigint,\n    name text\n)\n;"
    assert (first.span.line, first.span.column) == (1, 1)
    assert (first.span.end_line, first.span.end_column) == (5, 2)
    assert covered(sql, first.span) == first.sql
    assert (second.span.line, second.span.column, second.span.end_column) == (6, 1, 10)


def test_several_statements_on_one_line() -> None:
    sql = "SELECT 1; SELECT 2;  /* c */ SELECT 3"
    spans = [(s.sql, s.span.column, s.span.end_column) for s in parse(sql)]
    assert spans == [("SELECT 1;", 1, 10), ("SELECT 2;", 11, 20), ("SELECT 3", 30, 38)]


def test_statement_without_final_semicolon_and_trailing_comment() -> None:
    sql = "ALTER TABLE t DROP COLUMN a -- bye\n"
    (st,) = parse(sql)
    assert st.sql == "ALTER TABLE t DROP COLUMN a"
    assert (st.span.end_line, st.span.end_column) == (1, 28)


def test_semicolon_inside_dollar_quotes_does_not_split() -> None:
    sql = (
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN PERFORM 1; END;\n$$;\nSELECT 1;"
    )
    first, second = parse(sql)
    assert first.sql.endswith("$$;")
    assert (first.span.end_line, first.span.end_column) == (3, 4)
    assert (second.span.line, second.span.column) == (4, 1)


def test_non_ascii_before_statement_counts_characters() -> None:
    sql = "-- ünïcödé ☃ 𝄞\nSELECT 'é'; ALTER TABLE t ADD COLUMN x int;"
    first, second = parse(sql)
    assert first.sql == "SELECT 'é';"
    assert (first.span.line, first.span.column, first.span.end_column) == (2, 1, 12)
    assert second.sql == "ALTER TABLE t ADD COLUMN x int;"
    assert (second.span.line, second.span.column, second.span.end_column) == (2, 13, 44)
    assert covered(sql, second.span) == second.sql
    (op,) = second.ops
    assert isinstance(op, ops.AddColumn)
    assert covered(sql, op.column.type.span) == "int"
    assert op.column.type.span.column == 40
    assert covered(sql, op.column.span) == "x int"


def test_non_ascii_inside_statement_and_sub_spans() -> None:
    sql = "ALTER TABLE café ADD CONSTRAINT ç CHECK (naïve <> 'ü') NOT VALID;"
    (st,) = parse(sql)
    (op,) = st.ops
    assert isinstance(op, ops.AddConstraint)
    assert op.table == "café"
    assert op.constraint.name == "ç"
    assert op.constraint.expr == "naïve <> 'ü'"
    assert covered(sql, op.constraint.span) == "CONSTRAINT ç CHECK (naïve <> 'ü') NOT VALID"
    assert st.span.end_column == len(sql) + 1


def test_column_and_constraint_sub_spans() -> None:
    sql = "CREATE TABLE t (\n  id bigint PRIMARY KEY,\n  n int CHECK (n > 0)\n);"
    (op,) = parse(sql)[0].ops
    assert isinstance(op, ops.CreateTable)
    id_col, n_col = op.columns
    assert covered(sql, id_col.span) == "id bigint PRIMARY KEY"
    assert (id_col.span.line, id_col.span.column) == (2, 3)
    assert covered(sql, id_col.constraints[0].span) == "PRIMARY KEY"
    assert covered(sql, n_col.constraints[0].span) == "CHECK (n > 0)"


def test_empty_statements_are_skipped() -> None:
    assert [s.sql for s in parse(";;\nSELECT 1;;")] == ["SELECT 1;"]
    assert parse("") == []
    assert parse("-- only a comment\n") == []


# --- syntax errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "line", "column", "near"),
    [
        ("SELECT 1;\nSELEC 2;", 2, 1, "SELEC"),
        ("CREATE TABLE t (\n  id int,\n  name text,,\n);", 3, 13, ","),
        ("ALTER TABLE t ADD COLUMN;", 1, 25, ";"),
    ],
)
def test_syntax_error_position(sql: str, line: int, column: int, near: str) -> None:
    with pytest.raises(SqlSyntaxError) as info:
        parse(sql)
    assert (info.value.line, info.value.column) == (line, column)
    assert f'"{near}"' in info.value.message


@pytest.mark.parametrize(
    ("sql", "line", "column"),
    [
        ("-- ☃☃\nSELECT 'é' FROM WHERE;", 2, 17),
        ("SELECT 'ééé' FROM WHERE;", 1, 19),
        ('-- ☃\nALTER TABLE {{ index .Options "Namespace" }}.users ADD COLUMN;', 2, 62),
    ],
)
def test_syntax_error_position_after_non_ascii(sql: str, line: int, column: int) -> None:
    with pytest.raises(SqlSyntaxError) as info:
        parse(sql)
    assert (info.value.line, info.value.column) == (line, column)


def test_syntax_error_at_end_of_input_points_at_the_end() -> None:
    with pytest.raises(SqlSyntaxError) as info:
        parse("SELECT 1;\nCREATE TABLE t (id int")
    assert "end of input" in info.value.message
    assert (info.value.line, info.value.column) == (2, 23)


# --- Go templates --------------------------------------------------------------------------

NS = '{{ index .Options "Namespace" }}'


def test_go_template_placeholders_parse_and_keep_spans() -> None:
    sql = (
        f"-- ☃ {NS}\n"
        f"ALTER TABLE {NS}.users ADD COLUMN x int;\n"
        'CREATE INDEX {{ .Options "Namespace" }}_idx ON {{ .Options "Namespace" }}.t (a);\n'
        f"CREATE TABLE {NS}.b (id int REFERENCES {NS}.users (id));"
    )
    first, second, third = parse(sql)
    assert first.sql == f"ALTER TABLE {NS}.users ADD COLUMN x int;"
    assert (first.span.line, first.span.column, first.span.end_column) == (2, 1, 69)
    assert covered(sql, first.span) == first.sql
    (add,) = first.ops
    assert isinstance(add, ops.AddColumn)
    assert add.table == f"{NS}.users"
    assert covered(sql, add.column.type.span) == "int"
    (idx,) = second.ops
    assert isinstance(idx, ops.CreateIndex)
    assert idx.table == '{{ .Options "Namespace" }}.t'
    assert idx.name == '{{ .Options "Namespace" }}_idx'
    assert (second.span.line, second.span.column) == (3, 1)
    (create,) = third.ops
    assert isinstance(create, ops.CreateTable)
    assert create.table == f"{NS}.b"
    assert create.columns[0].constraints[0].ref_table == f"{NS}.users"
    assert covered(sql, third.span) == third.sql


def test_neutralise_templates_keeps_length_and_lines() -> None:
    text = "SELECT {{ .A }} FROM {{\n .B }};"
    out, mapping = neutralise_templates(text)
    assert len(out) == len(text)
    assert out.count("\n") == text.count("\n")
    assert out.index("\n") == text.index("\n")
    assert "{{" not in out
    assert list(mapping.values()) == ["{{ .A }}"]
    assert neutralise_templates("SELECT 1") == ("SELECT 1", {})


def test_long_go_template_placeholder_is_restored() -> None:
    long = '{{ index .Options "NamespaceWithAVeryLongNameIndeedLongerThanSixtyThree" }}'
    op = only_op(f"CREATE TABLE {long}.users (id int);")
    assert isinstance(op, ops.CreateTable)
    assert op.table == f"{long}.users"


# --- types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "name", "mods", "array"),
    [
        ("timestamp(3) with time zone", "timestamptz", (3,), False),
        ("character varying(20)[]", "varchar", (20,), True),
        ("double precision", "float8", (), False),
        ("numeric(10, 2)", "numeric", (10, 2), False),
        ("timestamp without time zone", "timestamp", (), False),
        ("time with time zone", "timetz", (), False),
        ("int", "int4", (), False),
        ("integer", "int4", (), False),
        ("bigint", "int8", (), False),
        ("smallint", "int2", (), False),
        ("varchar(255)", "varchar", (255,), False),
        ("varchar", "varchar", (), False),
        ("timestamptz", "timestamptz", (), False),
        ("char(3)", "bpchar", (3,), False),
        ("character(3)", "bpchar", (3,), False),
        ("boolean", "bool", (), False),
        ("decimal(5)", "numeric", (5,), False),
        ("real", "float4", (), False),
        ("float(24)", "float4", (), False),
        ("float", "float8", (), False),
        ("int []", "int4", (), True),
        ("text", "text", (), False),
        ("pg_catalog.int4", "int4", (), False),
        ("public.my_type", "public.my_type", (), False),
        ("bit varying(5)", "varbit", (5,), False),
    ],
)
def test_type_normalisation_and_span(
    written: str, name: str, mods: tuple[int, ...], array: bool
) -> None:
    sql = f"-- ☃\nALTER TABLE t ADD COLUMN c {written} NOT NULL;"
    op = only_op(sql)
    assert isinstance(op, ops.AddColumn)
    t = op.column.type
    assert (t.name, t.mods, t.array) == (name, mods, array)
    assert covered(sql, t.span) == written
    assert op.column.serial is False


def test_interval_with_fields() -> None:
    sql = "ALTER TABLE t ADD COLUMN c interval day to second;"
    op = only_op(sql)
    assert isinstance(op, ops.AddColumn)
    assert str(op.column.type) == "interval"
    assert covered(sql, op.column.type.span) == "interval day to second"


def test_national_character_varying_span() -> None:
    sql = "ALTER TABLE t ADD COLUMN c national character varying(4);"
    op = only_op(sql)
    assert isinstance(op, ops.AddColumn)
    assert str(op.column.type) == "varchar(4)"
    assert covered(sql, op.column.type.span) == "national character varying(4)"


def test_alter_column_type_span() -> None:
    sql = "ALTER TABLE t\n  ALTER COLUMN a TYPE character varying(20)[] USING a::text[];"
    op = only_op(sql)
    assert isinstance(op, ops.AlterColumnType)
    assert str(op.type) == "varchar(20)[]"
    assert covered(sql, op.type.span) == "character varying(20)[]"
    assert (op.type.span.line, op.type.span.column) == (2, 23)
    assert op.using == "a::text[]"


@pytest.mark.parametrize(
    ("written", "name", "not_null"),
    [("serial", "int4", True), ("bigserial", "int8", True), ("smallserial", "int2", True)],
)
def test_serial(written: str, name: str, not_null: bool) -> None:
    op = only_op(f"CREATE TABLE t (id {written});")
    assert isinstance(op, ops.CreateTable)
    (col,) = op.columns
    assert (col.type.name, col.serial, col.not_null, col.identity) == (name, True, not_null, False)


def test_identity_and_generated() -> None:
    op = only_op(
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY, "
        "d int GENERATED ALWAYS AS (id * 2) STORED, n int NOT NULL, m int NULL);"
    )
    assert isinstance(op, ops.CreateTable)
    ident, gen, n, m = op.columns
    assert (ident.identity, ident.not_null, ident.serial) == (True, True, False)
    assert (gen.generated_stored, gen.identity) == (True, False)
    assert (n.not_null, m.not_null) == (True, False)


# --- defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "volatile"),
    [
        ("gen_random_uuid()", True),
        ("random()", True),
        ("clock_timestamp()", True),
        ("nextval('s'::regclass)", True),
        ("my_schema.my_func()", True),
        ("unknown_fn(1)", True),
        ("random()::int", True),
        ("uuid_generate_v4()", True),
        ("0", False),
        ("-1", False),
        ("'x'", False),
        ("'x'::text", False),
        ("true", False),
        ("NULL", False),
        ("1.5", False),
        ("now()", False),
        ("CURRENT_TIMESTAMP", False),
        ("CURRENT_DATE", False),
        ("'{}'::jsonb", False),
        ("ARRAY[]::text[]", False),
        ("now() + interval '1 day'", False),
        ("lower('A')", False),
    ],
)
def test_default_volatility_and_text(expr: str, volatile: bool) -> None:
    op = only_op(f"ALTER TABLE t ADD COLUMN c text DEFAULT {expr} NOT NULL;")
    assert isinstance(op, ops.AddColumn)
    assert op.column.default == ops.Default(expr, volatile)
    assert op.column.not_null is True


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t ADD COLUMN c int DEFAULT (random() * 10)::int;",
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT (random() * 10)::int;",
    ],
)
def test_default_text_starting_with_parenthesis(sql: str) -> None:
    op = only_op(sql)
    assert isinstance(op, ops.AddColumn | ops.SetDefault)
    default = op.column.default if isinstance(op, ops.AddColumn) else op.default
    assert default == ops.Default("(random() * 10)::int", True)


def test_using_text_starting_with_parenthesis() -> None:
    op = only_op("ALTER TABLE t ALTER COLUMN a TYPE bigint USING (a + 1)::bigint;")
    assert isinstance(op, ops.AlterColumnType)
    assert op.using == "(a + 1)::bigint"


def test_default_before_other_constraints_in_create_table() -> None:
    op = only_op(
        "CREATE TABLE t (a timestamptz DEFAULT now() NOT NULL, "
        "b uuid DEFAULT gen_random_uuid() PRIMARY KEY, c numeric DEFAULT 1.5 CHECK (c > 0));"
    )
    assert isinstance(op, ops.CreateTable)
    assert [c.default for c in op.columns] == [
        ops.Default("now()", False),
        ops.Default("gen_random_uuid()", True),
        ops.Default("1.5", False),
    ]
    assert [c.not_null for c in op.columns] == [True, True, False]
    assert op.columns[2].constraints[0].expr == "c > 0"


def test_set_default() -> None:
    op = only_op("ALTER TABLE t ALTER COLUMN a SET DEFAULT clock_timestamp();")
    assert op == ops.SetDefault(
        table="t",
        column="a",
        default=ops.Default("clock_timestamp()", True),
        span=op.span,
    )


# --- CHECK expressions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "a > 0",
        "a > 0 AND (b IS NULL)",
        "char_length(name) <= 255",
        "status IN ('a', 'b')",
        "(a, b) <> (0, 0)",
    ],
)
def test_check_expression_text(expr: str) -> None:
    op = only_op(f"ALTER TABLE t ADD CONSTRAINT ck CHECK ({expr}) NOT VALID;")
    assert isinstance(op, ops.AddConstraint)
    assert op.constraint.kind == "check"
    assert op.constraint.expr == expr
    assert op.constraint.not_valid is True


# --- every op kind -------------------------------------------------------------------------

T = "t"
CASES: list[tuple[str, ops.Op]] = [
    (
        "ALTER TABLE t DROP COLUMN IF EXISTS c;",
        ops.DropColumn(table=T, column="c", if_exists=True),
    ),
    ("ALTER TABLE t DROP COLUMN c CASCADE;", ops.DropColumn(table=T, column="c")),
    (
        "ALTER TABLE t RENAME COLUMN a TO b;",
        ops.RenameColumn(table=T, column="a", new_name="b"),
    ),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", ops.SetNotNull(table=T, column="a")),
    ("ALTER TABLE t ALTER COLUMN a DROP NOT NULL;", ops.DropNotNull(table=T, column="a")),
    ("ALTER TABLE t ALTER COLUMN a DROP DEFAULT;", ops.DropDefault(table=T, column="a")),
    ("ALTER TABLE t VALIDATE CONSTRAINT fk;", ops.ValidateConstraint(table=T, name="fk")),
    (
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS fk;",
        ops.DropConstraint(table=T, name="fk", if_exists=True),
    ),
    (
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON public.t (a, lower(b));",
        ops.CreateIndex(
            table="public.t",
            name="i",
            columns=("a", "(lower(b))"),
            unique=True,
            concurrently=True,
            if_not_exists=True,
        ),
    ),
    ("CREATE INDEX ON t (a);", ops.CreateIndex(table=T, name=None, columns=("a",))),
    (
        "DROP INDEX CONCURRENTLY IF EXISTS i;",
        ops.DropIndex(indexes=("i",), concurrently=True, if_exists=True),
    ),
    ("DROP INDEX i, s.j;", ops.DropIndex(indexes=("i", "s.j"))),
    (
        "REINDEX INDEX CONCURRENTLY i;",
        ops.Reindex(target="index", name="i", concurrently=True),
    ),
    ("REINDEX TABLE t;", ops.Reindex(target="table", name=T)),
    ("ALTER INDEX i RENAME TO j;", ops.RenameIndex(index="i", new_name="j")),
    ("ALTER TABLE t RENAME TO u;", ops.RenameTable(table=T, new_name="u")),
    (
        "ALTER TABLE t SET (fillfactor = 70);",
        ops.SetStorageParams(table=T, params=("fillfactor",)),
    ),
    (
        "ALTER TABLE t RESET (fillfactor);",
        ops.SetStorageParams(table=T, params=("fillfactor",), reset=True),
    ),
    ("ALTER TABLE t SET LOGGED;", ops.SetLogged(table=T, logged=True)),
    ("ALTER TABLE t SET UNLOGGED;", ops.SetLogged(table=T, logged=False)),
    ("ALTER TABLE t SET TABLESPACE fast;", ops.SetTablespace(table=T, tablespace="fast")),
    ("CLUSTER t USING i;", ops.Cluster(table=T)),
    ("CLUSTER;", ops.Cluster(table=None)),
    ("VACUUM FULL t;", ops.Vacuum(tables=(T,), full=True)),
    ("VACUUM t;", ops.Vacuum(tables=(T,), full=False)),
    (
        "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (1) TO (10);",
        ops.AttachPartition(table="p", partition="p1"),
    ),
    (
        "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;",
        ops.DetachPartition(table="p", partition="p1", concurrently=True),
    ),
    (
        "ALTER TABLE p DETACH PARTITION p1;",
        ops.DetachPartition(table="p", partition="p1"),
    ),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();",
        ops.CreateTrigger(table=T, name="trg"),
    ),
    ("CREATE POLICY pol ON t USING (true);", ops.CreatePolicy(table=T, name="pol")),
    (
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
        ops.RefreshMaterializedView(view="mv", concurrently=True),
    ),
    ("REFRESH MATERIALIZED VIEW mv;", ops.RefreshMaterializedView(view="mv")),
    ("COMMENT ON COLUMN public.t.a IS 'x';", ops.Comment(target="column", table="public.t")),
    ("COMMENT ON TABLE t IS 'x';", ops.Comment(target="table", table=T)),
    ("COMMENT ON INDEX i IS 'x';", ops.Comment(target="index", table=None)),
    ("CREATE TYPE mood AS ENUM ('sad', 'ok');", ops.CreateEnum(name="mood", values=("sad", "ok"))),
    (
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';",
        ops.AddEnumValue(type_name="mood", value="happy", if_not_exists=True),
    ),
    (
        "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';",
        ops.RenameEnumValue(type_name="mood", old="sad", new="blue"),
    ),
    (
        "ALTER TABLE t RENAME CONSTRAINT t_a_check TO t_a_positive;",
        ops.RenameConstraint(table=T, name="t_a_check", new_name="t_a_positive"),
    ),
    (
        "ALTER TYPE app.mood RENAME TO feeling;",
        ops.RenameType(type_name="app.mood", new_name="feeling"),
    ),
    (
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;",
        ops.CreateObject(object_kind="extension", name="pgcrypto", if_not_exists=True),
    ),
    (
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        ops.CreateObject(object_kind="function", name="f", or_replace=True),
    ),
    ("CREATE VIEW v AS SELECT 1;", ops.CreateObject(object_kind="view", name="v")),
    (
        "CREATE OR REPLACE VIEW s.v AS SELECT 1;",
        ops.CreateObject(object_kind="view", name="s.v", or_replace=True),
    ),
    (
        "CREATE SEQUENCE IF NOT EXISTS s;",
        ops.CreateObject(object_kind="sequence", name="s", if_not_exists=True),
    ),
    (
        "CREATE SCHEMA IF NOT EXISTS app;",
        ops.CreateObject(object_kind="schema", name="app", if_not_exists=True),
    ),
    (
        "CREATE MATERIALIZED VIEW mv AS SELECT 1;",
        ops.CreateObject(object_kind="materialized_view", name="mv"),
    ),
    (
        "DROP VIEW IF EXISTS v CASCADE;",
        ops.DropObject(object_kind="view", names=("v",), if_exists=True, cascade=True),
    ),
    ("DROP FUNCTION f();", ops.DropObject(object_kind="function", names=("f",))),
    ("DROP TYPE mood;", ops.DropObject(object_kind="type", names=("mood",))),
    ("DROP SEQUENCE s;", ops.DropObject(object_kind="sequence", names=("s",))),
    ("DROP SCHEMA app CASCADE;", ops.DropSchema(names=("app",), cascade=True)),
    ("DROP DATABASE IF EXISTS d;", ops.DropDatabase(name="d", if_exists=True)),
    (
        "DROP TRIGGER IF EXISTS trg ON public.t;",
        ops.DropObject(object_kind="trigger", names=("trg",), if_exists=True, table="public.t"),
    ),
    (
        "DROP TABLE IF EXISTS t, u CASCADE;",
        ops.DropTable(tables=(T, "u"), if_exists=True, cascade=True),
    ),
    ("GRANT SELECT ON t TO r;", ops.Privileges(statement="grant")),
    ("REVOKE SELECT ON t FROM r;", ops.Privileges(statement="revoke")),
    ("GRANT r TO u;", ops.Privileges(statement="grant_role")),
    ("ALTER TABLE t OWNER TO r;", ops.AlterTableOther(table=T, subcommand="AT_ChangeOwner")),
    ("INSERT INTO t (a) VALUES (1);", ops.Insert(table=T)),
    ("INSERT INTO t SELECT * FROM u;", ops.Insert(table=T, from_query=True)),
    ("UPDATE t SET a = 1, b = 2;", ops.Update(table=T, has_where=False, columns=("a", "b"))),
    ("UPDATE t SET a = 1 WHERE id = 2;", ops.Update(table=T, has_where=True, columns=("a",))),
    ("DELETE FROM t;", ops.Delete(table=T, has_where=False)),
    ("DELETE FROM t WHERE id = 1;", ops.Delete(table=T, has_where=True)),
    ("SET lock_timeout = '5s';", ops.SetSetting(name="lock_timeout", value="5s")),
    (
        "SET LOCAL statement_timeout TO 1000;",
        ops.SetSetting(name="statement_timeout", value="1000", local=True),
    ),
    ("SET lock_timeout TO DEFAULT;", ops.SetSetting(name="lock_timeout", value=None)),
    ("RESET lock_timeout;", ops.SetSetting(name="lock_timeout", value=None)),
    ("BEGIN;", ops.Transaction(action="begin")),
    ("START TRANSACTION;", ops.Transaction(action="begin")),
    ("COMMIT;", ops.Transaction(action="commit")),
    ("ROLLBACK;", ops.Transaction(action="rollback")),
    ("TRUNCATE t, u;", ops.Truncate(tables=(T, "u"))),
    ("LOCK TABLE t IN SHARE MODE;", ops.LockTable(tables=(T,), mode="ShareLock")),
    ("LOCK t;", ops.LockTable(tables=(T,), mode="AccessExclusiveLock")),
    (
        "LOCK TABLE t, u IN ACCESS SHARE MODE;",
        ops.LockTable(tables=(T, "u"), mode="AccessShareLock"),
    ),
    ("DO $$ BEGIN PERFORM 1; END $$;", ops.Unknown(statement="DoStmt")),
    ("SELECT 1;", ops.Unknown(statement="SelectStmt")),
    (
        "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (10);",
        ops.CreateTable(table="p1", partition_of="p"),
    ),
    ("CREATE TABLE c AS SELECT 1;", ops.CreateTable(table="c", as_query=True)),
]


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0] for c in CASES])
def test_op(sql: str, expected: ops.Op) -> None:
    (st,) = parse(sql)
    (op,) = st.ops
    assert op == expected.__class__(**{**expected.__dict__, "span": st.span})
    assert covered(sql, op.span) == sql


def test_add_column_op() -> None:
    sql = "ALTER TABLE IF EXISTS public.t ADD COLUMN IF NOT EXISTS c int NOT NULL DEFAULT 0;"
    op = only_op(sql)
    assert isinstance(op, ops.AddColumn)
    assert (op.table, op.if_not_exists) == ("public.t", True)
    c = op.column
    assert (c.name, str(c.type), c.not_null, c.default) == (
        "c",
        "int4",
        True,
        ops.Default("0", False),
    )


def test_add_column_with_inline_constraint_yields_add_constraint() -> None:
    (st,) = parse("ALTER TABLE t ADD COLUMN u_id bigint REFERENCES users (id);")
    add, constraint = st.ops
    assert isinstance(add, ops.AddColumn) and isinstance(constraint, ops.AddConstraint)
    assert constraint.constraint.kind == "foreign_key"
    assert constraint.constraint.columns == ("u_id",)
    assert constraint.constraint.ref_table == "users"
    assert constraint.constraint.ref_columns == ("id",)


def test_alter_column_type_using() -> None:
    op = only_op("ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint;")
    assert isinstance(op, ops.AlterColumnType)
    assert (op.table, op.column, str(op.type), op.using) == ("t", "a", "int8", "a::bigint")
    op = only_op("ALTER TABLE t ALTER COLUMN a SET DATA TYPE text;")
    assert isinstance(op, ops.AlterColumnType)
    assert (str(op.type), op.using) == ("text", None)


@pytest.mark.parametrize(
    ("sql", "kind", "columns", "extra"),
    [
        (
            "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0) NOT VALID;",
            "check",
            (),
            {"not_valid": True, "expr": "a > 0"},
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u_id) REFERENCES public.users (id) "
            "NOT VALID;",
            "foreign_key",
            ("u_id",),
            {"not_valid": True, "ref_table": "public.users", "ref_columns": ("id",)},
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT fk2 FOREIGN KEY (u_id) REFERENCES users;",
            "foreign_key",
            ("u_id",),
            {"not_valid": False, "ref_table": "users", "ref_columns": ()},
        ),
        ("ALTER TABLE t ADD CONSTRAINT uq UNIQUE (a, b);", "unique", ("a", "b"), {}),
        ("ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (id);", "primary_key", ("id",), {}),
        (
            "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY USING INDEX t_pk_idx;",
            "primary_key",
            (),
            {"using_index": "t_pk_idx"},
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT uq UNIQUE USING INDEX t_uq_idx;",
            "unique",
            (),
            {"using_index": "t_uq_idx"},
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING gist (room WITH =, during WITH &&);",
            "exclude",
            ("room", "during"),
            {},
        ),
    ],
)
def test_add_constraint_kinds(
    sql: str, kind: str, columns: tuple[str, ...], extra: dict[str, object]
) -> None:
    op = only_op(sql)
    assert isinstance(op, ops.AddConstraint)
    assert op.table == "t"
    c = op.constraint
    assert (c.kind, c.columns) == (kind, columns)
    for key, value in extra.items():
        assert getattr(c, key) == value, key
    assert covered(sql, c.span).startswith("CONSTRAINT ")
    assert covered(sql, c.span) == sql[len("ALTER TABLE t ADD ") : -1]


def test_multi_command_alter_table() -> None:
    sql = "ALTER TABLE t ADD COLUMN a int, DROP COLUMN b, ALTER COLUMN c SET NOT NULL;"
    (st,) = parse(sql)
    assert [type(o).__name__ for o in st.ops] == ["AddColumn", "DropColumn", "SetNotNull"]
    assert st.kind == "alter_table"
    assert all(o.span == st.span for o in st.ops)


def test_op_kind_names() -> None:
    assert ops.AddColumn(table="t", column=ops.Column("c", ops.TypeRef("int4"))).kind == (
        "add_column"
    )
    assert ops.RefreshMaterializedView(view="v").kind == "refresh_materialized_view"
    assert ops.Unknown(statement="DoStmt").kind == "unknown"


# --- SourceText ----------------------------------------------------------------------------


def test_source_text_positions_and_byte_mapping() -> None:
    text = "ab\né☃x\n\n𝄞y"
    src = SourceText(text)
    assert src.position(0) == (1, 1)
    assert src.position(3) == (2, 1)
    assert src.position(5) == (2, 3)
    assert src.position(8) == (4, 1)
    assert src.line(2) == "é☃x"
    assert src.line(3) == ""
    assert src.line(4) == "𝄞y"
    encoded = text.encode("utf-8")
    for index in range(len(text) + 1):
        assert src.char_offset(len(text[:index].encode("utf-8"))) == index
    assert len(encoded) == len(text) + 1 + 2 + 3
    span = src.span(3, 6)
    assert (span.line, span.column, span.end_line, span.end_column) == (2, 1, 2, 4)
