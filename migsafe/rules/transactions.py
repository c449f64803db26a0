"""Transaction rules: statements whose meaning depends on the transaction they run in.

A migration runs in a transaction either because it says BEGIN or because its tool wraps it
in one; PostgreSQL refuses some statements there, and holds every lock to the end of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe import locks, ops
from migsafe.findings import Severity
from migsafe.ops import Statement, bare
from migsafe.rules import POSTGRESQL, Violation, quoted, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context


def _is_begin(statement: Statement) -> bool:
    first = statement.ops[0]
    return isinstance(first, ops.Transaction) and first.action == "begin"


def _concurrent_label(op: ops.Op) -> str | None:
    match op:
        case ops.CreateIndex(concurrently=True):
            return f"CREATE INDEX CONCURRENTLY on {quoted(op.table)}"
        case ops.DropIndex(concurrently=True):
            return f"DROP INDEX CONCURRENTLY {', '.join(map(quoted, op.indexes))}"
        case ops.Reindex(concurrently=True):
            return f"REINDEX CONCURRENTLY of {quoted(op.name)}"
        case ops.DetachPartition(concurrently=True):
            return f"DETACH PARTITION {quoted(op.partition)} CONCURRENTLY"
    return None


def _which_transaction(ctx: Context) -> str:
    if ctx.explicit_transaction:
        return "a transaction opened with BEGIN"
    return "the transaction the migration tool wraps around this migration"


@rule(
    "concurrently-in-transaction",
    Severity.ERROR,
    "CONCURRENTLY operations cannot run inside a transaction block.",
    "Put the statement in a migration of its own that runs outside any transaction: drop "
    "BEGIN/COMMIT around it and turn off the tool's transaction for that migration (dbmate "
    "`-- migrate:up transaction:false`, diesel `run_in_transaction = false`, Flyway "
    "`executeInTransaction=false`).",
    dialects=POSTGRESQL,
)
def concurrently_in_transaction(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    label = _concurrent_label(op)
    if label is None or not ctx.in_transaction:
        return
    yield Violation(
        f"{label} runs inside {_which_transaction(ctx)}, where PostgreSQL refuses it with "
        '"cannot run inside a transaction block"'
    )


def _added_not_valid(ctx: Context, op: ops.ValidateConstraint) -> ops.AddConstraint | None:
    for statement in (*ctx.earlier, ctx.statement):
        for o in statement.ops:
            if (
                isinstance(o, ops.AddConstraint)
                and o.constraint.not_valid
                and o.constraint.name == op.name
                and bare(o.table) == bare(op.table)
            ):
                return o
    return None


@rule(
    "validate-in-same-transaction",
    Severity.ERROR,
    "VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID keeps its lock.",
    "Commit after ADD CONSTRAINT ... NOT VALID and run VALIDATE CONSTRAINT in a separate "
    "transaction (or the next migration): on its own it takes only a ShareUpdateExclusiveLock, "
    "which lets reads and writes continue during the scan.",
    dialects=POSTGRESQL,
)
def validate_in_same_transaction(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.ValidateConstraint) or ctx.is_new(op.table):
        return
    added = _added_not_valid(ctx, op)
    if added is None:
        return
    mode = locks.effect(added, ctx.pg_version).locks.get(added.table, locks.ACCESS_EXCLUSIVE)
    yield Violation(
        f"VALIDATE CONSTRAINT {quoted(op.name)} on {quoted(op.table)} runs in the transaction that "
        f"added it NOT VALID on line {added.span.line}, so the {mode} taken there stays held "
        "through the validating scan"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_use(ctx: Context, value: str) -> Statement | None:
    return next((st for st in ctx.later if _literal(value) in st.sql), None)


@rule(
    "enum-value-in-transaction",
    Severity.WARNING,
    "ALTER TYPE ... ADD VALUE inside a transaction fails before PostgreSQL 12, and the new "
    "value is unusable until commit.",
    "Run ALTER TYPE ... ADD VALUE in a migration of its own outside any transaction (or commit "
    "right after it), and use the new value only in a later migration.",
    dialects=POSTGRESQL,
)
def enum_value_in_transaction(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AddEnumValue) or not ctx.in_transaction:
        return
    added = f"Adding {_literal(op.value)} to enum {quoted(op.type_name)}"
    if ctx.pg_version < 12:
        yield Violation(
            f"{added} inside {_which_transaction(ctx)} fails on PostgreSQL {ctx.pg_version}, "
            "which cannot run ALTER TYPE ... ADD VALUE in a transaction block"
        )
        return
    user = _first_use(ctx, op.value)
    if user is None:
        # From PostgreSQL 12 on, adding the value in a transaction is fine as long as nothing
        # in the same transaction uses it.
        return
    yield Violation(
        f"{added} inside {_which_transaction(ctx)} makes the statement on line "
        f'{user.span.line} that uses it fail with "unsafe use of new value", because a new '
        "enum value cannot be used before its transaction commits"
    )


def _ends(statement: Statement) -> bool:
    first = statement.ops[0]
    return isinstance(first, ops.Transaction) and first.action in ("commit", "rollback")


def _tool_transaction_open(ctx: Context) -> bool:
    """Whether the transaction the tool wraps around the migration is still open here: a
    COMMIT or ROLLBACK earlier in the migration has already ended it."""
    if ctx.in_transaction and not ctx.explicit_transaction:
        return True
    return ctx.wrapped and not any(_ends(st) for st in ctx.statements[: ctx.index])


def _nested_begin(ctx: Context) -> str | None:
    opened = next((st for st in ctx.earlier if _is_begin(st)), None)
    if opened is not None:
        return (
            f"BEGIN inside the transaction opened on line {opened.span.line} is ignored by "
            "PostgreSQL with a warning, so the first COMMIT ends the outer transaction too"
        )
    if ctx.earlier or _tool_transaction_open(ctx):
        return (
            "BEGIN inside the transaction the migration tool wraps around this migration is "
            "ignored by PostgreSQL, so the COMMIT that follows ends the tool's transaction early"
        )
    return None


@rule(
    "transaction-nesting",
    Severity.WARNING,
    "BEGIN inside an open transaction, or COMMIT/ROLLBACK in a migration the tool wraps.",
    "Let one party own the transaction: either drop BEGIN/COMMIT from the migration and let "
    "the tool wrap it, or turn the tool's transaction off for this migration and keep yours.",
)
def transaction_nesting(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.Transaction):
        return
    if op.action == "begin":
        message = _nested_begin(ctx)
        if message is not None:
            yield Violation(message)
    elif op.action in ("commit", "rollback") and _tool_transaction_open(ctx):
        effect = (
            "commits the tool's transaction early, so the statements after it run outside it"
            if op.action == "commit"
            else "undoes the tool's transaction early, and the statements after it still run"
        )
        yield Violation(
            f"{op.action.upper()} in a migration the tool runs inside a transaction {effect}"
        )
