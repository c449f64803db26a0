"""The intermediate representation: what a statement does, independent of how it was written.

Frontends (SQL through pglast, later Alembic and sqlglot) produce these; rules, the lock model
and the schema simulation consume them. Nothing here knows about parsers or rules.

The classes are frozen dataclasses without ``__slots__``: on Python 3.11 a slotted dataclass
is built twice, and with some fifty of them that doubled the import time every pre-commit run
pays.

Relation names are kept as written (``public.users`` stays qualified, ``users`` does not), so
reports name what the author wrote; :func:`bare` gives the lookup key for the schema model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Span:
    """A region of the original file. Lines and columns are 1-based; ``end_column`` is
    exclusive, as in SARIF and LSP. Offsets are character offsets into the file text."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 1, 1, 1, 1)


def bare(name: str) -> str:
    """The schema-model key for a relation name: ``public.`` is the default search path."""
    return name[7:] if name.startswith("public.") else name


def in_schema_of(relation: str, name: str) -> str:
    """``name`` in the schema of ``relation``: where RENAME TO and CREATE INDEX put it."""
    schema, dot, _ = relation.rpartition(".")
    return f"{schema}.{name}" if dot and "." not in name else name


@dataclass(frozen=True)
class TypeRef:
    """A column type, normalised to PostgreSQL's internal name (``int4``, ``varchar``,
    ``timestamptz``) with its modifiers, so rules compare types without spelling variants."""

    name: str
    mods: tuple[int, ...] = ()
    array: bool = False
    span: Span = NO_SPAN
    # MySQL/MariaDB only: the column's character set and collation as written (None: the
    # table's default), and the members of an ENUM or SET type in order. Changing either
    # rewrites the table there, so the online-DDL model compares them.
    charset: str | None = None
    collation: str | None = None
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        mods = f"({','.join(map(str, self.mods))})" if self.mods else ""
        return f"{self.name}{mods}{'[]' if self.array else ''}"


@dataclass(frozen=True)
class Default:
    sql: str
    volatile: bool


ConstraintKind = Literal["check", "foreign_key", "unique", "primary_key", "exclude", "not_null"]


@dataclass(frozen=True)
class ConstraintDef:
    kind: ConstraintKind
    name: str | None = None
    columns: tuple[str, ...] = ()
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    not_valid: bool = False
    using_index: str | None = None
    expr: str | None = None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Column:
    name: str
    type: TypeRef
    not_null: bool = False
    default: Default | None = None
    identity: bool = False
    generated_stored: bool = False
    serial: bool = False
    constraints: tuple[ConstraintDef, ...] = ()
    span: Span = NO_SPAN


@dataclass(frozen=True, kw_only=True)
class Op:
    span: Span = NO_SPAN

    @property
    def kind(self) -> str:
        """snake_case name used in JSON output and the lock model."""
        return _KINDS[type(self)]


# --- tables ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateTable(Op):
    table: str
    columns: tuple[Column, ...] = ()
    constraints: tuple[ConstraintDef, ...] = ()
    if_not_exists: bool = False
    partition_of: str | None = None
    partitioned: bool = False
    as_query: bool = False


@dataclass(frozen=True, kw_only=True)
class DropTable(Op):
    tables: tuple[str, ...]
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, kw_only=True)
class RenameTable(Op):
    table: str
    new_name: str


@dataclass(frozen=True, kw_only=True)
class Truncate(Op):
    tables: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class LockTable(Op):
    tables: tuple[str, ...]
    mode: str


# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddColumn(Op):
    table: str
    column: Column
    if_not_exists: bool = False


@dataclass(frozen=True, kw_only=True)
class DropColumn(Op):
    table: str
    column: str
    if_exists: bool = False


@dataclass(frozen=True, kw_only=True)
class RenameColumn(Op):
    table: str
    column: str
    new_name: str


@dataclass(frozen=True, kw_only=True)
class AlterColumnType(Op):
    table: str
    column: str
    type: TypeRef
    using: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetNotNull(Op):
    table: str
    column: str


@dataclass(frozen=True, kw_only=True)
class DropNotNull(Op):
    table: str
    column: str


@dataclass(frozen=True, kw_only=True)
class SetDefault(Op):
    table: str
    column: str
    default: Default


@dataclass(frozen=True, kw_only=True)
class DropDefault(Op):
    table: str
    column: str


# --- constraints -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddConstraint(Op):
    table: str
    constraint: ConstraintDef


@dataclass(frozen=True, kw_only=True)
class RenameConstraint(Op):
    table: str
    name: str
    new_name: str


@dataclass(frozen=True, kw_only=True)
class ValidateConstraint(Op):
    table: str
    name: str


@dataclass(frozen=True, kw_only=True)
class DropConstraint(Op):
    table: str
    name: str
    if_exists: bool = False


# --- indexes ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateIndex(Op):
    table: str
    name: str | None
    columns: tuple[str, ...] = ()
    unique: bool = False
    concurrently: bool = False
    if_not_exists: bool = False
    only: bool = False  # ON ONLY a partitioned table: an invalid index on the parent alone


