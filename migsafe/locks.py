"""The lock model: what each op does to a live PostgreSQL, as data.

``MODEL`` maps a *behaviour* (an op kind, refined where PostgreSQL behaves differently for
variants of it) to rows valid from a PostgreSQL major version on. Each row says which lock
the statement takes on the relation it works on (its *target*), which lock on a relation it
references (the parent table of a foreign key), and whether the target is rewritten (a new
relfilenode) or read in full (a sequential scan). :func:`effect` picks the behaviour for an
op; it is the only code here. Every behaviour is checked against a real server by
``tests/test_lock_model.py``.

Lock names are ``pg_locks.mode`` names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migsafe import ops, versioned

if TYPE_CHECKING:
    from migsafe.schema import Schema

ACCESS_SHARE = "AccessShareLock"
ROW_SHARE = "RowShareLock"
ROW_EXCLUSIVE = "RowExclusiveLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
EXCLUSIVE = "ExclusiveLock"
ACCESS_EXCLUSIVE = "AccessExclusiveLock"

LOCK_ORDER = (
    ACCESS_SHARE,
    ROW_SHARE,
    ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    EXCLUSIVE,
    ACCESS_EXCLUSIVE,
)
STRENGTH = {mode: i for i, mode in enumerate(LOCK_ORDER)}

# Locks that block ordinary writes (INSERT/UPDATE/DELETE take RowExclusiveLock).
BLOCKS_WRITES = frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE})
# Locks that also block plain SELECTs.
BLOCKS_READS = frozenset({ACCESS_EXCLUSIVE})

SUPPORTED_VERSIONS = range(11, 18)
DEFAULT_VERSION = 16


@dataclass(frozen=True, slots=True)
class Row:
    lock: str | None
    rewrite: bool = False
    scan: bool | None = False  # None: depends on the plan, not claimed
    referenced: str | None = None
    # Whether the referenced relation (the parent of a foreign key, the partition being
    # attached) is read in full; None: depends on the plan, not claimed.
    referenced_scan: bool | None = False


AE, SUE, SRE = ACCESS_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE

# behaviour -> ((from_version, row), ...) in ascending version order.
MODEL: dict[str, tuple[tuple[int, Row], ...]] = {
    "create_table": ((11, Row(None)),),
    "create_table.references": ((11, Row(None, referenced=SRE)),),
    "create_table.partition_of": ((11, Row(None, referenced=AE)),),
    "drop_table": ((11, Row(AE)),),
    "rename_table": ((11, Row(AE)),),
    "truncate": ((11, Row(AE, rewrite=True)),),
    "add_column": ((11, Row(AE)),),
    "add_column.not_null_no_default": ((11, Row(AE, scan=True)),),
    "add_column.volatile_default": ((11, Row(AE, rewrite=True, scan=True)),),
    "add_column.identity": ((11, Row(AE, rewrite=True, scan=True)),),
    "add_column.serial": ((11, Row(AE, rewrite=True, scan=True)),),
    "add_column.generated_stored": ((12, Row(AE, rewrite=True, scan=True)),),
    "drop_column": ((11, Row(AE)),),
    "rename_column": ((11, Row(AE)),),
    "alter_column_type": ((11, Row(AE, rewrite=True, scan=True)),),
    "alter_column_type.binary_coercible": ((11, Row(AE)),),
    "set_not_null": ((11, Row(AE, scan=True)),),
    "set_not_null.proven_by_check": ((11, Row(AE, scan=True)), (12, Row(AE))),
    "drop_not_null": ((11, Row(AE)),),
    "set_default": ((11, Row(AE)),),
    "drop_default": ((11, Row(AE)),),
    "add_constraint.check": ((11, Row(AE, scan=True)),),
    "add_constraint.check_not_valid": ((11, Row(AE)),),
    # The check is one query joining both tables: the referenced side is read by a seq scan
    # or through its unique index, as the planner likes.
    "add_constraint.foreign_key": (
        (11, Row(SRE, scan=True, referenced=SRE, referenced_scan=None)),
    ),
    "add_constraint.foreign_key_not_valid": ((11, Row(SRE, referenced=SRE)),),
    "add_constraint.unique": ((11, Row(AE, scan=True)),),
    "add_constraint.primary_key": ((11, Row(AE, scan=True)),),
    "add_constraint.using_index": ((11, Row(AE)),),
    "add_constraint.exclude": ((11, Row(AE, scan=True)),),
    "validate_constraint": ((11, Row(SUE, scan=True)),),
    "drop_constraint": ((11, Row(AE)),),
    "rename_constraint": ((11, Row(AE)),),
    # Removing the foreign key's triggers from the referenced table locks it exclusively too.
    "drop_constraint.foreign_key": ((11, Row(AE, referenced=AE)),),
    "create_index": ((11, Row(SHARE, scan=True)),),
    "create_index.concurrently": ((11, Row(SUE, scan=True)),),
    "create_index.only": ((11, Row(SHARE)),),
    "drop_index": ((11, Row(AE)),),
    "drop_index.concurrently": ((11, Row(SUE)),),
    "reindex.index": ((11, Row(AE, rewrite=True)),),
    "reindex.table": ((11, Row(SHARE, scan=True)),),
    "reindex.concurrently": ((12, Row(SUE, scan=True)),),
    # The table is read, not the index named; it is not named, so nothing is claimed for it.
    "reindex.index_concurrently": ((12, Row(SUE)),),
    "rename_index": ((11, Row(AE)), (12, Row(SUE))),
    "set_storage_params": ((11, Row(SUE)),),
    "set_logged": ((11, Row(AE, rewrite=True, scan=True)),),
    "set_tablespace": ((11, Row(AE, rewrite=True)),),
    "cluster": ((11, Row(AE, rewrite=True, scan=None)),),
    "vacuum": ((11, Row(SUE, scan=None)),),
    "vacuum.full": ((11, Row(AE, rewrite=True, scan=True)),),
    # The partition (referenced) is scanned to check the partition constraint; the parent has
    # no storage of its own.
    "attach_partition": (
        (11, Row(AE, referenced=AE, referenced_scan=True)),
        (12, Row(SUE, referenced=AE, referenced_scan=True)),
    ),
    "detach_partition": ((11, Row(AE, referenced=AE)),),
    # Its second transaction takes ACCESS EXCLUSIVE on the partition.
    "detach_partition.concurrently": ((14, Row(SUE, referenced=AE)),),
    "create_trigger": ((11, Row(SRE)),),
    "create_policy": ((11, Row(AE)),),
    "refresh_materialized_view": ((11, Row(AE, rewrite=True, scan=None)),),
    "refresh_materialized_view.concurrently": ((11, Row(EXCLUSIVE, scan=None)),),
    "comment": ((11, Row(SUE)),),
    "lock_table": ((11, Row(None)),),
    "insert": ((11, Row(ROW_EXCLUSIVE)),),
    # INSERT ... SELECT reads whatever its query reads, the target table included.
    "insert.from_query": ((11, Row(ROW_EXCLUSIVE, scan=None)),),
    "update": ((11, Row(ROW_EXCLUSIVE, scan=True)),),
    "update.where": ((11, Row(ROW_EXCLUSIVE, scan=None)),),
    "delete": ((11, Row(ROW_EXCLUSIVE, scan=True)),),
    "delete.where": ((11, Row(ROW_EXCLUSIVE, scan=None)),),
    "drop_object.relation": ((11, Row(AE)),),
    "drop_object.trigger": ((11, Row(AE)),),
    "drop_object.policy": ((11, Row(AE)),),
    "alter_table.other": ((11, Row(AE)),),
    "alter_table.EnableReplicaTrig": ((11, Row(SRE)),),
    "alter_table.EnableAlwaysTrig": ((11, Row(SRE)),),
    "alter_table.AddInherit": ((11, Row(AE, referenced=SUE)),),
    "alter_table.DropInherit": ((11, Row(AE, referenced=ACCESS_SHARE)),),
    "alter_index.other": ((11, Row(AE)),),
    "alter_index.SetRelOptions": ((11, Row(SUE)),),
    "alter_index.ResetRelOptions": ((11, Row(SUE)),),
    "alter_table.EnableTrig": ((11, Row(SRE)),),
    "alter_table.DisableTrig": ((11, Row(SRE)),),
    "alter_table.EnableTrigAll": ((11, Row(SRE)),),
    "alter_table.DisableTrigAll": ((11, Row(SRE)),),
    "alter_table.EnableTrigUser": ((11, Row(SRE)),),
    "alter_table.DisableTrigUser": ((11, Row(SRE)),),
    "alter_table.EnableRowSecurity": ((11, Row(AE)),),
    "alter_table.DisableRowSecurity": ((11, Row(AE)),),
    "alter_table.ForceRowSecurity": ((11, Row(AE)),),
    "alter_table.ChangeOwner": ((11, Row(AE)),),
    "alter_table.SetStatistics": ((11, Row(SUE)),),
    "alter_table.SetStorage": ((11, Row(AE)),),
    "alter_table.ClusterOn": ((11, Row(SUE)),),
    "alter_table.DropCluster": ((11, Row(SUE)),),
    "alter_table.ReplicaIdentity": ((11, Row(AE)),),
    "alter_table.AddIdentity": ((11, Row(AE)),),
    "alter_table.DropIdentity": ((11, Row(AE)),),
    "alter_table.SetOptions": ((11, Row(SUE)),),
    "alter_table.RenameView": ((11, Row(AE)),),
    "alter_table.RenameSequence": ((11, Row(AE)),),
}

# Type changes PostgreSQL makes without touching the data: binary-coercible casts between
# different types, keyed (old, new) by internal name. Within one type, the types whose length
# or precision can grow for free are listed with how to compare their modifiers.
_COERCIBLE_TYPES = frozenset(
    {
        ("varchar", "text"),
        ("text", "varchar"),
        ("cidr", "inet"),
    }
)
_GROWS_FREELY = frozenset({"varchar", "varbit"})
_PRECISION_GROWS_FREELY = frozenset({"timestamp", "timestamptz", "time", "timetz", "interval"})


@dataclass(frozen=True, slots=True)
class Effect:
    """What one op does. ``locks`` names relations as the statement wrote them."""

    behaviour: str
    locks: dict[str, str] = field(default_factory=dict)
    rewrites: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()
    unclaimed_scans: tuple[str, ...] = ()


def row_for(behaviour: str, version: int) -> Row:
    return versioned.as_of(MODEL[behaviour], version)


def available(behaviour: str, version: int) -> bool:
    return version >= MODEL[behaviour][0][0]


def type_change_rewrites(old: ops.TypeRef | None, new: ops.TypeRef) -> bool:
    """Whether changing a column from ``old`` to ``new`` rewrites the table. Unknown ``old``
    (a table migsafe has not seen created) is assumed to rewrite: the safe answer.

    char(n) and bit(n) always rewrite (values are stored padded to the length), as does any
    change to a different type that is not binary coercible; each pair is checked against a
    server by tests/test_lock_model.py.
    """
    if old is None or old.array != new.array:
        return True
    if old.name != new.name:
        return (old.name, new.name) not in _COERCIBLE_TYPES or (
            new.name == "varchar" and bool(new.mods)
        )
    if old.mods == new.mods:
        return False
    if old.name in _GROWS_FREELY:
        return bool(new.mods) and (not old.mods or new.mods[0] < old.mods[0])
    if old.name in _PRECISION_GROWS_FREELY:
        return (new.mods[0] if new.mods else 6) < (old.mods[0] if old.mods else 6)
    if old.name == "numeric":
        if not new.mods:
            return False
        if not old.mods:
            return True
        old_scale = old.mods[1] if len(old.mods) > 1 else 0
        new_scale = new.mods[1] if len(new.mods) > 1 else 0
        return new_scale != old_scale or new.mods[0] < old.mods[0]
    return True


# -- narrowing ---------------------------------------------------------------------------------

_STRING_TYPES = frozenset({"text", "varchar", "bpchar", "citext"})
# Decimal digits left of the point each integer type can hold: log10 of its maximum.
_INTEGER_DIGITS = {
    name: math.log10(2 ** (bits - 1) - 1)
    for name, bits in (("int2", 16), ("int4", 32), ("int8", 64))
}
_TIME_PARTS = {
    "timestamptz": frozenset({"date", "time", "zone"}),
    "timestamp": frozenset({"date", "time"}),
    "date": frozenset({"date"}),
    "timetz": frozenset({"time", "zone"}),
    "time": frozenset({"time"}),
}
_DEFAULT_TIME_PRECISION = 6


def _length_limit(t: ops.TypeRef) -> float:
    return t.mods[0] if t.name in ("varchar", "bpchar") and t.mods else math.inf


def _string_narrows(old: ops.TypeRef, new: ops.TypeRef) -> bool:
    both = old.name in _STRING_TYPES and new.name in _STRING_TYPES
    return both and _length_limit(new) < _length_limit(old)


def _digits(t: ops.TypeRef) -> tuple[float, float] | None:
    """Integers and numerics are compared by the digits they hold on each side of the
    point, so that int4 → numeric(9, 0) counts as narrowing (2147483647 has ten digits)."""
    if t.name in _INTEGER_DIGITS:
        return _INTEGER_DIGITS[t.name], 0
    if t.name != "numeric":
        return None
    if not t.mods:
        return math.inf, math.inf
    precision, scale = t.mods[0], t.mods[1] if len(t.mods) > 1 else 0
    return precision - scale, scale


def _number_narrows(old: ops.TypeRef, new: ops.TypeRef) -> bool:
    before, after = _digits(old), _digits(new)
    if before is None or after is None:
        return False
    return after[0] < before[0] or after[1] < before[1]


def _time_precision(t: ops.TypeRef) -> int:
    return t.mods[0] if t.mods else _DEFAULT_TIME_PRECISION


def _time_narrows(old: ops.TypeRef, new: ops.TypeRef) -> bool:
    before, after = _TIME_PARTS.get(old.name), _TIME_PARTS.get(new.name)
    if before is None or after is None:
        return False
    if not before <= after:
        return True
    has_time = "time" in before
    return has_time and _time_precision(new) < _time_precision(old)


_NARROWING: tuple[Callable[[ops.TypeRef, ops.TypeRef], bool], ...] = (
    _string_narrows,
    _number_narrows,
    _time_narrows,
)


def type_change_narrows(old: ops.TypeRef, new: ops.TypeRef) -> bool:
    """Whether some value of ``old`` cannot be stored in ``new`` without loss. The
    column-type-narrowing rule and the compatibility check (:mod:`migsafe.compat`) both ask,
    so a running release's values are judged by one definition."""
    return old.array == new.array and any(check(old, new) for check in _NARROWING)


