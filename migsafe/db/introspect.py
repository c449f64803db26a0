"""The schema model of a live PostgreSQL, read from the catalogs.

A rollback or gate asks "does this release still fit the database?" against production, so
reading the schema must be fast and cheap for the server however many tables there are:
:func:`introspect` runs a fixed number of catalog queries (relations, columns, constraints,
indexes, enums), each covering every table of the requested schemas, and assembles the
model in Python.

The result is keyed and spelled as replaying migrations spells it (:mod:`migsafe.schema`):
``public.`` dropped from names, types by internal name with the modifiers decoded from
``atttypmod``, arrays as their element type with ``array=True``, expression index elements
as ``(expr)``. What a partition inherits from its parent (cloned constraints, attached
indexes) is left to the parent, and the indexes behind constraints belong to the
constraints, as in the model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from migsafe import ops
from migsafe.db import require_psycopg
from migsafe.parse.postgres import NON_VOLATILE_FUNCTIONS, VOLATILE_FUNCTIONS
from migsafe.schema import ColumnState, ConstraintState, IndexState, Schema, Table

# One row per relation of interest: tables (r, p), views (v, m), sequences (S) that no
# column owns (serial and identity sequences are part of their column).
_RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind,
       pn.nspname AS parent_schema, pc.relname AS parent_name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')))
ORDER BY n.nspname, c.relname
"""

_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, a.atttypmod, a.attnotnull,
       a.attidentity, a.attgenerated,
       tn.nspname AS type_schema, t.typname, t.typcategory,
       en.nspname AS elem_schema, e.typname AS elem_name,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default_sql
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type e ON t.typcategory = 'A' AND e.oid = t.typelem
LEFT JOIN pg_namespace en ON en.oid = e.typnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# Constraints a table has of its own: not the ones cloned from a partitioned parent
# (conparentid) or inherited checks (conislocal false).
_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype, con.conkey, con.convalidated,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END AS expr,
       rn.nspname AS ref_schema, rc.relname AS ref_name,
       ARRAY(SELECT ra.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, pos)
             JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.num
             ORDER BY k.pos) AS ref_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
  AND con.contype IN ('p', 'u', 'f', 'c', 'x')
  AND con.conparentid = 0 AND con.conislocal
ORDER BY con.conrelid, con.conname
"""

# Indexes of their own: not those behind a constraint, not partitions of a parent's index.
_INDEXES = """
SELECT i.indrelid, n.nspname, ic.relname, i.indisunique, i.indkey::int2[] AS keys,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS elements
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class c ON c.oid = i.indrelid
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
  AND NOT ic.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY ic.relname