@dataclass(frozen=True, kw_only=True)
class DropIndex(Op):
    indexes: tuple[str, ...]
    concurrently: bool = False
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, kw_only=True)
class Reindex(Op):
    target: Literal["index", "table", "schema", "database", "system"]
    name: str
    concurrently: bool = False


@dataclass(frozen=True, kw_only=True)
class RenameIndex(Op):
    index: str
    new_name: str


# --- whole-table maintenance and storage -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetStorageParams(Op):
    table: str
    params: tuple[str, ...]
    reset: bool = False


@dataclass(frozen=True, kw_only=True)
class SetLogged(Op):
    table: str
    logged: bool


@dataclass(frozen=True, kw_only=True)
class SetTablespace(Op):
    table: str
    tablespace: str


@dataclass(frozen=True, kw_only=True)
class Cluster(Op):
    table: str | None


@dataclass(frozen=True, kw_only=True)
class Vacuum(Op):
    tables: tuple[str, ...]
    full: bool = False


@dataclass(frozen=True, kw_only=True)
class AttachPartition(Op):
    table: str
    partition: str


@dataclass(frozen=True, kw_only=True)
class DetachPartition(Op):
    table: str
    partition: str
    concurrently: bool = False


@dataclass(frozen=True, kw_only=True)
class AlterTableOther(Op):
    """An ALTER TABLE sub-command with no dedicated op (``ENABLE TRIGGER``, ``OWNER TO``, …);
    ``subcommand`` is libpg_query's name for it, which keys the lock model."""

    table: str
    subcommand: str
    referenced: str | None = None  # the parent of INHERIT / NO INHERIT
    new_name: str | None = None  # ALTER VIEW / MATERIALIZED VIEW / SEQUENCE … RENAME TO


@dataclass(frozen=True, kw_only=True)
class CreateTrigger(Op):
    table: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CreatePolicy(Op):
    table: str
    name: str


@dataclass(frozen=True, kw_only=True)
class RefreshMaterializedView(Op):
    view: str
    concurrently: bool = False


@dataclass(frozen=True, kw_only=True)
class Comment(Op):
    target: str
    table: str | None = None


# --- types, schemas, other objects -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateEnum(Op):
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AddEnumValue(Op):
    """``neighbor`` is the label named by BEFORE/AFTER; without one the label goes last."""

    type_name: str
    value: str
    if_not_exists: bool = False
    neighbor: str | None = None
    after: bool = True


@dataclass(frozen=True, kw_only=True)
class RenameEnumValue(Op):
    type_name: str
    old: str
    new: str


@dataclass(frozen=True, kw_only=True)
class RenameType(Op):
    """ALTER TYPE … RENAME TO: columns of the type keep it under its new name."""

    type_name: str
    new_name: str


@dataclass(frozen=True, kw_only=True)
class CreateObject(Op):
    """A new object that cannot affect running queries: schema, sequence, function, view,
    extension, non-enum type, …"""

    object_kind: str
    name: str
    if_not_exists: bool = False
    or_replace: bool = False


@dataclass(frozen=True, kw_only=True)
class DropObject(Op):
    """DROP of a view, function, type, sequence, trigger, … that the application may use."""

    object_kind: str
    names: tuple[str, ...]
    if_exists: bool = False
    cascade: bool = False
    table: str | None = None


@dataclass(frozen=True, kw_only=True)
class DropSchema(Op):
    names: tuple[str, ...]
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, kw_only=True)
class DropDatabase(Op):
    name: str
    if_exists: bool = False


@dataclass(frozen=True, kw_only=True)
class Privileges(Op):
    """GRANT / REVOKE / ALTER DEFAULT PRIVILEGES / ALTER … OWNER: catalog-only changes."""

    statement: str


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Insert(Op):
    table: str
    from_query: bool = False


@dataclass(frozen=True, kw_only=True)
class Update(Op):
    table: str
    has_where: bool
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Delete(Op):
    table: str
    has_where: bool


# --- session and transactions ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetSetting(Op):
    name: str
    value: str | None
    local: bool = False


@dataclass(frozen=True, kw_only=True)
class Transaction(Op):
    action: Literal["begin", "commit", "rollback", "savepoint", "release", "rollback_to"]


@dataclass(frozen=True, kw_only=True)
class Unknown(Op):
    """A statement no frontend turned into a specific op: kept, never dropped."""

    statement: str


_KINDS: dict[type[Op], str] = {}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


for _cls in Op.__subclasses__():
    _KINDS[_cls] = _snake(_cls.__name__)


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a migration: its source text and span, and the ops it performs
    (one for most statements, several for a multi-command ALTER TABLE)."""

    sql: str
    span: Span
    ops: tuple[Op, ...]
    ignores: frozenset[str] = field(default=frozenset())

    @property
    def kind(self) -> str:
        kinds = {op.kind for op in self.ops}
        return self.ops[0].kind if len(kinds) == 1 else "alter_table"