def _behaviour(op: ops.Op, schema: Schema | None) -> str | None:
    match op:
        case ops.CreateTable():
            if op.partition_of:
                return "create_table.partition_of"
            refs = [c for c in op.constraints if c.kind == "foreign_key"] + [
                c for col in op.columns for c in col.constraints if c.kind == "foreign_key"
            ]
            return "create_table.references" if refs else "create_table"
        case ops.AddColumn(column=col):
            if col.identity:
                return "add_column.identity"
            if col.serial:
                return "add_column.serial"
            if col.generated_stored:
                return "add_column.generated_stored"
            if col.default is not None and col.default.volatile:
                return "add_column.volatile_default"
            if col.not_null and col.default is None:
                return "add_column.not_null_no_default"
            return "add_column"
        case ops.AlterColumnType():
            if op.using is None and schema is not None:
                old = schema.column_type(op.table, op.column)
                if not type_change_rewrites(old, op.type):
                    return "alter_column_type.binary_coercible"
            return "alter_column_type"
        case ops.SetNotNull():
            if schema is not None and schema.not_null_proven(op.table, op.column):
                return "set_not_null.proven_by_check"
            return "set_not_null"
        case ops.AddConstraint(constraint=c):
            if c.using_index:
                return "add_constraint.using_index"
            if c.kind in ("check", "foreign_key") and c.not_valid:
                return f"add_constraint.{c.kind}_not_valid"
            return f"add_constraint.{c.kind}"
        case ops.CreateIndex():
            if op.only:
                return "create_index.only"
            return "create_index.concurrently" if op.concurrently else "create_index"
        case ops.DropIndex():
            return "drop_index.concurrently" if op.concurrently else "drop_index"
        case ops.Reindex():
            if op.concurrently:
                return (
                    "reindex.index_concurrently" if op.target == "index" else "reindex.concurrently"
                )
            return "reindex.index" if op.target == "index" else "reindex.table"
        case ops.Vacuum():
            return "vacuum.full" if op.full else "vacuum"
        case ops.DetachPartition():
            return "detach_partition.concurrently" if op.concurrently else "detach_partition"
        case ops.RefreshMaterializedView():
            return (
                "refresh_materialized_view.concurrently"
                if op.concurrently
                else "refresh_materialized_view"
            )
        case ops.DropConstraint():
            return "drop_constraint.foreign_key" if _dropped_reference(op, schema) else op.kind
        case ops.Insert():
            return "insert.from_query" if op.from_query else "insert"
        case ops.Update() | ops.Delete():
            return f"{op.kind}.where" if op.has_where else op.kind
        case ops.DropObject():
            if op.object_kind in ("view", "matview", "sequence", "foreign_table"):
                return "drop_object.relation"
            if op.object_kind in ("trigger", "policy"):
                return f"drop_object.{op.object_kind}"
            return None
        case ops.AlterTableOther():
            # A sub-command the model does not list takes ALTER TABLE's default lock.
            kind, _, subcommand = op.subcommand.rpartition(":")
            family = "alter_index" if kind == "index" else "alter_table"
            key = f"{family}.{subcommand.removeprefix('AT_')}"
            return key if key in MODEL else f"{family}.other"
        case ops.Comment():
            return "comment" if op.table else None
        case ops.SetLogged():
            return "set_logged"
        case ops.LockTable():
            return "lock_table"
    return op.kind if op.kind in MODEL else None