"""

_ENUMS = """
SELECT n.nspname, t.typname, e.enumlabel
FROM pg_enum e
JOIN pg_type t ON t.oid = e.enumtypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY n.nspname, t.typname, e.enumsortorder
"""

QUERIES = (_RELATIONS, _COLUMNS, _CONSTRAINTS, _INDEXES, _ENUMS)

_CONSTRAINT_KINDS = {
    "p": "primary_key",
    "u": "unique",
    "f": "foreign_key",
    "c": "check",
    "x": "exclude",
}
_VIEW_KINDS = {"v": "view", "m": "materialized_view"}
# Types whose typmod is a precision as is.
_PRECISION_TYPES = frozenset({"timestamp", "timestamptz", "time", "timetz", "bit", "varbit"})
_CALL = re.compile(r"(?<!::)(?<![\w$.])([A-Za-z_][\w$]*)\s*\(")
_STRING = re.compile(r"'(?:[^']|'')*'")


def introspect(dsn: str, schemas: Sequence[str] | None = ("public",)) -> Schema:
    """The schema model of the database at ``dsn``, for the tables, views, sequences and
    enums in ``schemas`` (None: every schema but PostgreSQL's own, see
    :func:`user_schemas`); runs :data:`QUERIES` once each, whatever the number of tables."""
    psycopg = require_psycopg()
    with psycopg.connect(dsn, autocommit=True) as conn:
        return read_schema(conn, user_schemas(conn) if schemas is None else schemas)


def user_schemas(conn: Any) -> list[str]:
    """Every schema of the database but the system's: pg_catalog, information_schema, and
    the TOAST and temporary schemas."""
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', "
        "'information_schema') AND nspname NOT LIKE 'pg\\_toast%' "
        "AND nspname NOT LIKE 'pg\\_temp\\_%' ORDER BY nspname"
    ).fetchall()
    return [str(r[0]) for r in rows]


def read_schema(conn: Any, schemas: Sequence[str] = ("public",)) -> Schema:
    """:func:`introspect` on an open psycopg connection (a caller that holds one, or a test
    that counts the queries)."""
    params = {"schemas": list(schemas)}
    results = []
    with conn.cursor() as cur:
        for query in QUERIES:
            cur.execute(query, params)
            results.append(cur.fetchall())
    relations, columns, constraints, indexes, enums = results

    schema = Schema()
    names: dict[int, str] = {}
    for oid, nsp, rel, kind, parent_nsp, parent_rel in relations:
        key = _key(nsp, rel)
        if kind in ("r", "p"):
            names[oid] = key
            parent = _key(parent_nsp, parent_rel) if parent_rel else None
            schema.tables[key] = Table(key, partitioned=kind == "p", partition_of=parent)
        elif kind == "S":
            schema.sequences.add(key)
        else:
            schema.views[key] = _VIEW_KINDS[kind]

    attnames: dict[tuple[int, int], str] = {}
    for row in columns:
        relid, num, name = row[0], row[1], row[2]
        if relid not in names:
            continue
        attnames[relid, num] = name
        schema.tables[names[relid]].columns[name] = _column(*row[2:])

    for relid, name, kind, keys, validated, expr, ref_nsp, ref_rel, ref_cols in constraints:
        if relid not in names:
            continue
        schema.tables[names[relid]].constraints[name] = ConstraintState(
            name,
            _CONSTRAINT_KINDS[kind],
            tuple(attnames[relid, k] for k in keys or () if (relid, k) in attnames),
            validated=validated,
            expr=expr,
            ref_table=_key(ref_nsp, ref_rel) if ref_rel else None,
            ref_columns=tuple(ref_cols),
        )

    for relid, nsp, name, unique, keys, elements in indexes:
        if relid not in names:
            continue
        cols = tuple(
            attnames[relid, k] if k else f"({element})"
            for k, element in zip(keys, elements, strict=False)
        )
        key = _key(nsp, name)
        schema.indexes[key] = IndexState(key, names[relid], cols, unique)

    for nsp, name, label in enums:
        schema.enums.setdefault(_key(nsp, name), []).append(label)
    return schema


def _key(schema: str, name: str) -> str:
    return ops.bare(f"{schema}.{name}")


def _column(
    name: str,
    typmod: int,
    not_null: bool,
    identity: str,
    generated: str,
    type_schema: str,
    type_name: str,
    category: str,
    elem_schema: str | None,
    elem_name: str | None,
    default_sql: str | None,
) -> ColumnState:
    array = category == "A" and elem_name is not None
    if array and elem_name is not None and elem_schema is not None:
        type_schema, type_name = elem_schema, elem_name
    default = ops.Default(default_sql, _volatile(default_sql)) if default_sql else None
    return ColumnState(
        name,
        _type(type_schema, type_name, typmod, array),
        not_null,
        default,
        identity=bool(identity),
        generated=bool(generated),
    )


# A database has few distinct types and defaults and many columns: decode each once.
@functools.lru_cache(maxsize=4096)
def _type(schema: str, name: str, typmod: int, array: bool) -> ops.TypeRef:
    if schema != "pg_catalog":
        return ops.TypeRef(_key(schema, name), (), array)
    return ops.TypeRef(name, _mods(name, typmod), array)


def _mods(type_name: str, typmod: int) -> tuple[int, ...]:
    """The modifiers a type was declared with, decoded from ``atttypmod`` as PostgreSQL's
    own ``*typmodout`` functions do (-1: none)."""
    if typmod < 0:
        return ()
    if type_name in ("varchar", "bpchar"):
        return (typmod - 4,)
    if type_name == "numeric":
        return ((typmod - 4) >> 16, (typmod - 4) & 0xFFFF)
    if type_name in _PRECISION_TYPES:
        return (typmod,)
    if type_name == "interval":
        precision = typmod & 0xFFFF
        return () if precision == 0xFFFF else (precision,)
    return ()


@functools.lru_cache(maxsize=4096)
def _volatile(sql: str) -> bool:
    """Whether a default calls a function that gives a new value per row, judged as the
    parser judges a default it reads (:mod:`migsafe.parse.postgres`): known volatile
    functions and functions it does not know are volatile."""
    calls = {m.group(1).lower() for m in _CALL.finditer(_STRING.sub("''", sql))}
    return any(c in VOLATILE_FUNCTIONS or c not in NON_VOLATILE_FUNCTIONS for c in calls)
