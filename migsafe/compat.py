"""Does a release still work on a schema? One check for lint, gate and rollback alike.

:func:`compat` compares a schema model (replayed from migrations, or introspected from a
live database) with a release's :class:`~migsafe.contracts.Contract` and lists what would
break that release's application: a table or column it uses is gone; a column's type
changed so that its values no longer fit or read back differently; a column became NOT NULL
where it expects nullable; a NOT NULL column without a default appeared that its INSERTs do
not supply; a default its INSERTs rely on was dropped; an enum label it uses was removed or
renamed, from a PostgreSQL enum type or from a MySQL/MariaDB ``ENUM``/``SET`` column's type
(whose members belong to the column: adding or reordering them keeps the release working,
removing one it writes does not).

It is one pass over the contract's tables with dict lookups, so checking a thousand-table
production schema costs milliseconds. When the schema came from migrations, :func:`replay`
also records which migration last changed each object (its *provenance*), and each problem
names the migration that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from migsafe import ops
from migsafe.contracts import ColumnUse, Contract, ContractError
from migsafe.locks import type_change_narrows, type_change_rewrites
from migsafe.ops import bare, in_schema_of
from migsafe.schema import ColumnState, Schema
from migsafe.sources import Migration

# An object a problem is about: ("table", t), ("column", t, c) or ("enum", name). A MySQL
# ENUM/SET member belongs to its column's key.
Key = tuple[str, ...]
Provenance = Mapping[Key, str]

MISSING_TABLE = "missing-table"
MISSING_COLUMN = "missing-column"
TYPE_CHANGED = "type-changed"
NOT_NULL_ADDED = "not-null-added"
REQUIRED_COLUMN = "required-column"
DEFAULT_DROPPED = "default-dropped"
MISSING_ENUM = "missing-enum"
ENUM_LABEL = "enum-label"


@dataclass(frozen=True, slots=True)
class Problem:
    """One way the schema breaks the release: ``kind`` (one of the constants above), the
    object, what the release expects, what the schema has, and the migration that last
    changed the object when the schema was replayed from migrations."""

    kind: str
    key: Key
    expected: str
    found: str
    migration: str | None = None

    @property
    def object(self) -> str:
        """The object as people write it: ``users``, ``users.email``, ``type mood``."""
        return f"type {self.key[1]}" if self.key[0] == "enum" else ".".join(self.key[1:])

    def to_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "object": self.object,
            "expected": self.expected,
            "found": self.found,
            "migration": self.migration,
        }

    def __str__(self) -> str:
        cause = f" (caused by {self.migration})" if self.migration else ""
        return (
            f"{self.object}: the release expects {self.expected}; "
            f"the schema has {self.found}{cause}"
        )


def _filled(col: ColumnState) -> bool:
    return col.default is not None or col.identity


def _same_type(a: ops.TypeRef, b: ops.TypeRef) -> bool:
    """Members of a MySQL ENUM/SET are left out: :func:`lost_members` judges them, so that
    adding one is no type change."""
    return (a.name, a.mods, a.array) == (b.name, b.mods, b.array)


def lost_members(used: ops.TypeRef, now: ops.TypeRef) -> list[str]:
    """The MySQL ENUM/SET members of ``used`` (the type a release uses) that ``now`` lacks;
    none when the type itself changed (that is a type change) or ``used`` names none.
    Lint's contract-before-retirement asks too, so both judge a member the same way."""
    if not used.values or not _same_type(used, now):
        return []
    kept = set(now.values)
    return [v for v in used.values if v not in kept]


def _type_change(need: ColumnUse, have: ColumnState) -> str | None:
    """Why the release cannot use the column's new type, None when it can: a narrowing
    loses its values, any other change that is not binary coercible (a rewrite) stores a
    different type, which its driver reads back differently."""
    if _same_type(need.type, have.type):
        return None
    if type_change_narrows(need.type, have.type):
        return f"{have.type}, which cannot hold every {need.type} value the release writes"
    if type_change_rewrites(need.type, have.type):
        return f"{have.type}, a different type the release reads back differently"
    return None


def _relabelled(label: str, expected: tuple[str, ...], have: list[str]) -> str:
    """``removed``, or ``renamed to X`` when a label the release does not know sits where
    the missing one was (ALTER TYPE … RENAME VALUE keeps the position)."""
    at = expected.index(label)
    if at < len(have) and have[at] not in expected:
        return f"label {label!r} renamed to {have[at]!r}"
    return f"no label {label!r}"


