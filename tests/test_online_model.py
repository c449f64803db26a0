"""Every behaviour of the online-DDL model (migsafe.online) against a real MariaDB: the
algorithm and lock the model gives MariaDB 10.11 are the first the server accepts when
asked for ALGORITHM=INSTANT, then INPLACE with LOCK=NONE, SHARED, EXCLUSIVE, then COPY.

Each example is also parsed by migsafe, so the statement reaches the behaviour under test
through the parser and the schema model, as it would in a lint run."""

from __future__ import annotations

from typing import Any

import pytest
from mariadbfixtures import mariadb

from migsafe import online
from migsafe.parse import mysql
from migsafe.schema import Schema

pytest.importorskip("sqlglot", reason="sqlglot is in the mysql and test extras")

__all__ = ["mariadb"]

MARIADB_10_11 = online.server("mariadb-10.11")

SETUP = """\
CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE t (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  a INT,
  b INT NOT NULL DEFAULT 0,
  n INT NULL,
  s VARCHAR(10) CHARACTER SET utf8mb4,
  w VARCHAR(50) CHARACTER SET utf8mb4,
  e ENUM('x', 'y'),
  p INT,
  g POINT NOT NULL,
  txt TEXT,
  CONSTRAINT chk CHECK (a >= 0),
  CONSTRAINT uq_b UNIQUE (b),
  KEY k_a (a),
  CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO parent VALUES (1), (2);
INSERT INTO t (a, b, n, p, g) VALUES (1, 1, 1, 1, POINT(1, 1)), (2, 2, 2, 1, POINT(2, 2));
"""
KEYLESS = "CREATE TABLE k (v INT NOT NULL) ENGINE=InnoDB;\nINSERT INTO k VALUES (1);\n"

# behaviour -> (statement, foreign_key_checks)
EXAMPLES: dict[str, tuple[str, int]] = {
    "add_column": ("ALTER TABLE t ADD COLUMN z INT", 1),
    "add_column.auto_increment": ("ALTER TABLE k ADD COLUMN z INT AUTO_INCREMENT UNIQUE", 1),
    "add_column.stored_generated": ("ALTER TABLE t ADD COLUMN z INT AS (a + 1) STORED", 1),
    "drop_column": ("ALTER TABLE t DROP COLUMN n", 1),
    "rename_column": ("ALTER TABLE t RENAME COLUMN n TO n2", 1),
    "alter_column_type": ("ALTER TABLE t MODIFY a BIGINT", 1),
    "alter_column_type.varchar_grow": (
        "ALTER TABLE t MODIFY s VARCHAR(20) CHARACTER SET utf8mb4",
        1,
    ),
    "alter_column_type.varchar_grow_wide": (
        "ALTER TABLE t MODIFY s VARCHAR(100) CHARACTER SET utf8mb4",
        1,
    ),
    "alter_column_type.enum_append": ("ALTER TABLE t MODIFY e ENUM('x', 'y', 'z')", 1),
    "alter_column_type.enum_change": ("ALTER TABLE t MODIFY e ENUM('y', 'x')", 1),
    "alter_column_type.charset": ("ALTER TABLE t MODIFY s VARCHAR(10) CHARACTER SET latin1", 1),
    "set_not_null": ("ALTER TABLE t MODIFY n INT NOT NULL", 1),
    "drop_not_null": ("ALTER TABLE t MODIFY b INT NULL DEFAULT 0", 1),
    "set_default": ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 5", 1),
    "drop_default": ("ALTER TABLE t ALTER COLUMN b DROP DEFAULT", 1),
    "alter_table.reorder_column": ("ALTER TABLE t MODIFY n INT NULL FIRST", 1),
    "alter_table.column_attributes": ("ALTER TABLE t MODIFY n INT NULL COMMENT 'hi'", 1),
    "create_index": ("ALTER TABLE t ADD INDEX k_b (b)", 1),
    "create_index.unique": ("ALTER TABLE t ADD UNIQUE INDEX u_id_b (id, b)", 1),
    "alter_table.add_fulltext_index": ("ALTER TABLE t ADD FULLTEXT INDEX ft (txt)", 1),
    "alter_table.add_spatial_index": ("ALTER TABLE t ADD SPATIAL INDEX sp (g)", 1),
    "drop_index": ("ALTER TABLE t DROP INDEX k_a", 1),
    "rename_index": ("ALTER TABLE t RENAME INDEX k_a TO k_a2", 1),
    "add_constraint.primary_key": ("ALTER TABLE k ADD PRIMARY KEY (v)", 1),
    "drop_constraint.primary_key": ("ALTER TABLE t2pk DROP PRIMARY KEY", 1),
    "add_constraint.foreign_key": (
        "ALTER TABLE t ADD CONSTRAINT fk2 FOREIGN KEY (a) REFERENCES parent (id)",
        1,
    ),
    "add_constraint.foreign_key.checks_off": (
        "ALTER TABLE t ADD CONSTRAINT fk2 FOREIGN KEY (a) REFERENCES parent (id)",
        0,
    ),
    "drop_constraint.foreign_key": ("ALTER TABLE t DROP FOREIGN KEY fk_p", 1),
    "add_constraint.check": ("ALTER TABLE t ADD CONSTRAINT chk2 CHECK (b >= 0)", 1),
    "drop_constraint.check": ("ALTER TABLE t DROP CONSTRAINT chk", 1),
    "drop_constraint": ("ALTER TABLE t DROP CONSTRAINT uq_b", 1),
    "rename_table": ("ALTER TABLE t RENAME TO t_renamed", 1),
    "alter_table.convert_charset": ("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4", 1),
    "alter_table.default_charset": ("ALTER TABLE t DEFAULT CHARACTER SET utf8mb4", 1),
    "alter_table.force": ("ALTER TABLE t FORCE", 1),
    "alter_table.row_format": ("ALTER TABLE t ROW_FORMAT=COMPACT", 1),
    "alter_table.auto_increment": ("ALTER TABLE t AUTO_INCREMENT=1000", 1),
    "alter_table.table_comment": ("ALTER TABLE t COMMENT='hello'", 1),
}
PK_TABLE = "CREATE TABLE t2pk (v INT NOT NULL, PRIMARY KEY (v)) ENGINE=InnoDB;\n"
ALL_SETUP = SETUP + KEYLESS + PK_TABLE
TABLES = ("t", "t_renamed", "k", "t2pk", "parent")
ATTEMPTS = (
    ("INSTANT", None),
    ("INPLACE", "NONE"),
    ("INPLACE", "SHARED"),
    ("INPLACE", "EXCLUSIVE"),
    ("COPY", "SHARED"),
    ("COPY", "EXCLUSIVE"),
)


