"""Expand, backfill, contract: the phase of each op, as data.

During a rolling or canary deploy the previous release runs on the schema the new release's
migrations produce. So schema changes come in two kinds: those the old code survives
(*expand*: additive, shipped before or with the code that uses them) and those that remove,
rename, narrow or newly forbid something old code may read or write (*contract*: shipped
only once no supported release uses it). Data changes are a third kind (*backfill*).

:data:`PHASES` maps a behaviour key — the op's kind, refined by a variant where the kind
alone does not decide (``add_column.required``, ``create_index.unique``) — to its phase.
``None`` is *neutral*: the op fits any phase because it changes neither what the application
can name nor what it may write (session and transaction statements, VALIDATE CONSTRAINT,
maintenance, comments, privileges, statements migsafe has no model for).

Decisions worth knowing:

- VALIDATE CONSTRAINT is neutral. A NOT VALID constraint already binds every new write, so
  validating it forbids nothing new; it belongs to whichever migration adds the constraint,
  and calling it expand would make the safe ``ADD … NOT VALID`` + ``VALIDATE`` pair mixed.
- Every ADD CONSTRAINT is contract, NOT VALID too: from that moment old code's writes that
  violate it fail.
- A type change is expand only when PostgreSQL makes it without touching the data (binary
  coercible, never narrowing: ``varchar(50)`` → ``varchar(100)`` or ``text``); any change
  that rewrites, narrows, has USING, or whose old type migsafe does not know is contract.
- DROP CONSTRAINT relaxes writes for CHECK, FOREIGN KEY and NOT NULL (expand), but a dropped
  UNIQUE, PRIMARY KEY or EXCLUDE constraint breaks ``INSERT … ON CONFLICT`` (contract), as
  does an unknown one. DROP INDEX is contract for the same reason and for plans that need it.
- A contract op on a table created earlier in the same migration is expand: no running code
  can use the table yet.
- TRUNCATE is contract (it removes what old code reads), other data changes are backfill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from migsafe import locks, ops
from migsafe.ops import Op, Statement, bare, in_schema_of
from migsafe.schema import Schema, Table


class Phase(StrEnum):
    EXPAND = "expand"
    BACKFILL = "backfill"
    CONTRACT = "contract"


EXPAND, BACKFILL, CONTRACT = Phase.EXPAND, Phase.BACKFILL, Phase.CONTRACT

PHASES: dict[str, Phase | None] = {
    # tables
    "create_table": EXPAND,
    "drop_table": CONTRACT,
    "rename_table": CONTRACT,
    "truncate": CONTRACT,
    "lock_table": None,
    # columns
    "add_column": EXPAND,
    "add_column.required": CONTRACT,  # NOT NULL, no default: old INSERTs fail
    "drop_column": CONTRACT,
    "rename_column": CONTRACT,
    "alter_column_type": CONTRACT,
    "alter_column_type.widening": EXPAND,
    "set_not_null": CONTRACT,
    "drop_not_null": EXPAND,
    "set_default": EXPAND,
    "drop_default": CONTRACT,
    # constraints
    "add_constraint": CONTRACT,
    "validate_constraint": None,
    "drop_constraint": CONTRACT,
    "drop_constraint.relaxes": EXPAND,
    # indexes
    "create_index": EXPAND,
    "create_index.unique": CONTRACT,
    "drop_index": CONTRACT,
    "reindex": None,
    "rename_index": None,  # queries never name an index
    "rename_constraint": None,  # nor, but for ON CONFLICT ON CONSTRAINT, a constraint
    # maintenance and storage
    "set_storage_params": None,
    "set_logged": None,
    "set_tablespace": None,
    "cluster": None,
    "vacuum": None,
    "attach_partition": EXPAND,
    "detach_partition": CONTRACT,  # its rows vanish from the parent
    "alter_table_other": None,
    "alter_table_other.rename": CONTRACT,  # a view or sequence old code names
    "create_trigger": EXPAND,  # e.g. the dual-write trigger of a rename
    "create_policy": None,
    "refresh_materialized_view": BACKFILL,
    "comment": None,
    # types and other objects
    "create_enum": EXPAND,
    "add_enum_value": EXPAND,
    "rename_enum_value": CONTRACT,
    "rename_type": CONTRACT,
    "create_object": EXPAND,
    "drop_object": CONTRACT,
    "drop_schema": CONTRACT,
    "drop_database": CONTRACT,
    "privileges": None,
    # data
    "insert": BACKFILL,
    "update": BACKFILL,
    "delete": BACKFILL,
    # session, transactions, the unmodelled
    "set_setting": None,
    "transaction": None,
    "unknown": None,
}

_RELAXING_CONSTRAINTS = frozenset({"check", "foreign_key", "not_null"})


def variant(op: Op, schema: Schema) -> str:
    """The key of :data:`PHASES` for ``op``: its kind, refined where the kind alone does not
    decide. ``schema`` is the schema just before the op."""
    match op:
        case ops.AddColumn(column=col):
            fills = col.default is not None or col.identity or col.serial or col.generated_stored
            return "add_column.required" if col.not_null and not fills else op.kind
        case ops.AlterColumnType():
            old = schema.column_type(op.table, op.column)
            coercible = op.using is None and not locks.type_change_rewrites(old, op.type)
            # A MySQL ENUM/SET that loses a member forbids a value old code may write.
            loses = old is not None and not set(old.values) <= set(op.type.values)
            return "alter_column_type.widening" if coercible and not loses else op.kind
        case ops.DropConstraint():
            c = schema.constraint(op.table, op.name)
            relaxes = c is not None and c.kind in _RELAXING_CONSTRAINTS
            return "drop_constraint.relaxes" if relaxes else op.kind
        case ops.CreateIndex(unique=True):
            return "create_index.unique"
        case ops.AlterTableOther(new_name=str()):
            return "alter_table_other.rename"
    return op.kind


def _tables(op: Op) -> tuple[str, ...]:
    """The tables an op changes, for the created-in-this-migration exemption."""
    if isinstance(op, ops.DropTable | ops.Truncate):
        return op.tables
    table = getattr(op, "table", None)
    return (table,) if isinstance(table, str) else ()


def phase_of(op: Op, schema: Schema, new_tables: Iterable[str] = ()) -> Phase | None:
    """The phase of one op against the schema just before it; ``new_tables`` are the tables
    (schema-model keys) created earlier in the same migration. ``None``: neutral."""
    phase = PHASES[variant(op, schema)]
    if phase is CONTRACT:
        created = set(new_tables)
        tables = _tables(op)
        if tables and all(bare(t) in created for t in tables):
            return EXPAND
    return phase


def _touched(statements: Sequence[Statement]) -> set[str]:
    names: set[str] = set()
    for st in statements:
        for op in st.ops:
            names.update(bare(t) for t in _tables(op))
    return names


def statement_phases(
    statements: Sequence[Statement], schema: Schema | None = None
) -> list[tuple[Phase | None, ...]]:
    """The phase of every op of a migration, statement by statement, given the schema before
    it (``None``: nothing known). ``schema`` is not changed: the ops are replayed on copies
    of just the tables they touch, which is all a phase depends on."""
    base = schema or Schema()
    scratch = Schema(
        tables={
            key: Table(t.name, dict(t.columns), dict(t.constraints), t.partitioned)
            for key in _touched(statements)
            if (t := base.tables.get(key)) is not None
        }
    )
    new_tables: set[str] = set()
    result: list[tuple[Phase | None, ...]] = []
    for st in statements:
        phases: list[Phase | None] = []
        for op in st.ops:
            phases.append(phase_of(op, scratch, new_tables))
            if isinstance(op, ops.CreateTable) and scratch.table(op.table) is None:
                new_tables.add(bare(op.table))
            elif isinstance(op, ops.RenameTable) and bare(op.table) in new_tables:
                new_tables.add(bare(in_schema_of(op.table, op.new_name)))
            scratch.apply(op)
        result.append(tuple(phases))
    return result


def combined(phases: Iterable[Phase | None]) -> Phase | None:
    """One phase for many ops: contract if any op contracts (it can only ship once nothing
    uses what it removes), else expand if any expands, else backfill, else neutral."""
    seen = set(phases)
    for phase in (CONTRACT, EXPAND, BACKFILL):
        if phase in seen:
            return phase
    return None


def migration_phase(statements: Sequence[Statement], schema: Schema | None = None) -> Phase | None:
    """The phase inferred from a migration's ops (see :func:`combined`)."""
    return combined(p for st in statement_phases(statements, schema) for p in st)


def contradicts(declared: Phase, phase: Phase | None) -> bool:
    """Whether an op of ``phase`` does not belong in a migration declared ``declared``.

    Expand and contract exclude each other: an expand op in a contract migration arrives
    after the code that needs it, a contract op in an expand migration before old code
    stops using what it removes. Backfill ops fit either (seeding a new table, fixing rows
    before SET NOT NULL); a backfill migration holds data changes only.
    """
    if phase is None or phase is declared:
        return False
    return declared is BACKFILL or phase is not BACKFILL