def compat(
    schema: Schema, contract: Contract, provenance: Provenance | None = None
) -> list[Problem]:
    """Everything in ``schema`` that breaks ``contract``'s release; empty when it works."""
    problems: list[Problem] = []
    since = provenance or {}

    def add(kind: str, key: Key, expected: str, found: str) -> None:
        cause = since.get(key)
        if cause is None and key[0] == "column":
            cause = since.get(("table", key[1]))
        problems.append(Problem(kind, key, expected, found, cause))

    for name, use in contract.tables.items():
        table = schema.tables.get(name)
        if table is None:
            add(MISSING_TABLE, ("table", name), "table " + name, "no such table")
            continue
        for col, need in use.columns.items():
            key = ("column", name, col)
            have = table.columns.get(col)
            if have is None:
                add(MISSING_COLUMN, key, f"column {col} ({need.type})", "no such column")
                continue
            changed = _type_change(need, have)
            if changed:
                add(TYPE_CHANGED, key, f"type {need.type}", changed)
            for label in lost_members(need.type, have.type):
                add(ENUM_LABEL, key, f"label {label!r}", f"no label {label!r}")
            if need.nullable and have.not_null:
                add(NOT_NULL_ADDED, key, "a nullable column", "NOT NULL")
            if need.defaulted and not _filled(have) and not have.generated:
                add(
                    DEFAULT_DROPPED,
                    key,
                    "a default (its INSERTs leave the column out)",
                    "no default",
                )
        if use.insert is None:
            continue
        for have in table.columns.values():
            if not have.not_null or _filled(have) or have.generated or have.name in use.insert:
                continue
            known = use.columns.get(have.name)
            if known is not None and (known.defaulted or known.nullable):
                continue  # reported above as a dropped default or a new NOT NULL
            add(
                REQUIRED_COLUMN,
                ("column", name, have.name),
                f"INSERTs that leave {have.name} out",
                "NOT NULL without a default",
            )
    for name, labels in contract.enums.items():
        present = schema.enums.get(name)
        if present is None:
            add(MISSING_ENUM, ("enum", name), "labels " + ", ".join(labels), "no such type")
            continue
        have_labels = set(present)
        for label in labels:
            if label not in have_labels:
                add(
                    ENUM_LABEL,
                    ("enum", name),
                    f"label {label!r}",
                    _relabelled(label, labels, present),
                )
    return problems


# -- replaying with provenance -------------------------------------------------------------------


def touches(op: ops.Op) -> tuple[Key, ...]:
    """The objects ``op`` creates, removes or changes, as :class:`Problem` keys: what makes a
    migration the cause of a problem about one of them."""
    match op:
        case ops.CreateTable():
            t = bare(op.table)
            return (("table", t), *(("column", t, c.name) for c in op.columns))
        case ops.DropTable():
            return tuple(("table", bare(t)) for t in op.tables)
        case ops.RenameTable():
            return ("table", bare(op.table)), ("table", bare(in_schema_of(op.table, op.new_name)))
        case ops.AddColumn():
            return (("column", bare(op.table), op.column.name),)
        case ops.RenameColumn():
            t = bare(op.table)
            return ("column", t, op.column), ("column", t, op.new_name)
        case (
            ops.DropColumn()
            | ops.AlterColumnType()
            | ops.SetNotNull()
            | ops.DropNotNull()
            | ops.SetDefault()
            | ops.DropDefault()
        ):
            return (("column", bare(op.table), op.column),)
        case ops.AddConstraint(constraint=c) if c.kind == "primary_key":
            return tuple(("column", bare(op.table), col) for col in c.columns)
        case ops.CreateEnum():
            return (("enum", bare(op.name)),)
        case ops.AddEnumValue() | ops.RenameEnumValue():
            return (("enum", bare(op.type_name)),)
        case ops.RenameType():
            old = bare(op.type_name)
            return ("enum", old), ("enum", bare(in_schema_of(op.type_name, op.new_name)))
        case ops.DropObject(object_kind="type"):
            return tuple(("enum", bare(n)) for n in op.names)
    return ()


@dataclass
class Replayed:
    """The schema after some migrations, and which migration (by its display path) last
    changed each object."""

    schema: Schema = field(default_factory=Schema)
    provenance: dict[Key, str] = field(default_factory=dict)


def replay(migrations: Iterable[Migration], dialect: str | None = None) -> Replayed:
    """Apply the up migrations in order to an empty schema, recording provenance. A
    migration that does not parse is a :class:`ContractError` naming it: a schema missing
    its changes would give wrong answers. ``dialect`` as in :mod:`migsafe.dialects` (None:
    each file's from its path)."""
    from migsafe import dialects
    from migsafe.parse.postgres import SqlSyntaxError

    result = Replayed()
    for m in migrations:
        if m.direction != "up":
            continue
        try:
            statements = dialects.statements(m, dialects.of(m, dialect), result.schema)
        except SqlSyntaxError as exc:
            raise ContractError(
                f"{m.display}:{exc.line}:{exc.column}: syntax error: {exc.message}; "
                "`migsafe lint` shows it in context"
            ) from None
        for st in statements:
            for op in st.ops:
                result.schema.apply(op)
                for key in touches(op):
                    result.provenance[key] = m.display
    return result