def test_every_behaviour_has_an_example() -> None:
    assert set(EXAMPLES) == set(online.MODEL)


def model_answer(statement: str, checks: int) -> online.Online:
    """What migsafe says, reading the setup and the statement as a lint run would."""
    schema = Schema()
    for st in mysql.parse(ALL_SETUP):
        for op in st.ops:
            schema.apply(op)
    (st,) = mysql.resolve(mysql.parse(statement), schema.copy())
    settings = {"foreign_key_checks": str(checks)}
    return online.combine(online.judge(op, MARIADB_10_11, schema, settings) for op in st.ops)


def reset(cur: Any) -> None:
    cur.execute("SET foreign_key_checks = 0")
    for table in TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute("SET foreign_key_checks = 1")
    for statement in ALL_SETUP.split(";\n"):
        if statement.strip():
            cur.execute(statement)


def server_answer(cur: Any, statement: str, checks: int) -> tuple[str, str]:
    """The first (algorithm, lock) MariaDB accepts for the statement, and the errors of the
    forms it refused."""
    import pymysql

    refused = []
    for algorithm, lock in ATTEMPTS:
        reset(cur)
        cur.execute(f"SET foreign_key_checks = {checks}")
        clause = f", ALGORITHM={algorithm}" + (f", LOCK={lock}" if lock else "")
        try:
            cur.execute(statement + clause)
        except pymysql.err.MySQLError as exc:
            refused.append(f"{algorithm}/{lock}: {exc.args[-1]}")
            continue
        finally:
            cur.execute("SET foreign_key_checks = 1")
        return algorithm, lock or "NONE"
    raise AssertionError(f"MariaDB refused every form of {statement!r}: {refused}")


@pytest.mark.parametrize("behaviour", sorted(EXAMPLES))
def test_model_matches_mariadb(behaviour: str, mariadb: Any) -> None:
    mariadb.execute("SELECT VERSION()")
    version = mariadb.fetchone()[0]
    if not version.startswith("10.11."):
        pytest.skip(f"the model rows checked here are MariaDB 10.11's; the server is {version}")
    statement, checks = EXAMPLES[behaviour]
    said = model_answer(statement, checks)
    assert behaviour in (said.behaviour or "").split("+"), said
    row = online.row_for(behaviour, MARIADB_10_11)
    assert (said.algorithm, said.lock) == (row.algorithm, row.lock)
    assert server_answer(mariadb, statement, checks) == (row.algorithm, row.lock)
