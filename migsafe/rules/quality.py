"""Habits that cost later: slow deletes on a parent table, migrations that cannot be re-run,
and statements migsafe cannot vouch for."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migsafe import ops
from migsafe.findings import Edit, Fix, Severity
from migsafe.ops import Op, bare
from migsafe.rules import POSTGRESQL, Violation, rule
from migsafe.rules.destructive import object_kind_name

if TYPE_CHECKING:
    from migsafe.analysis import Context

WARNING = Severity.WARNING

# -- foreign-key-without-index ----------------------------------------------------------------

_KEY_KINDS = ("primary_key", "unique")


def _foreign_keys(op: Op) -> Iterator[tuple[str, ops.ConstraintDef]]:
    match op:
        case ops.CreateTable():
            inline = (c for col in op.columns for c in col.constraints)
            for c in (*inline, *op.constraints):
                if c.kind == "foreign_key":
                    yield op.table, c
        case ops.AddConstraint(constraint=c) if c.kind == "foreign_key":
            yield op.table, c


def _own_keys(op: Op) -> Iterator[tuple[str, ...]]:
    """A new table's primary key and unique constraints, which the schema has not seen yet."""
    if isinstance(op, ops.CreateTable):
        inline = (c for col in op.columns for c in col.constraints)
        for c in (*inline, *op.constraints):
            if c.kind in _KEY_KINDS:
                yield c.columns


def _indexes_to_come(table: str, ctx: Context) -> Iterator[tuple[str, ...]]:
    """An index built later in the same migration is in place before the application
    can delete parents at scale, so the key is covered."""
    for st in (ctx.statement, *ctx.rest_of_migration):
        for later in st.ops:
            if isinstance(later, ops.CreateIndex) and bare(later.table) == bare(table):
                yield later.columns
            elif (
                isinstance(later, ops.AddConstraint)
                and later.constraint.kind in _KEY_KINDS
                and bare(later.table) == bare(table)
            ):
                yield later.constraint.columns


def _leads(index: tuple[str, ...], columns: tuple[str, ...]) -> bool:
    """Lookups by the key's columns can use the index whatever the order of those columns."""
    return set(index[: len(columns)]) == set(columns)


def _indexed(table: str, columns: tuple[str, ...], op: Op, ctx: Context) -> bool:
    if ctx.schema.has_index_on(table, columns):
        return True
    candidates: Iterable[tuple[str, ...]] = (*_own_keys(op), *_indexes_to_come(table, ctx))
    return any(_leads(index, columns) for index in candidates)


@rule(
    "foreign-key-without-index",
    WARNING,
    "foreign key whose columns no index on the referencing table starts with",
    "Create an index whose leading columns are the foreign key's columns (on an existing "
    "table with CREATE INDEX CONCURRENTLY), in the same migration or an earlier one.",
    dialects=POSTGRESQL,
)
def foreign_key_without_index(op: Op, ctx: Context) -> Iterator[Violation]:
    for table, fk in _foreign_keys(op):
        if fk.columns and not _indexed(table, fk.columns, op, ctx):
            columns = ", ".join(fk.columns)
            yield Violation(
                f"Foreign key {table}({columns}) references {fk.ref_table} but no index on "
                f"{table} starts with ({columns}): every delete or key update on "
                f"{fk.ref_table} scans {table}.",
                span=fk.span,
            )


# -- prefer-robust-statements -----------------------------------------------------------------

_IF_NOT_EXISTS = "IF NOT EXISTS"
_IF_EXISTS = "IF EXISTS"


@dataclass(frozen=True, slots=True)
class _Guard:
    """A statement that fails when run twice, and where its missing clause goes."""

    what: str
    clause: str
    # File offset the clause is inserted at; None when it cannot be placed mechanically.
    offset: int | None


def _after_prefix(pattern: str, ctx: Context) -> int | None:
    m = re.match(pattern, ctx.statement.sql, re.I)
    return ctx.statement.span.start + m.end() if m else None


def _before_name(keyword: str, name: str, ctx: Context) -> int | None:
    """ALTER TABLE sub-commands carry no span of their own: the clause goes before the name
    only when exactly one ``<keyword> name`` in the statement can be meant."""
    pattern = rf'\b{keyword}\s+(?="?{re.escape(name)}"?(?:[\s,;]|$))'
    found = list(re.finditer(pattern, ctx.statement.sql, re.I))
    return ctx.statement.span.start + found[0].end() if len(found) == 1 else None


