"""Locking rules: statements that hold a lock long enough to stall the application.

Every lock that conflicts with reads or writes queues the application's queries behind it, so
what matters is how long it is held: a table rewrite, a full scan or an index build turns a
catalog change of milliseconds into minutes of downtime. Tables created in the same migration
are exempt: nothing else can be using them yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe import locks, ops
from migsafe.findings import Edit, Fix, Severity
from migsafe.ops import Statement, bare
from migsafe.rules import Violation, quoted, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context

_CREATE_INDEX = re.compile(r"\ACREATE\s+(?:UNIQUE\s+)?INDEX\s+", re.I)
_DROP_INDEX = re.compile(r"\ADROP\s+INDEX\s+", re.I)
# Statements that take a strong lock and that PostgreSQL refuses in a transaction block.
_NO_TRANSACTION_BLOCK = re.compile(
    r"\A(?:VACUUM\b|CLUSTER\s*;?\s*\Z|REINDEX\s+(?:\([^)]*\)\s*)?(?:SCHEMA|DATABASE|SYSTEM)\b)",
    re.I,
)
_REINDEX = re.compile(r"\AREINDEX\s+(?:\([^)]*\)\s*)?(?:INDEX|TABLE|SCHEMA|DATABASE)\s+", re.I)


def _blocks(mode: str) -> str:
    return "blocks reads and writes" if mode in locks.BLOCKS_READS else "blocks writes"


def _table_of(ctx: Context, relation: str) -> str:
    """The table a relation belongs to: itself, or the table of a known index, so that an
    index on a table created in this migration counts as new too."""
    index = ctx.schema.indexes.get(bare(relation))
    return index.table if index else relation


def _on_new(ctx: Context, relation: str) -> bool:
    return ctx.is_new(_table_of(ctx, relation))


def _insert(ctx: Context, offset: int, text: str, description: str) -> Fix:
    """An insertion at ``offset`` characters into the current statement."""
    start = ctx.statement.span.start + offset
    span = ctx.source.span(start, start)
    return Fix(description, (Edit(span, text),))


def _add_concurrently(ctx: Context, keyword: re.Pattern[str]) -> Fix | None:
    """CONCURRENTLY cannot run in a transaction block, so inside one the fix would only
    trade this finding for a failing migration."""
    m = keyword.match(ctx.statement.sql)
    if m is None or ctx.in_transaction:
        return None
    return _insert(ctx, m.end(), "CONCURRENTLY ", "Add CONCURRENTLY")


@rule(
    "require-concurrent-index",
    Severity.ERROR,
    "CREATE INDEX without CONCURRENTLY on an existing table blocks writes while it builds.",
    "Use CREATE INDEX CONCURRENTLY, in a migration that does not run in a transaction.",
)
def require_concurrent_index(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.CreateIndex) or op.concurrently or op.only:
        return
    if ctx.is_new(op.table):
        return
    mode = ctx.effect.locks.get(op.table, locks.SHARE)
    table = ctx.schema.table(op.table)
    if table is not None and table.partitioned:
        yield Violation(
            f"CREATE INDEX on partitioned table {quoted(op.table)} builds the index on every "
            f"partition under {mode}, which {_blocks(mode)}; PostgreSQL cannot build it "
            "CONCURRENTLY on the parent",
            help="Create the index ON ONLY the parent (an invalid index, built on nothing), "
            "then CREATE INDEX CONCURRENTLY on each partition and ALTER INDEX <parent index> "
            "ATTACH PARTITION <partition index> for each; the parent index becomes valid "
            "once every partition's is attached.",
        )
        return
    yield Violation(
        f"CREATE INDEX on {quoted(op.table)} takes {mode} and {_blocks(mode)} while the index "
        "builds",
        fix=_add_concurrently(ctx, _CREATE_INDEX),
    )


@rule(
    "require-concurrent-index-drop",
    Severity.ERROR,
    "DROP INDEX without CONCURRENTLY takes an AccessExclusiveLock on the table.",
    "Use DROP INDEX CONCURRENTLY (one index per statement, no CASCADE), in a migration that "
    "does not run in a transaction.",
)
def require_concurrent_index_drop(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.DropIndex) or op.concurrently:
        return
    existing = [name for name in op.indexes if not _on_new(ctx, name)]
    if not existing:
        return
    mode = ctx.effect.locks.get(existing[0], locks.ACCESS_EXCLUSIVE)
    owner = _table_of(ctx, existing[0])
    table = f"its table {quoted(owner)}" if owner != existing[0] else "its table"
    single = len(op.indexes) == 1 and not op.cascade
    yield Violation(
        f"DROP INDEX {quoted(existing[0])} takes {mode} on the index and {table}, which "
        f"{_blocks(mode)} until it is dropped",
        fix=_add_concurrently(ctx, _DROP_INDEX) if single else None,
    )


@rule(
    "require-concurrent-reindex",
    Severity.ERROR,
    "REINDEX without CONCURRENTLY blocks writes to the table (and reads through the index).",
    "Use REINDEX ... CONCURRENTLY (PostgreSQL 12+), in a migration that does not run in a "
    "transaction.",
)
def require_concurrent_reindex(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.Reindex) or op.concurrently or op.target == "system":
        return
    if op.target in ("index", "table") and _on_new(ctx, op.name):
        return
    mode = ctx.effect.locks.get(op.name)
    held = f"takes {mode} and {_blocks(mode)}" if mode else "locks each table it rebuilds"
    message = f"REINDEX {op.target.upper()} {quoted(op.name)} {held} until the rebuild finishes"
    if ctx.pg_version < 12:
        yield Violation(
            message,
            help="REINDEX CONCURRENTLY needs PostgreSQL 12; on "
            f"{ctx.pg_version}, build a replacement with CREATE INDEX CONCURRENTLY, then drop "
            "the old index with DROP INDEX CONCURRENTLY and rename the new one.",
        )
        return
    yield Violation(message, fix=_add_concurrently(ctx, _REINDEX))


def _inline(ctx: Context, constraint: ops.ConstraintDef) -> bool:
    """A constraint written in an ADD COLUMN clause, where NOT VALID is not allowed."""
    return any(
        isinstance(o, ops.AddColumn) and constraint in o.column.constraints
        for o in ctx.statement.ops
    )


def _not_valid_fix(ctx: Context, constraint: ops.ConstraintDef) -> Fix | None:
    """Appending after a trailing comment would comment the keyword out."""
    text = ctx.migration.text[constraint.span.start : constraint.span.end]
    if _inline(ctx, constraint) or "--" in text or "/*" in text:
        return None
    return _insert(
        ctx, constraint.span.end - ctx.statement.span.start, " NOT VALID", "Add NOT VALID"
    )


@rule(
    "constraint-missing-not-valid",
    Severity.ERROR,
    "Adding a FOREIGN KEY or CHECK constraint to an existing table checks every row under lock.",
    "Add the constraint with NOT VALID (it then only checks new rows), commit, and run "
    "ALTER TABLE ... VALIDATE CONSTRAINT in a separate transaction: validation takes only a "
    "ShareUpdateExclusiveLock, which lets reads and writes continue.",
)
def constraint_missing_not_valid(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AddConstraint) or ctx.is_new(op.table):
        return
    c = op.constraint
    if c.kind not in ("foreign_key", "check") or c.not_valid:
        return
    kind = "FOREIGN KEY" if c.kind == "foreign_key" else "CHECK"
    label = f"{kind} constraint {quoted(c.name)}" if c.name else f"{kind} constraint"
    mode = ctx.effect.locks.get(op.table, locks.ACCESS_EXCLUSIVE)
    locked = quoted(op.table)
    if c.ref_table:
        locked += f" and {quoted(c.ref_table)}"
    help_text = None
    if _inline(ctx, c):
        help_text = (
            "NOT VALID cannot be written on a column constraint: add the column first, then "
            "ADD CONSTRAINT ... NOT VALID, and VALIDATE CONSTRAINT in a separate transaction."
        )
    yield Violation(
        f"Adding {label} to {quoted(op.table)} checks every existing row while holding {mode} on "
        f"{locked}, which {_blocks(mode)}",
        fix=_not_valid_fix(ctx, c),
        help=help_text,
    )


@rule(
    "unique-constraint-without-index",
    Severity.ERROR,
    "Adding a UNIQUE, PRIMARY KEY or EXCLUDE constraint builds its index under an "
    "AccessExclusiveLock.",
    "Build the index first with CREATE UNIQUE INDEX CONCURRENTLY, then attach it with "
    "ALTER TABLE ... ADD CONSTRAINT name UNIQUE (or PRIMARY KEY) USING INDEX index_name.",
)
def unique_constraint_without_index(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AddConstraint) or ctx.is_new(op.table):
        return
    c = op.constraint
    if c.kind not in ("unique", "primary_key", "exclude") or c.using_index:
        return
    kind = {"unique": "UNIQUE", "primary_key": "PRIMARY KEY", "exclude": "EXCLUDE"}[c.kind]
    mode = ctx.effect.locks.get(op.table, locks.ACCESS_EXCLUSIVE)
    help_text = None
    if c.kind == "exclude":
        help_text = (
            "An exclusion constraint cannot be attached from an existing index: add it while "
            "the table is new or small, or in a maintenance window."
        )
    yield Violation(
        f"Adding a {kind} constraint to {quoted(op.table)} builds its index while holding {mode}, "
        f"which {_blocks(mode)} for the whole build",
        help=help_text,
    )


@rule(
    "set-not-null-scan",
    Severity.ERROR,
    "SET NOT NULL scans the whole table under an AccessExclusiveLock.",
    "Add CHECK (col IS NOT NULL) NOT VALID, run VALIDATE CONSTRAINT in a separate transaction, "
    "then SET NOT NULL (PostgreSQL 12+ uses the validated check and skips the scan), and drop "
    "the check.",
)
def set_not_null_scan(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.SetNotNull) or ctx.is_new(op.table) or not ctx.effect.scans:
        return
    mode = ctx.effect.locks.get(op.table, locks.ACCESS_EXCLUSIVE)
    help_text = None
    if ctx.pg_version < 12:
        help_text = (
            f"PostgreSQL {ctx.pg_version} scans for SET NOT NULL even when a validated check "
            "proves it: keep a validated CHECK (col IS NOT NULL) constraint instead, or "
            "upgrade to 12+ first."
        )
    yield Violation(
        f"SET NOT NULL on {quoted(op.table)}.{quoted(op.column)} scans every row while holding "
        f"{mode}, which {_blocks(mode)}",
        help=help_text,
    )


@rule(
    "column-type-rewrite",
    Severity.ERROR,
    "Changing a column's type rewrites the table and its indexes under an AccessExclusiveLock.",
    "Add a column of the new type, backfill it in batches, switch the application to it, then "
    "drop the old column. To lengthen a varchar, widen it or change it to text: those need no "
    "rewrite.",
)
def column_type_rewrite(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AlterColumnType) or ctx.is_new(op.table) or not ctx.effect.rewrites:
        return
    old = ctx.schema.column_type(op.table, op.column)
    mode = ctx.effect.locks.get(op.table, locks.ACCESS_EXCLUSIVE)
    column = f"{quoted(op.table)}.{quoted(op.column)}"
    if old is None and op.using is None:
        # The column was created outside the migrations migsafe has read: the change is
        # free only if the old type is binary coercible to the new one, which it cannot see.
        message = (
            f"Changing {column} to {op.type} rewrites the table and its indexes while holding "
            f"{mode}, which {_blocks(mode)}, unless its current type (not seen in these "
            "migrations) converts without a rewrite, such as varchar to text"
        )
    else:
        change = f"from {old} to {op.type}" if old else f"to {op.type}"
        message = (
            f"Changing {column} {change} rewrites the table and its indexes while holding "
            f"{mode}, which {_blocks(mode)}"
        )
    yield Violation(message, span=op.type.span)


def _rewrite_cause(column: ops.Column) -> str:
    if column.identity:
        return "it is an identity column"
    if column.serial:
        return "it is a serial column"
    if column.generated_stored:
        return "it is a stored generated column"
    default = column.default.sql if column.default else "its default"
    return f"its default {default} is volatile and must be computed for every row"


@rule(
    "add-column-rewrite",
    Severity.ERROR,
    "ADD COLUMN with a volatile default, serial, identity or stored generated column rewrites "
    "the table.",
    "Add the column with no default (or a constant one), set the default for new rows with "
    "ALTER COLUMN ... SET DEFAULT, and backfill existing rows in batches.",
)
def add_column_rewrite(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AddColumn) or ctx.is_new(op.table) or not ctx.effect.rewrites:
        return
    mode = ctx.effect.locks.get(op.table, locks.ACCESS_EXCLUSIVE)
    yield Violation(
        f"Adding column {quoted(op.column.name)} to {quoted(op.table)} rewrites the table while "
        f"holding {mode} because {_rewrite_cause(op.column)}",
        span=op.column.span,
    )


def _rewrite_label(op: ops.Op) -> str | None:
    match op:
        case ops.Vacuum(full=True):
            return "VACUUM FULL"
        case ops.Cluster():
            return "CLUSTER"
        case ops.SetLogged(logged=True):
            return "SET LOGGED"
        case ops.SetLogged():
            return "SET UNLOGGED"
        case ops.SetTablespace():
            return "SET TABLESPACE"
    return None


@rule(
    "table-rewrite",
    Severity.ERROR,
    "VACUUM FULL, CLUSTER, SET LOGGED/UNLOGGED and SET TABLESPACE rewrite the whole table.",
    "Reclaim space or reorder rows online with pg_repack or pg_squeeze; to change logging or "
    "tablespace, copy into a new table in batches and swap it in.",
)
def table_rewrite(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    label = _rewrite_label(op)
    if label is None:
        return
    if not ctx.effect.rewrites:
        yield Violation(
            f"{label} without a table name rewrites every table it applies to, each under "
            f"{locks.ACCESS_EXCLUSIVE}, which blocks reads and writes"
        )
        return
    for table in ctx.effect.rewrites:
        if ctx.is_new(table):
            continue
        mode = ctx.effect.locks.get(table, locks.ACCESS_EXCLUSIVE)
        yield Violation(
            f"{label} rewrites all of {quoted(table)} while holding {mode}, which {_blocks(mode)}"
        )


@rule(
    "require-lock-timeout",
    Severity.WARNING,
    "A statement that takes a strong lock without lock_timeout can queue all traffic behind it.",
    "Run SET lock_timeout = '2s'; before the statement and retry the migration if it times "
    "out: a statement waiting for its lock makes every later query on the table wait too.",
)
def require_lock_timeout(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if op is not ctx.statement.ops[0] or ctx.lock_timeout():
        return
    blocking = [
        (relation, mode)
        for relation, mode in ctx.statement_effect.locks.items()
        if mode in locks.BLOCKS_WRITES and not _on_new(ctx, relation)
    ]
    if not blocking:
        return
    relation, mode = max(blocking, key=lambda pair: locks.STRENGTH[pair[1]])
    table = quoted(_table_of(ctx, relation))
    yield Violation(
        f"The statement takes {mode} on {quoted(relation)} with no lock_timeout set, so while it "
        f"waits for that lock every new query on {table} waits behind it",
        fix=_set_lock_timeout_before(ctx),
    )


def _set_lock_timeout_before(ctx: Context) -> Fix | None:
    """SET lock_timeout on a line of its own before the statement, indented like it when
    the statement starts its line. None where the SET would put a statement that PostgreSQL
    refuses in a transaction block into one: a file sent as one query string runs as one
    implicit transaction once it holds two statements."""
    if (
        ctx.migration.single_query
        and not ctx.in_transaction
        and _NO_TRANSACTION_BLOCK.match(ctx.statement.sql)
    ):
        return None
    start = ctx.statement.span.start
    text = ctx.migration.text
    line_start = text.rfind("\n", 0, start) + 1
    indent = text[line_start:start]
    setting = "SET lock_timeout = '2s';"
    if indent.strip():
        return _insert(ctx, 0, setting + " ", "Set lock_timeout before it")
    newline = "\r\n" if text[line_start:].split("\n", 1)[0].endswith("\r") else "\n"
    span = ctx.source.span(line_start, line_start)
    return Fix("Set lock_timeout before it", (Edit(span, f"{indent}{setting}{newline}"),))


def _slow_ops(statement: Statement, ctx: Context) -> str | None:
    """The data change or index build a statement does on a table others may be using."""
    for o in statement.ops:
        match o:
            case ops.Update() | ops.Delete() if not ctx.is_new(o.table):
                return f"{o.kind.upper()} on {quoted(o.table)}"
            case ops.Insert(from_query=True) if not ctx.is_new(o.table):
                return f"INSERT ... SELECT into {quoted(o.table)}"
            case ops.CreateIndex() if not ctx.is_new(o.table):
                return f"The index build on {quoted(o.table)}"
    return None


def _slow_work(ctx: Context) -> str | None:
    """What makes the statement slow, on a table someone else may be using."""
    work = _slow_ops(ctx.statement, ctx)
    if work is not None:
        return work
    for relation in ctx.statement_effect.rewrites:
        if not _on_new(ctx, relation):
            return f"The rewrite of {quoted(relation)}"
    for relation in ctx.statement_effect.scans:
        if not _on_new(ctx, relation):
            return f"The full scan of {quoted(relation)}"
    return None


@rule(
    "strong-lock-held",
    Severity.WARNING,
    "Slow work runs in a transaction that already holds a lock blocking writes.",
    "Commit right after the statement that takes the strong lock, and do the slow work in its "
    "own transaction: backfills in batches, indexes with CREATE INDEX CONCURRENTLY outside "
    "any transaction, constraints checked with VALIDATE CONSTRAINT.",
)
def strong_lock_held(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if op is not ctx.statement.ops[0] or not ctx.in_transaction or not ctx.held:
        return
    work = _slow_work(ctx)
    if work is None:
        return
    dropped = {
        bare(name) for st in ctx.earlier for o in st.ops if isinstance(o, ops.DropTable)
        for name in o.tables
    }  # fmt: skip
    held = [
        (relation, mode, statement)
        for relation, (mode, statement) in ctx.held.items()
        if mode in locks.BLOCKS_WRITES
        and not _on_new(ctx, relation)
        and bare(relation) not in dropped
    ]
    if not held:
        return
    # Name the lock on a table this statement works on, if one is held: that is the one
    # its slowness keeps in place for longest.
    touched = {bare(r) for r in ctx.statement_effect.locks}
    relation, mode, statement = max(
        held,
        key=lambda h: (bare(h[0]) in touched, locks.STRENGTH[h[1]], -h[2].span.start),
    )
    if any(statement.span.start < st.span.start and _slow_ops(st, ctx) for st in ctx.earlier):
        # Reported already, at the first slow statement after the lock was taken.
        return
    blocked = "reads and writes" if mode in locks.BLOCKS_READS else "writes"
    yield Violation(
        f"{work} runs while this transaction holds {mode} on {quoted(relation)} (taken on line "
        f"{statement.span.line}), so {blocked} on {quoted(relation)} wait until it commits"
    )
