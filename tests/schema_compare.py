"""Helpers shared by the schema-model tests: replay SQL into the model, run it on a real
server, and dump either schema in one comparable form."""

from __future__ import annotations

from collections.abc import Callable

from migsafe.parse.postgres import parse
from migsafe.schema import Schema


def replay(*migrations: str) -> Schema:
    """The schema model after parsing and applying each migration in turn."""
    schema = Schema()
    for text in migrations:
        for statement in parse(text):
            for op in statement.ops:
                schema.apply(op)
    return schema


def execute(dsn: str, *migrations: str) -> None:
    """Run each statement on its own in autocommit, as a migration tool without a wrapping
    transaction does (CREATE INDEX CONCURRENTLY needs that)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for text in migrations:
            for statement in parse(text):
                conn.execute(statement.sql.encode())  # bytes: no parameter parsing


def dump(schema: Schema, rename: Callable[[str], str] = str) -> dict[str, object]:
    """What replay and introspection must agree on: tables with their columns (type,
    modifiers, array, NOT NULL, whether there is a default or a generated value),
    constraints by kind, columns, validation and referenced table, indexes by table, columns
    and uniqueness, enums with their labels in order, views, sequences.

    Left out, with the reason: the *text* of defaults, checks and index expressions —
    replay keeps what the author wrote, PostgreSQL prints its own deparsed form
    (``'x'::text``, ``lower((email)::text)``); an expression index element is compared as
    ``(expr)``. ``rename`` maps placeholder spellings (Go templates) to the real names.
    """

    def name(text: str | None) -> str | None:
        return rename(text) if text else text

    tables = {}
    for key, t in schema.tables.items():
        tables[name(key)] = {
            "partitioned": t.partitioned,
            "partition_of": name(t.partition_of),
            "columns": [
                (
                    c.name,
                    name(c.type.name),
                    c.type.mods,
                    c.type.array,
                    c.not_null,
                    c.default is not None,
                    c.identity,
                    c.generated,
                )
                for c in t.columns.values()
            ],
            "constraints": {
                n: (c.kind, c.columns, c.validated, name(c.ref_table), c.ref_columns)
                for n, c in t.constraints.items()
            },
        }
    return {
        "tables": tables,
        "indexes": {
            name(k): (
                name(i.table),
                tuple("(expr)" if c.startswith("(") else c for c in i.columns),
                i.unique,
            )
            for k, i in schema.indexes.items()
        },
        "enums": {name(k): v for k, v in schema.enums.items()},
        "views": {name(k): v for k, v in schema.views.items()},
        "sequences": {name(k) for k in schema.sequences},
    }


def differences(replayed: dict[str, object], live: dict[str, object]) -> list[str]:
    """Readable differences between two dumps, one line per object."""
    out = []
    for section in replayed:
        a, b = replayed[section], live[section]
        assert isinstance(a, dict | set) and isinstance(b, dict | set)
        for key in sorted(set(a) | set(b), key=str):
            if isinstance(a, set) or isinstance(b, set):
                if (key in a) != (key in b):
                    out.append(f"{section} {key}: replay={key in a} live={key in b}")
                continue
            if key not in a or key not in b or a[key] != b[key]:
                va, vb = a.get(key), b.get(key)
                if isinstance(va, dict) and isinstance(vb, dict):
                    for part in va:
                        if va[part] != vb[part]:
                            out.append(
                                f"{section} {key} {part}:\n  replay={va[part]}\n  live  ={vb[part]}"
                            )
                else:
                    out.append(f"{section} {key}:\n  replay={va}\n  live  ={vb}")
    return out