def _dropped_reference(op: ops.DropConstraint, schema: Schema | None) -> str | None:
    """The table a dropped constraint references, when the schema knows it as a foreign key."""
    c = schema.constraint(op.table, op.name) if schema is not None else None
    return c.ref_table if c is not None and c.kind == "foreign_key" else None


def _targets(op: ops.Op, schema: Schema | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(relations the op works on, relations it references), as written (a dropped foreign
    key's referenced table as the schema model knows it)."""
    match op:
        case ops.CreateTable():
            if op.partition_of:
                return (), (op.partition_of,)
            refs = [c.ref_table for c in op.constraints if c.ref_table] + [
                c.ref_table for col in op.columns for c in col.constraints if c.ref_table
            ]
            return (), tuple(dict.fromkeys(refs))
        case ops.AddConstraint(constraint=c):
            return (op.table,), ((c.ref_table,) if c.ref_table else ())
        case ops.DropTable() | ops.Truncate() | ops.LockTable():
            return op.tables, ()
        case ops.Vacuum():
            return op.tables, ()
        case ops.DropIndex():
            return op.indexes, ()
        case ops.Reindex():
            return ((op.name,) if op.target in ("index", "table") else ()), ()
        case ops.RenameIndex():
            return (op.index,), ()
        case ops.RefreshMaterializedView():
            return (op.view,), ()
        case ops.DropObject():
            if op.table:
                return (op.table,), ()
            return op.names, ()
        case ops.AttachPartition() | ops.DetachPartition():
            return (op.table,), (op.partition,)
        case ops.AlterTableOther(referenced=str() as parent):
            return (op.table,), (parent,)
        case ops.Cluster():
            return ((op.table,) if op.table else ()), ()
        case ops.DropConstraint():
            ref = _dropped_reference(op, schema)
            return (op.table,), ((ref,) if ref else ())
    table = getattr(op, "table", None)
    return ((table,) if isinstance(table, str) and table else ()), ()


def effect(op: ops.Op, version: int = DEFAULT_VERSION, schema: Schema | None = None) -> Effect:
    """The locks, rewrites and scans of one op on the given PostgreSQL major version.

    ``schema`` (the schema before the op) sharpens two answers: whether a type change is
    binary coercible, and whether SET NOT NULL is proven by a validated CHECK (PG >= 12).
    """
    behaviour = _behaviour(op, schema)
    if behaviour is None:
        return Effect(behaviour=op.kind)
    row = row_for(behaviour, version)
    targets, referenced = _targets(op, schema)
    lock = row.lock
    if isinstance(op, ops.LockTable):
        lock = op.mode
    locks: dict[str, str] = {}
    if lock:
        for t in targets:
            locks[t] = lock
    if row.referenced:
        for r in referenced:
            locks[r] = row.referenced
    scans = (targets if row.scan else ()) + (referenced if row.referenced_scan else ())
    unclaimed = (targets if row.scan is None else ()) + (
        referenced if row.referenced_scan is None else ()
    )
    return Effect(
        behaviour=behaviour,
        locks=locks,
        rewrites=targets if row.rewrite else (),
        scans=scans,
        unclaimed_scans=unclaimed,
    )


def stronger(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if STRENGTH[a] >= STRENGTH[b] else b


def combine(effects: Iterable[Effect]) -> Effect:
    """The effect of a whole statement: strongest lock per relation, union of the rest."""
    locks: dict[str, str] = {}
    rewrites: list[str] = []
    scans: list[str] = []
    unclaimed: list[str] = []
    behaviours: list[str] = []
    for e in effects:
        behaviours.append(e.behaviour)
        for rel, mode in e.locks.items():
            locks[rel] = stronger(locks.get(rel), mode) or mode
        rewrites.extend(r for r in e.rewrites if r not in rewrites)
        scans.extend(s for s in e.scans if s not in scans)
        unclaimed.extend(s for s in e.unclaimed_scans if s not in unclaimed)
    return Effect(
        behaviour="+".join(behaviours),
        locks=locks,
        rewrites=tuple(rewrites),
        scans=tuple(scans),
        unclaimed_scans=tuple(unclaimed),
    )
