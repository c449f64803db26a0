"""The MySQL/MariaDB frontend: statements split with exact spans (strings, comments,
executable comments, DELIMITER blocks), DDL read into ops, nothing dropped silently."""

from __future__ import annotations

import pytest

from migsafe import ops
from migsafe.parse import mysql
from migsafe.parse.postgres import SqlSyntaxError
from migsafe.schema import Schema

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")


def kinds(sql: str) -> list[list[str]]:
    return [[op.kind for op in st.ops] for st in mysql.parse(sql)]


def test_statements_keep_exact_spans_around_strings_and_comments() -> None:
    text = (
        "-- leading; comment\n"
        "# hash comment;\n"
        "INSERT INTO t (v) VALUES ('a;b', \"c;d\", 'it''s');  /* tail; */\n"
        "  UPDATE `we;ird` SET v = 1 WHERE id = 2;\n"
    )
    first, second = mysql.parse(text)
    assert first.sql == "INSERT INTO t (v) VALUES ('a;b', \"c;d\", 'it''s');"
    assert (first.span.line, first.span.column, first.span.end_column) == (3, 1, 50)
    assert second.sql.startswith("UPDATE `we;ird`")
    assert (second.span.line, second.span.column) == (4, 3)
    assert text[second.span.start : second.span.end] == second.sql
    update = second.ops[0]
    assert isinstance(update, ops.Update) and update.table == "we;ird" and update.has_where


def test_delimiter_blocks_and_procedure_bodies() -> None:
    text = (
        "DELIMITER $$\n"
        "CREATE PROCEDURE up()\n"
        "BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS WHERE COLUMN_NAME = 'x') THEN\n"
        "    ALTER TABLE users ADD COLUMN x INT;\n"
        "  END IF;\n"
        "END$$\n"
        "DELIMITER ;\n"
        "CALL up();\n"
        "DROP PROCEDURE up;\n"
    )
    create, call, drop = mysql.parse(text)
    assert create.sql.endswith("END$$") and create.ops[0].kind == "create_object"
    (added,) = call.ops
    assert isinstance(added, ops.AddColumn) and added.column.name == "x"
    # The op points into the procedure body, where the ALTER is written.
    assert (added.span.line, added.span.column) == (5, 23)
    assert drop.ops[0].kind == "drop_object"


def test_executable_comments_are_code() -> None:
    (st,) = mysql.parse("/*!40101 SET foreign_key_checks = 0 */;\n")
    (op,) = st.ops
    assert isinstance(op, ops.SetSetting) and (op.name, op.value) == ("foreign_key_checks", "0")


def test_alter_table_subcommands_and_online_clauses() -> None:
    (st,) = mysql.parse(
        "ALTER TABLE users ADD COLUMN age INT NULL AFTER name, ADD INDEX idx_age (age), "
        "DROP FOREIGN KEY fk_x, DROP PRIMARY KEY, RENAME COLUMN a TO b, "
        "ALTER COLUMN c SET DEFAULT 'z', RENAME INDEX i1 TO i2, "
        "CONVERT TO CHARACTER SET utf8mb4, ALGORITHM=INPLACE, LOCK=NONE;"
    )
    assert [op.kind for op in st.ops] == [
        "add_column",
        "create_index",
        "drop_constraint",
        "drop_constraint",
        "rename_column",
        "set_default",
        "rename_index",
        "alter_table_other",
    ]
    assert st.sql[st.ops[1].span.start - st.span.start :].startswith("ADD INDEX idx_age (age)")


def test_modify_states_the_whole_column() -> None:
    (st,) = mysql.parse("ALTER TABLE t MODIFY v VARCHAR(20) CHARACTER SET latin1 NOT NULL;")
    assert [op.kind for op in st.ops] == [
        "alter_column_type",
        "set_not_null",
        "drop_default",
    ]
    change = st.ops[0]
    assert isinstance(change, ops.AlterColumnType)
    assert (change.type.name, change.type.mods, change.type.charset) == ("varchar", (20,), "latin1")


def test_resolve_keeps_only_what_changes() -> None:
    schema = Schema()
    for st in mysql.parse("CREATE TABLE t (v VARCHAR(20) NOT NULL DEFAULT 'a');"):
        for op in st.ops:
            schema.apply(op)
    parsed = mysql.parse(
        "ALTER TABLE t MODIFY v VARCHAR(20) NOT NULL DEFAULT 'a' COMMENT 'x';\n"
        "ALTER TABLE t MODIFY v VARCHAR(20) NOT NULL;\n"
    )
    comment, dropped = mysql.resolve(parsed, schema.copy())
    assert [op.kind for op in comment.ops] == ["alter_table_other"]
    assert [op.kind for op in dropped.ops] == ["drop_default"]


def test_create_table_enum_and_keys() -> None:
    (st,) = mysql.parse(
        "CREATE TABLE `orders` (\n"
        "  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,\n"
        "  status ENUM('new','paid') NOT NULL DEFAULT 'new',\n"
        "  user_id INT NOT NULL,\n"
        "  PRIMARY KEY (id),\n"
        "  UNIQUE KEY uq_user (user_id),\n"
        "  CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
    )
    (table,) = st.ops
    assert isinstance(table, ops.CreateTable)
    assert [c.name for c in table.columns] == ["id", "status", "user_id"]
    assert table.columns[0].identity and table.columns[1].type.values == ("new", "paid")
    assert [(c.kind, c.name) for c in table.constraints] == [
        ("primary_key", "PRIMARY"),
        ("unique", "uq_user"),
        ("foreign_key", "fk_user"),
    ]


def test_what_no_reader_knows_is_unknown_not_dropped() -> None:
    assert kinds("ALTER TABLE t PARTITION BY HASH (id);\nSHOW TABLES;\n") == [
        ["unknown"],
        ["unknown"],
    ]
    assert kinds("CREATE INDEX i ON t (a) ALGORITHM=INPLACE LOCK=NONE;") == [["create_index"]]
    assert kinds("RENAME TABLE a TO b, c TO d;") == [["rename_table", "rename_table"]]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("SELECT 1;\nINSERT INTO t VALUES ('open;\n", 2, 23, "unterminated"),
        ("SELECT 1;\n/* never closed\n", 2, 1, "unterminated /* comment"),
        ("SELECT 1;\n  FROBNICATE t;\n", 2, 3, "FROBNICATE"),
    ],
)
def test_syntax_errors_have_positions(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        mysql.parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in caught.value.message


def test_set_reads_session_variables_and_leaves_global_ones_aside() -> None:
    text = (
        "SET @@session.foreign_key_checks = 0, @x := 1;\n"
        "SET GLOBAL foreign_key_checks = 0;\n"
        "SET locale_like = 1;\n"
    )
    names = [[(op.name, op.value) for op in st.ops] for st in mysql.parse(text)]  # type: ignore[attr-defined]
    assert names == [
        [("foreign_key_checks", "0"), ("@x", "1")],
        [("global.foreign_key_checks", "0")],
        [("locale_like", "1")],
    ]
