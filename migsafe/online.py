"""The online-DDL model: how MySQL and MariaDB run each ALTER, as data.

What decides whether an ALTER takes a MySQL or MariaDB application down is the algorithm
the server can use and the lock that algorithm needs: ``INSTANT`` changes metadata only,
``INPLACE`` works on the table where it is (rebuilding it or not) and may let concurrent
writes through, ``COPY`` builds a new table row by row while writes wait. :data:`MODEL`
maps a *behaviour* (an op kind, refined where the servers treat variants differently) and
a server family to rows valid from a version on, each giving the cheapest algorithm the
server accepts and the least lock it accepts with it (``NONE``: reads and writes go on;
``SHARED``: reads only; ``EXCLUSIVE``: neither). :func:`judge` picks the behaviour for an op
and is the only logic here.

Each MariaDB row is checked against a real MariaDB 10.11 by ``tests/test_online_model.py``,
which asks the server for ``ALGORITHM=INSTANT``, then ``INPLACE`` with ``LOCK=NONE``, then
the weaker forms, and takes the first it accepts. The MySQL rows follow MySQL's online DDL
documentation for 8.0 and 8.4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from migsafe import ops, versioned

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from migsafe.schema import Schema

Algorithm = Literal["INSTANT", "INPLACE", "COPY"]
Lock = Literal["NONE", "SHARED", "EXCLUSIVE"]
Family = Literal["mysql", "mariadb"]

ALGORITHMS: tuple[Algorithm, ...] = ("INSTANT", "INPLACE", "COPY")
LOCKS: tuple[Lock, ...] = ("NONE", "SHARED", "EXCLUSIVE")

# The versions ``--server-version`` names; a family alone means its default. "mysql-8.0"
# is the last 8.0 release: pin a patch release ("mysql-8.0.20") for an older one.
SERVER_VERSIONS = ("mysql-8.0", "mysql-8.4", "mariadb-10.6", "mariadb-10.11", "mariadb-11.4")
DEFAULT_SERVER: dict[Family, str] = {"mysql": "mysql-8.4", "mariadb": "mariadb-10.11"}
_LATEST_PATCH = 999


@dataclass(frozen=True, slots=True)
class Server:
    family: Family
    version: tuple[int, int, int]

    def __str__(self) -> str:
        major, minor, patch = self.version
        return f"{self.family}-{major}.{minor}" + (f".{patch}" if patch != _LATEST_PATCH else "")


def server(spec: str) -> Server:
    """Read ``mysql-8.0``, ``mysql-8.0.35``, ``mariadb-10.11`` or a bare family. Raises
    ValueError with the accepted spellings."""
    m = re.fullmatch(r"(mysql|mariadb)(?:-(\d+)\.(\d+)(?:\.(\d+))?)?", spec.strip().lower())
    if m is None:
        raise ValueError(
            f"unknown server version {spec!r}: expected FAMILY-MAJOR.MINOR, one of "
            f"{', '.join(SERVER_VERSIONS)} (or a patch release such as mysql-8.0.35)"
        )
    family: Family = "mysql" if m.group(1) == "mysql" else "mariadb"
    if m.group(2) is None:
        return server(DEFAULT_SERVER[family])
    patch = int(m.group(4)) if m.group(4) is not None else _LATEST_PATCH
    version = (int(m.group(2)), int(m.group(3)), patch)
    oldest = (8, 0, 0) if family == "mysql" else (10, 6, 0)
    if version < oldest:
        raise ValueError(
            f"server version {spec!r} is older than migsafe models: {family} "
            f"{oldest[0]}.{oldest[1]} or later"
        )
    return Server(family, version)


@dataclass(frozen=True, slots=True)
class Row:
    algorithm: Algorithm
    lock: Lock = "NONE"


INSTANT = Row("INSTANT")
INPLACE = Row("INPLACE")
INPLACE_SHARED = Row("INPLACE", "SHARED")
COPY = Row("COPY", "SHARED")

_V = tuple[int, int, int]
# behaviour -> family -> ((from_version, row), ...) in ascending version order.
MODEL: dict[str, dict[Family, tuple[tuple[_V, Row], ...]]] = {
    "add_column": {
        "mysql": (((8, 0, 0), INPLACE), ((8, 0, 12), INSTANT)),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "add_column.auto_increment": {
        "mysql": (((8, 0, 0), INPLACE_SHARED),),
        "mariadb": (((10, 6, 0), INPLACE_SHARED),),
    },
    "add_column.stored_generated": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "drop_column": {
        "mysql": (((8, 0, 0), INPLACE), ((8, 0, 29), INSTANT)),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "rename_column": {
        "mysql": (((8, 0, 0), INPLACE), ((8, 0, 28), INSTANT)),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "alter_column_type": {"mysql": (((8, 0, 0), COPY),), "mariadb": (((10, 6, 0), COPY),)},
    # VARCHAR growing within the same number of length bytes (both under 256 bytes or both
    # over): MySQL edits the column in place, MariaDB only its metadata.
    "alter_column_type.varchar_grow": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    # ... from under 256 bytes to 256 or more: MySQL copies the table; MariaDB does not.
    "alter_column_type.varchar_grow_wide": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "alter_column_type.enum_append": {
        "mysql": (((8, 0, 0), INSTANT),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "alter_column_type.enum_change": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "alter_column_type.charset": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "set_not_null": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "drop_not_null": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "set_default": {"mysql": (((8, 0, 0), INSTANT),), "mariadb": (((10, 6, 0), INSTANT),)},
    "drop_default": {"mysql": (((8, 0, 0), INSTANT),), "mariadb": (((10, 6, 0), INSTANT),)},
    "alter_table.reorder_column": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    # MODIFY restating a column with only its comment (or nothing the model tracks) changed.
    "alter_table.column_attributes": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "create_index": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "create_index.unique": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INPLACE),),
    },
    "alter_table.add_fulltext_index": {
        "mysql": (((8, 0, 0), INPLACE_SHARED),),
        "mariadb": (((10, 6, 0), INPLACE_SHARED),),
    },
    "alter_table.add_spatial_index": {
        "mysql": (((8, 0, 0), INPLACE_SHARED),),
        "mariadb": (((10, 6, 0), INPLACE_SHARED),),
    },
    "drop_index": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "rename_index": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INSTANT),)},
    "add_constraint.primary_key": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INPLACE),),
    },
    "drop_constraint.primary_key": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    # With foreign_key_checks on, every row must be checked against the parent: a copy.
    "add_constraint.foreign_key": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "add_constraint.foreign_key.checks_off": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "drop_constraint.foreign_key": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "add_constraint.check": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "drop_constraint.check": {
        "mysql": (((8, 0, 0), INSTANT),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    # A constraint migsafe has not seen created (or a UNIQUE one): at worst an index drop.
    "drop_constraint": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "rename_table": {"mysql": (((8, 0, 0), INSTANT),), "mariadb": (((10, 6, 0), INSTANT),)},
    "alter_table.convert_charset": {
        "mysql": (((8, 0, 0), COPY),),
        "mariadb": (((10, 6, 0), COPY),),
    },
    "alter_table.default_charset": {
        "mysql": (((8, 0, 0), INPLACE_SHARED),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    # FORCE, ENGINE=InnoDB on an InnoDB table: a rebuild in place.
    "alter_table.force": {"mysql": (((8, 0, 0), INPLACE),), "mariadb": (((10, 6, 0), INPLACE),)},
    "alter_table.row_format": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INPLACE),),
    },
    "alter_table.auto_increment": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
    "alter_table.table_comment": {
        "mysql": (((8, 0, 0), INPLACE),),
        "mariadb": (((10, 6, 0), INSTANT),),
    },
}

# Bytes one character may take, for VARCHAR length-byte arithmetic; an unknown character set
# counts as utf8mb4, MySQL 8's default.
_CHARSET_BYTES = {"latin1": 1, "ascii": 1, "binary": 1, "utf8": 3, "utf8mb3": 3, "ucs2": 2}
_DEFAULT_CHARSET_BYTES = 4
_OFF = frozenset({"0", "off", "false"})


@dataclass(frozen=True, slots=True)
class Online:
    """How the server runs one op or statement: ``behaviour`` is the model's key (None for
    what is not online DDL: CREATE TABLE, DML, SET)."""

    behaviour: str | None
    algorithm: Algorithm | None = None
    lock: Lock | None = None

    def as_json(self) -> dict[str, str] | None:
        if self.algorithm is None:
            return None
        return {"algorithm": self.algorithm, "lock": self.lock or "NONE"}


def row_for(behaviour: str, srv: Server) -> Row:
    return versioned.as_of(MODEL[behaviour][srv.family], srv.version)


def checks_off(settings: Mapping[str, str]) -> bool:
    return settings.get("foreign_key_checks", "1").strip().lower() in _OFF


def behaviour(op: ops.Op, schema: Schema | None, settings: Mapping[str, str]) -> str | None:
    """The model key for an op, or None when the op is not an ALTER of an existing table."""
    match op:
        case ops.AddColumn(column=col):
            if col.identity:
                return "add_column.auto_increment"
            return "add_column.stored_generated" if col.generated_stored else "add_column"
        case ops.AlterColumnType():
            old = schema.column_type(op.table, op.column) if schema is not None else None
            return _type_change(old, op.type)
        case ops.AddConstraint(constraint=c):
            if c.kind == "foreign_key":
                checks = ".checks_off" if checks_off(settings) else ""
                return f"add_constraint.foreign_key{checks}"
            if c.kind == "unique":
                return "create_index.unique"
            key = f"add_constraint.{c.kind}"
            return key if key in MODEL else None
        case ops.DropConstraint():
            if op.name.upper() == "PRIMARY":
                return "drop_constraint.primary_key"
            known = schema.constraint(op.table, op.name) if schema is not None else None
            key = f"drop_constraint.{known.kind}" if known else "drop_constraint"
            return key if key in MODEL else "drop_constraint"
        case ops.CreateIndex():
            return "create_index.unique" if op.unique else "create_index"
        case ops.AlterTableOther():
            key = f"alter_table.{op.subcommand}"
            return key if key in MODEL else None
    return op.kind if op.kind in MODEL else None


def _type_change(old: ops.TypeRef | None, new: ops.TypeRef) -> str:
    if old is None:
        return "alter_column_type"
    if new.charset is not None and old.charset is not None and new.charset != old.charset:
        return "alter_column_type.charset"
    if old.name != new.name:
        return "alter_column_type"
    if old.values or new.values:
        appended = new.values[: len(old.values)] == old.values
        return "alter_column_type.enum_append" if appended else "alter_column_type.enum_change"
    if old.name == "varchar" and old.mods and new.mods and new.mods[0] >= old.mods[0]:
        per_char = _CHARSET_BYTES.get(new.charset or old.charset or "", _DEFAULT_CHARSET_BYTES)
        if (old.mods[0] * per_char < 256) != (new.mods[0] * per_char < 256):
            return "alter_column_type.varchar_grow_wide"
        return "alter_column_type.varchar_grow"
    return "alter_column_type"


def judge(op: ops.Op, srv: Server, schema: Schema | None, settings: Mapping[str, str]) -> Online:
    """The cheapest way ``srv`` runs ``op``, with ``schema`` as it stands before the op."""
    key = behaviour(op, schema, settings)
    if key is None:
        return Online(None)
    row = row_for(key, srv)
    return Online(key, row.algorithm, row.lock)


def combine(parts: Iterable[Online]) -> Online:
    """A statement runs with one algorithm for all its sub-commands: the costliest any of
    them needs, and the strongest lock."""
    judged = [p for p in parts if p.algorithm is not None]
    if not judged:
        return Online(None)
    algorithm = max((p.algorithm for p in judged if p.algorithm), key=ALGORITHMS.index)
    lock = max((p.lock or "NONE" for p in judged), key=LOCKS.index)
    return Online("+".join(p.behaviour or "" for p in judged), algorithm, lock)


# -- what the statement asks for ----------------------------------------------------------------

_STRINGS = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`[^`]*`", re.S)
_CLAUSE = re.compile(r"(?P<lead>,\s*|\s+)(?P<key>ALGORITHM|LOCK)\s*=?\s*(?P<value>\w+)", re.I)


@dataclass(frozen=True, slots=True)
class Clause:
    key: str  # ALGORITHM or LOCK
    value: str
    start: int  # offsets in the statement text, leading comma or blank included
    end: int


def clauses(sql: str) -> list[Clause]:
    """The ``ALGORITHM=`` and ``LOCK=`` clauses of an ALTER TABLE, CREATE INDEX or DROP
    INDEX statement (strings and quoted names masked first so none is read from them)."""
    if not re.match(r"\s*(ALTER|CREATE|DROP)\b", sql, re.I):
        return []
    blank = _STRINGS.sub(lambda m: "_" * len(m.group()), sql)
    return [
        Clause(m.group("key").upper(), m.group("value").upper(), m.start(), m.end())
        for m in _CLAUSE.finditer(blank)
    ]


def as_written(cheapest: Online, sql: str) -> Online:
    """The statement as it will run: the algorithm it names if that costs more than the
    cheapest, and the lock it names if stronger. A statement naming a cheaper algorithm
    than the server can use fails; it is reported as the cheapest (the rules say it fails).
    """
    if cheapest.algorithm is None:
        return cheapest
    algorithm: Algorithm = cheapest.algorithm
    lock: Lock = cheapest.lock or "NONE"
    for c in clauses(sql):
        if c.key == "ALGORITHM" and c.value in ALGORITHMS:
            asked: Algorithm = c.value
            if ALGORITHMS.index(asked) > ALGORITHMS.index(algorithm):
                algorithm = asked
                if asked == "COPY":
                    lock = max(lock, "SHARED", key=LOCKS.index)
        elif c.key == "LOCK" and c.value in LOCKS:
            lock = max(lock, c.value, key=LOCKS.index)
    return Online(cheapest.behaviour, algorithm, lock)