def _drop_prefix(kind: str) -> str:
    return r"DROP\s+" + r"\s+".join(object_kind_name(kind).split()) + r"\s+"


def _unguarded(op: Op, ctx: Context) -> _Guard | None:
    match op:
        case ops.CreateTable(if_not_exists=False):
            prefix = r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
            return _Guard(f"CREATE TABLE {op.table}", _IF_NOT_EXISTS, _after_prefix(prefix, ctx))
        case ops.CreateIndex(if_not_exists=False, name=str(name)):
            prefix = r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?"
            return _Guard(f"CREATE INDEX {name}", _IF_NOT_EXISTS, _after_prefix(prefix, ctx))
        case ops.AddColumn(if_not_exists=False, column=col):
            return _Guard(f"ADD COLUMN {op.table}.{col.name}", _IF_NOT_EXISTS, col.span.start)
        case ops.DropTable(if_exists=False):
            what = f"DROP TABLE {', '.join(op.tables)}"
            return _Guard(what, _IF_EXISTS, _after_prefix(r"DROP\s+TABLE\s+", ctx))
        case ops.DropIndex(if_exists=False):
            prefix = r"DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?"
            what = f"DROP INDEX {', '.join(op.indexes)}"
            return _Guard(what, _IF_EXISTS, _after_prefix(prefix, ctx))
        case ops.DropSchema(if_exists=False):
            what = f"DROP SCHEMA {', '.join(op.names)}"
            return _Guard(what, _IF_EXISTS, _after_prefix(r"DROP\s+SCHEMA\s+", ctx))
        case ops.DropObject(if_exists=False):
            what = f"DROP {object_kind_name(op.object_kind).upper()} {', '.join(op.names)}"
            return _Guard(what, _IF_EXISTS, _after_prefix(_drop_prefix(op.object_kind), ctx))
        case ops.DropColumn(if_exists=False):
            offset = _before_name(r"DROP(?:\s+COLUMN)?", op.column, ctx)
            return _Guard(f"DROP COLUMN {op.table}.{op.column}", _IF_EXISTS, offset)
        case ops.DropConstraint(if_exists=False):
            offset = _before_name(r"DROP\s+CONSTRAINT", op.name, ctx)
            return _Guard(f"DROP CONSTRAINT {op.name} on {op.table}", _IF_EXISTS, offset)
    return None


def _insert_clause(guard: _Guard, ctx: Context) -> Fix | None:
    if guard.offset is None:
        return None
    span = ctx.source.span(guard.offset, guard.offset)
    return Fix(f"Add {guard.clause}", (Edit(span, f"{guard.clause} "),))


@rule(
    "prefer-robust-statements",
    WARNING,
    "statement that fails when a half-applied non-transactional migration is re-run",
    "Add IF NOT EXISTS to CREATE TABLE, CREATE INDEX and ADD COLUMN, and IF EXISTS to DROP, "
    "so the migration can simply be run again after failing part-way. After a failed "
    "CREATE INDEX CONCURRENTLY, drop the invalid index it left behind before re-running: "
    "IF NOT EXISTS would keep it.",
    dialects=POSTGRESQL,
)
def prefer_robust_statements(op: Op, ctx: Context) -> Iterator[Violation]:
    if ctx.in_transaction:
        return
    guard = _unguarded(op, ctx)
    if guard is not None:
        yield Violation(
            f"{guard.what} has no {guard.clause}, so re-running this migration after a "
            "partial failure stops at it.",
            fix=_insert_clause(guard, ctx),
        )


# -- unknown-statement ------------------------------------------------------------------------


@rule(
    "unknown-statement",
    WARNING,
    "statement migsafe has no model for",
    "Check by hand which locks the statement takes and for how long, then silence the "
    "finding with -- migsafe:ignore unknown-statement.",
    default_enabled=False,
)
def unknown_statement(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.Unknown):
        yield Violation(
            f"{op.statement}: migsafe has no model for this statement; check its locks by hand."
        )
    elif isinstance(op, ops.AlterTableOther) and ctx.effect.behaviour.endswith(".other"):
        yield Violation(
            f"{op.subcommand}: migsafe has no model for this ALTER sub-command and assumes "
            "ALTER TABLE's default AccessExclusiveLock; check its locks by hand."
        )
