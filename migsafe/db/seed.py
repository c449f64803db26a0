"""Generated rows for every table, so that what a migration does to data costs what it would
in production: a rewrite copies rows, a scan reads pages, a lock is held for that long.

Before each migration every ordinary table is topped up to N rows, parents before children
(foreign keys point at rows that exist). One ``INSERT … SELECT … FROM generate_series`` per
table, so ten thousand rows take milliseconds, not ten thousand round trips. Values are
derived from the row number, so unique columns get distinct values; ``ON CONFLICT DO
NOTHING`` absorbs collisions with rows the migrations inserted. A table whose constraints
the generator cannot satisfy (a CHECK it cannot read, a type it cannot make, a trigger that
refuses the rows) is left as it is, and the reason is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg import Connection, sql

    Conn = Connection[Any]


@dataclass(frozen=True, slots=True)
class Seeded:
    """The outcome for one table: rows added, or why none could be."""

    table: str
    rows: int
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    type: str  # format_type, for the cast
    base: str  # internal name of the type, or of a domain's base type
    category: str  # pg_type.typcategory of that base type
    length: int | None  # the n of varchar(n) / char(n)
    not_null: bool
    default: str | None
    identity_or_generated: bool
    enum: bool
    array: bool


# (internal type name or category) -> expression of ``n``, the generated row's number.
_BY_TYPE = {
    "int2": "(n % 32000)",
    "int4": "n",
    "int8": "n",
    "oid": "n",
    "numeric": "n",
    "float4": "n",
    "float8": "n",
    "money": "n",
    "bool": "(n % 2 = 0)",
    "uuid": "md5(n::text)::uuid",
    "date": "date '2000-01-01' + (n % 100000)",
    "timestamp": "timestamp '2020-01-01' + n * interval '1 second'",
    "timestamptz": "timestamptz '2020-01-01 00:00Z' + n * interval '1 second'",
    "time": "time '00:00' + n * interval '1 second'",
    "timetz": "(time '00:00' + n * interval '1 second')::timetz",
    "interval": "n * interval '1 second'",
    "json": "json_build_object('n', n)",
    "jsonb": "jsonb_build_object('n', n)",
    "bytea": "decode(md5(n::text), 'hex')",
    "inet": "'10.0.0.0'::inet + n",
    "cidr": "set_masklen('10.0.0.0'::inet + n * 256, 24)::cidr",
    "macaddr": "('08:00:2b:' || lpad(to_hex(n / 65536 % 256), 2, '0') || ':'"
    " || lpad(to_hex(n / 256 % 256), 2, '0') || ':' || lpad(to_hex(n % 256), 2, '0'))::macaddr",
    "bit": "(n % 2)::bit(1)",
    "varbit": "(n % 2)::bit(1)::varbit",
    "tsvector": "to_tsvector('simple', 'w' || n)",
}
_TEXT_CATEGORY = "S"


def _tables(conn: Conn) -> list[tuple[int, str]]:
    """Ordinary and partitioned tables outside the system schemas, partitions left out (they
    are filled through their parent), as (OID, quoted qualified name)."""
    rows = conn.execute(
        "SELECT c.oid::int, format('%I.%I', n.nspname, c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
        " ORDER BY 1"
    ).fetchall()
    return [(int(oid), str(name)) for oid, name in rows]


def _columns(conn: Conn, oid: int) -> list[_Column]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), b.typname,"
        " b.typcategory::text, CASE WHEN b.typname IN ('varchar', 'bpchar')"
        " AND a.atttypmod > 4 THEN a.atttypmod - 4 END, a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '' OR a.attgenerated <> '',"
        " b.typtype = 'e', t.typcategory = 'A'"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype"
        " ELSE a.atttypid END"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [oid],
    ).fetchall()
    return [_Column(*row) for row in rows]


def _unique_columns(conn: Conn, oid: int) -> set[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisunique",
        [oid],
    ).fetchall()
    return {str(r[0]) for r in rows}


@dataclass(frozen=True, slots=True)
class _ForeignKey:
    columns: tuple[str, ...]
    parent_oid: int
    parent: str  # quoted qualified name
    parent_columns: tuple[str, ...]


def _foreign_keys(conn: Conn, oid: int) -> list[_ForeignKey]:
    rows = conn.execute(
        "SELECT array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)"
        "   JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i),"
        " c.confrelid::int, format('%%I.%%I', n.nspname, p.relname),"
        " array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)"
        "   JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)"
        " FROM pg_constraint c JOIN pg_class p ON p.oid = c.confrelid"
        " JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE c.conrelid = %s AND c.contype = 'f'",
        [oid],
    ).fetchall()
    return [_ForeignKey(tuple(r[0]), int(r[1]), str(r[2]), tuple(r[3])) for r in rows]


def _value(col: _Column, conn: Conn) -> str | None:
    """An SQL expression of ``n`` giving a valid value for the column, None if none is known."""
    if col.enum:
        labels = conn.execute(
            "SELECT count(*) FROM pg_enum WHERE enumtypid = %s::regtype", [col.type]
        ).fetchone()
        count = int(labels[0]) if labels else 0
        return f"(enum_range(NULL::{col.type}))[1 + n % {count}]" if count else None
    if col.array:
        return "'{}'"
    expr = _BY_TYPE.get(col.base)
    if expr is None and col.category == _TEXT_CATEGORY:
        expr = "('v' || n)" if col.length is None else f"right('v' || n, {col.length})"
    return expr


def _raw(text: str) -> sql.SQL:
    """SQL built here from catalog names already quoted by ``format('%I')`` and from the
    fixed expressions above."""
    from psycopg import sql

    return sql.SQL(text)


def _insert(
    conn: Conn, oid: int, table: str, offset: int, missing: int, fks: list[_ForeignKey]
) -> sql.Composed | str:
    """The INSERT for ``missing`` more rows numbered after ``offset``, or why there is none."""
    from psycopg import sql

    unique = _unique_columns(conn, oid)
    names: list[sql.Composable] = []
    values: list[sql.Composable] = []
    joins: list[sql.Composable] = []
    used: set[int] = set()
    fk_of = {c: (i, fk) for i, fk in enumerate(fks) for c in fk.columns}
    for col in _columns(conn, oid):
        if col.identity_or_generated:
            continue
        if col.name in fk_of:
            i, fk = fk_of[col.name]
            if fk.parent_oid == oid:
                if col.not_null:
                    return "it references itself through a NOT NULL column"
                continue
            if not col.not_null:
                continue  # NULL satisfies a foreign key
            parent = sql.Identifier(f"p{i}")
            used.add(i)
            names.append(sql.Identifier(col.name))
            values.append(
                sql.SQL("{}.{}").format(
                    parent, sql.Identifier(fk.parent_columns[fk.columns.index(col.name)])
                )
            )
            continue
        keep_default = col.default is not None and (col.name not in unique or "(" in col.default)
        if keep_default:
            continue
        expr = _value(col, conn)
        if expr is None:
            if col.not_null:
                return f"cannot generate a value of type {col.type} for NOT NULL column {col.name}"
            continue
        names.append(sql.Identifier(col.name))
        values.append(_raw(f"({expr})::{col.type}"))
    for i in sorted(used):
        fk = fks[i]
        cols = sql.SQL(", ").join(map(sql.Identifier, fk.parent_columns))
        joins.append(
            sql.SQL(
                " JOIN (SELECT {cols}, row_number() OVER () - 1 AS rn FROM {parent}"
                " WHERE ({cols}) IS NOT NULL) {alias}"
                " ON {alias}.rn = n % (SELECT count(*) FROM {parent})"
            ).format(cols=cols, parent=_raw(fk.parent), alias=sql.Identifier(f"p{i}"))
        )
    target = _raw(table)
    if not names:
        return sql.SQL(
            "INSERT INTO {} SELECT FROM generate_series({}, {}) n ON CONFLICT DO NOTHING"
        ).format(target, offset + 1, offset + missing)
    return sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM generate_series({}, {}) n{} ON CONFLICT DO NOTHING"
    ).format(
        target,
        sql.SQL(", ").join(names),
        sql.SQL(", ").join(values),
        offset + 1,
        offset + missing,
        sql.SQL("").join(joins),
    )


def seed(conn: Conn, rows: int) -> list[Seeded]:
    """Top every table up to ``rows`` rows; ``conn`` is an idle autocommit connection."""
    tables = _tables(conn)
    names = dict(tables)
    fks = {oid: _foreign_keys(conn, oid) for oid, _ in tables}
    graph = {oid: {fk.parent_oid for fk in fks[oid] if fk.parent_oid in names} for oid in names}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError:
        order = list(names)  # a cycle: parents may be empty, those tables then get no rows
    outcome: list[Seeded] = []
    conn.execute("BEGIN")
    try:
        for oid in order:
            outcome.append(_seed_table(conn, oid, names[oid], rows, fks[oid]))
    finally:
        conn.execute("COMMIT")
    conn.execute("ANALYZE")  # plans as they would be on a table this size
    return outcome


def _seed_table(conn: Conn, oid: int, table: str, rows: int, fks: list[_ForeignKey]) -> Seeded:
    import psycopg

    conn.execute("SAVEPOINT seed")
    try:
        from psycopg import sql

        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_raw(table))).fetchone()
        present = int(count[0]) if count else 0
        if present >= rows:
            return Seeded(table, 0)
        insert = _insert(conn, oid, table, present, rows - present, fks)
        if isinstance(insert, str):
            return Seeded(table, 0, insert)
        added = conn.execute(insert).rowcount
        return Seeded(table, added)
    except psycopg.Error as exc:
        conn.execute("ROLLBACK TO SAVEPOINT seed")
        return Seeded(table, 0, str(exc).strip().splitlines()[0])
    finally:
        conn.execute("RELEASE SAVEPOINT seed")
