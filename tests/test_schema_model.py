"""The schema model: replay side effects PostgreSQL has, helpers, and the SQLAlchemy source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from schema_compare import differences, dump, replay

from migsafe import ops
from migsafe.db.ephemeral import Server, scratch_on
from migsafe.db.introspect import introspect
from migsafe.parse.postgres import parse


def test_generated_names_follow_postgresql() -> None:
    schema = replay(
        """
        CREATE TABLE t (a int PRIMARY KEY, b int UNIQUE, c int CHECK (c > 0), d int,
                        CHECK (c < d));
        CREATE INDEX ON t (b);
        CREATE INDEX ON t (b);
        CREATE INDEX ON t (lower(d::text));
        CREATE TABLE a_table_name_that_is_long_enough_to_need_cutting_down_somewhere (
            a_column_name_that_is_also_quite_long_for_a_column int UNIQUE);
        """
    )
    assert set(schema.tables["t"].constraints) == {"t_pkey", "t_b_key", "t_c_check", "t_check"}
    assert set(schema.indexes) == {"t_b_idx", "t_b_idx1", "t_lower_idx"}
    (name,) = schema.tables[
        "a_table_name_that_is_long_enough_to_need_cutting_down_somewhere"
    ].constraints
    assert (
        name == "a_table_name_that_is_long_eno_a_column_name_that_is_also_qu_key"
    )  # as PostgreSQL 15
    assert len(name) == 63


def test_rename_column_keeps_order_and_follows_into_constraints_and_indexes() -> None:
    schema = replay(
        """
        CREATE TABLE p (id int PRIMARY KEY, code text, n int);
        CREATE TABLE c (p_id int REFERENCES p (id), x int);
        ALTER TABLE c ADD CHECK (x IS NOT NULL) NOT VALID;
        CREATE INDEX c_x ON c (x, (x + 1));
        ALTER TABLE p RENAME COLUMN id TO pid;
        ALTER TABLE c RENAME COLUMN x TO y;
        ALTER TABLE c VALIDATE CONSTRAINT c_x_check;
        """
    )
    assert [c.name for c in schema.columns("p")] == ["pid", "code", "n"]
    assert schema.constraint("p", "p_pkey") is not None
    assert schema.tables["p"].constraints["p_pkey"].columns == ("pid",)
    assert schema.tables["c"].constraints["c_p_id_fkey"].ref_columns == ("pid",)
    assert schema.indexes["c_x"].columns == ("y", "(y + 1)")
    assert schema.not_null_proven("c", "y")


def test_drops_take_dependents_along() -> None:
    schema = replay(
        """
        CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE);
        CREATE TABLE c (id int, p_id int REFERENCES p, code text, CHECK (code <> ''));
        CREATE INDEX c_code ON c (lower(code));
        ALTER TABLE c DROP COLUMN code;
        DROP TABLE p CASCADE;
        """
    )
    assert schema.tables["c"].constraints == {}
    assert schema.indexes == {}
    assert [c.name for c in schema.columns("c")] == ["id", "p_id"]


def test_partitions_get_parent_columns_and_column_changes() -> None:
    schema = replay(
        """
        CREATE TABLE e (id int NOT NULL, at date DEFAULT now()) PARTITION BY RANGE (at);
        CREATE TABLE e1 PARTITION OF e FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        ALTER TABLE e ADD COLUMN k text;
        ALTER TABLE e ALTER COLUMN k SET NOT NULL;
        ALTER TABLE e RENAME TO events;
        """
    )
    assert schema.tables["e1"].partition_of == "events"
    assert [(c.name, c.not_null, c.default is not None) for c in schema.columns("e1")] == [
        ("id", True, False),
        ("at", False, True),
        ("k", True, False),
    ]
    dropped = replay(
        "CREATE TABLE e (id int) PARTITION BY RANGE (id);"
        "CREATE TABLE e1 PARTITION OF e FOR VALUES FROM (1) TO (2);"
        "DROP TABLE e;"
    )
    assert dropped.tables == {}


def test_views_sequences_enums_and_schemas() -> None:
    schema = replay(
        """
        CREATE SCHEMA s;
        CREATE TYPE s.st AS ENUM ('a', 'b');
        CREATE TABLE s.t (id int);
        CREATE INDEX ON s.t (id);
        CREATE VIEW v AS SELECT 1;
        CREATE MATERIALIZED VIEW s.m AS SELECT 1;
        CREATE SEQUENCE public.q;
        ALTER TYPE s.st RENAME VALUE 'a' TO 'z';
        ALTER TYPE s.st ADD VALUE 'c';
        ALTER TYPE s.st ADD VALUE IF NOT EXISTS 'c';
        ALTER TYPE s.st ADD VALUE 'y' BEFORE 'z';
        ALTER TYPE s.st ADD VALUE 'bb' AFTER 'b';
        """
    )
    assert schema.enums == {"s.st": ["y", "z", "b", "bb", "c"]}
    assert schema.views == {"v": "view", "s.m": "materialized_view"}
    assert schema.sequences == {"q"}
    assert set(schema.indexes) == {"s.t_id_idx"}
    after = schema.copy()
    for st in parse("DROP VIEW v; DROP SEQUENCE q; DROP SCHEMA s CASCADE;"):
        for op in st.ops:
            after.apply(op)
    assert (after.tables, after.indexes, after.enums, after.views, after.sequences) == (
        {},
        {},
        {},
        {},
        set(),
    )
    assert schema.views  # the copy was independent


def test_defaults_null_serial_and_numeric_spelling() -> None:
    schema = replay(
        """
        CREATE TABLE t (id serial, a text DEFAULT NULL, b numeric(10), c int DEFAULT 1);
        ALTER TABLE t ALTER COLUMN c SET DEFAULT NULL::int;
        """
    )
    cols = {c.name: c for c in schema.columns("t")}
    assert cols["id"].default is not None and cols["id"].default.volatile
    assert cols["id"].default.sql == "nextval('t_id_seq'::regclass)"
    assert cols["a"].default is None and cols["c"].default is None
    assert cols["b"].type.mods == (10, 0)


def test_fingerprint_is_stable_and_changes_with_the_schema() -> None:
    sql = "CREATE TABLE t (id int PRIMARY KEY, n text); CREATE INDEX ON t (n);"
    a, b = replay(sql), replay(sql)
    assert a.fingerprint() == b.fingerprint() == a.copy().fingerprint()
    assert len(a.fingerprint()) == 64
    b.apply(ops.SetNotNull(table="t", column="n"))
    assert a.fingerprint() != b.fingerprint()


# -- SQLAlchemy ----------------------------------------------------------------------------------


@pytest.fixture()
def database(pg_default_server_info: Server) -> Iterator[str]:
    with scratch_on(pg_default_server_info, "migsafe_sqlalchemy") as dsn:
        yield dsn


def _app_metadata() -> object:
    sa = pytest.importorskip("sqlalchemy")
    from sqlalchemy.dialects import postgresql as pg

    metadata = sa.MetaData()
    status = sa.Enum("draft", "sent", "paid", name="invoice_status")
    sa.Table(
        "customers",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("tags", pg.ARRAY(sa.String(20))),
        sa.Column("prefs", pg.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("external_id", pg.UUID, index=True),
    )
    sa.Table(
        "invoices",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE")),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", status, nullable=False, server_default="draft"),
        sa.Column("number", sa.String(32)),
        sa.Column("issued", sa.Date),
        sa.Column("due", sa.Time(timezone=False)),
        sa.Column("paid", sa.Boolean, server_default=sa.false()),
        sa.Column("ratio", sa.Float),
        sa.Column("code", sa.CHAR(3)),
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
        sa.UniqueConstraint("customer_id", "number"),
        sa.Index("invoices_open", "customer_id", "status"),
        sa.Index("invoices_lower_number", sa.func.lower(sa.column("number"))),
    )
    sa.Table(
        "lines",
        metadata,
        sa.Column("invoice_id", sa.BigInteger, primary_key=True),
        sa.Column("n", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Unicode(200)),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
    )
    return metadata


@pytest.mark.postgres
def test_from_metadata_equals_the_database_create_all_makes(database: str) -> None:
    sa = pytest.importorskip("sqlalchemy")
    from migsafe.sqlalchemy_schema import from_metadata

    metadata = _app_metadata()
    import psycopg

    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(database))
    try:
        metadata.create_all(engine)  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    modelled = from_metadata(metadata)  # type: ignore[arg-type]
    live = introspect(database)
    assert differences(dump(modelled), dump(live)) == []
    assert set(modelled.tables) == {"customers", "invoices", "lines"}
    assert modelled.enums == {"invoice_status": ["draft", "sent", "paid"]}
    assert modelled.column_type("customers", "tags") is not None
    assert str(modelled.column_type("customers", "tags")) == "varchar(20)[]"


def test_renaming_a_type_renames_the_enum_and_its_columns() -> None:
    schema = replay(
        """
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE t (id int, m mood, ms mood[]);
        ALTER TYPE mood RENAME TO feeling;
        """
    )
    assert "mood" not in schema.enums and schema.enums["feeling"] == ["sad", "ok"]
    columns = schema.tables["t"].columns
    assert (columns["m"].type.name, columns["ms"].type.name) == ("feeling", "feeling")
    assert columns["ms"].type.array


def test_renaming_a_constraint_keeps_its_place_and_kind() -> None:
    schema = replay(
        """
        CREATE TABLE t (a int PRIMARY KEY, b int CHECK (b > 0), c int UNIQUE);
        ALTER TABLE t RENAME CONSTRAINT t_b_check TO t_b_positive;
        """
    )
    constraints = schema.tables["t"].constraints
    assert list(constraints) == ["t_pkey", "t_b_positive", "t_c_key"]
    assert (constraints["t_b_positive"].name, constraints["t_b_positive"].kind) == (
        "t_b_positive",
        "check",
    )
