"""Whether down migrations can run without losing data, and running them so that stays true.

A database downgrade is allowed only when every statement is of a kind that cannot destroy
data (adding things, dropping indexes, constraints, defaults, views …) or destroys only
objects that are empty by a fresh count. Everything else — a DO block or any statement the
parser does not model, an UPDATE, a type change, a table renamed or moved, a schema dropped —
refuses with the statement named, and so does a count that fails: what cannot be counted
cannot be shown to be empty.

The counts are taken twice: once when the plan is made (before the operator confirms), and
again inside the downgrade's transaction, under ``ACCESS EXCLUSIVE`` locks on every table
counted, right before the statement that needs them. Rows written while the operator read
the prompt therefore stop the downgrade instead of being dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migsafe import ops

if TYPE_CHECKING:
    from migsafe.sources import Migration

# DROP <kind> of these removes no stored data; without CASCADE it fails when something
# (a column of that type, a view on the view) still depends on it.
_HARMLESS_DROPS = frozenset(
    {
        "view", "materialized_view", "function", "procedure", "routine", "aggregate",
        "trigger", "policy", "rule", "type", "domain", "operator", "cast", "collation",
        "conversion", "statistic_ext", "publication", "event_trigger",
    }
)  # fmt: skip

# Ops that change definitions only: no row or value is removed or rewritten by them.
_HARMLESS: tuple[type[ops.Op], ...] = (
    ops.CreateTable, ops.AddColumn, ops.RenameColumn, ops.SetNotNull, ops.DropNotNull,
    ops.SetDefault, ops.DropDefault, ops.AddConstraint, ops.RenameConstraint,
    ops.ValidateConstraint, ops.DropConstraint, ops.RenameIndex, ops.SetStorageParams,
    ops.SetLogged, ops.SetTablespace, ops.Cluster, ops.AttachPartition, ops.AlterTableOther,
    ops.CreateTrigger, ops.CreatePolicy, ops.Comment, ops.CreateEnum, ops.AddEnumValue,
    ops.RenameEnumValue, ops.RenameType, ops.CreateObject, ops.Privileges, ops.Insert,
    ops.SetSetting, ops.LockTable,
)  # fmt: skip

LOCK_TIMEOUT_S = 10
_CASCADE = re.compile(r"\bcascade\b", re.IGNORECASE)


class Refused(Exception):
    """The down migrations cannot be shown to keep the data; ``reasons`` says why, one
    statement each."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


class Escaped(Exception):
    """A statement ended the downgrade's transaction, so it can no longer be rolled back as
    a whole (defence in depth: :func:`plan` refuses transaction control beforehand)."""


@dataclass(frozen=True)
class Check:
    """A count that must be zero before a statement runs: ``action`` on ``table``."""

    action: str
    table: str
    column: str | None = None


@dataclass(frozen=True)
class Step:
    """One statement of a down migration, where it is, and the counts it needs."""

    where: str
    sql: str
    checks: tuple[Check, ...]


def _where(m: Migration, st: ops.Statement) -> str:
    return f"{m.display}:{st.span.line}"


def _quote(sql: str) -> str:
    text = " ".join(sql.split()).rstrip(";")
    return text if len(text) <= 60 else text[:57] + "..."


def _judge(op: ops.Op, statement: ops.Statement) -> tuple[Check, ...] | str:
    """The counts ``op`` needs to be harmless, or why no count can make it so."""
    match op:
        case ops.DropTable():
            return tuple(Check(f"drops table {ops.bare(t)}", t) for t in op.tables)
        case ops.Truncate():
            if _CASCADE.search(statement.sql):
                return "TRUNCATE … CASCADE also empties every table that references these"
            return tuple(Check(f"truncates table {ops.bare(t)}", t) for t in op.tables)
        case ops.Delete():
            return (Check(f"deletes rows of {ops.bare(op.table)}", op.table),)
        case ops.Update():
            return (Check(f"updates rows of {ops.bare(op.table)}", op.table),)
        case ops.DropColumn():
            what = f"drops column {ops.bare(op.table)}.{op.column}"
            return (Check(what, op.table, op.column),)
        case ops.AlterColumnType():
            what = f"changes the type of column {ops.bare(op.table)}.{op.column}"
            return (Check(what, op.table),)
        case ops.RenameTable():
            return (Check(f"renames table {ops.bare(op.table)}", op.table),)
        case ops.Transaction():
            return (
                "transaction control: the downgrade runs in one transaction of its own, and "
                "a COMMIT or ROLLBACK inside it would keep part of it"
            )
        case ops.CreateIndex() | ops.DropIndex() | ops.Reindex() | ops.DetachPartition() if (
            op.concurrently
        ):
            return "CONCURRENTLY cannot run inside the downgrade's transaction"
        case ops.Vacuum():
            return "VACUUM cannot run inside the downgrade's transaction"
        case ops.CreateIndex() | ops.DropIndex() | ops.Reindex() | ops.DetachPartition():
            return ()
        case ops.RefreshMaterializedView():
            return ()
        case ops.DropObject() if op.object_kind in _HARMLESS_DROPS and not op.cascade:
            return ()
        case ops.DropObject():
            cascade = " CASCADE" if op.cascade else ""
            return f"DROP {op.object_kind.upper()}{cascade} may take data with it"
        case ops.DropSchema():
            return "DROP SCHEMA takes every table in it with it"
        case ops.Unknown():
            return f"migsafe cannot tell what this {op.statement} does to the data"
        case _ if isinstance(op, _HARMLESS):
            return ()
    return f"migsafe cannot tell what this {type(op).__name__} does to the data"


def plan(downs: Sequence[Migration]) -> list[Step]:
    """The statements of ``downs`` in order with the counts each needs; :class:`Refused`
    when one of them can lose data whatever the counts say. A broken statement is an
    ``InputError``-style :class:`ValueError` with file:line:col."""
    from migsafe.parse.postgres import SqlSyntaxError, parse

    steps: list[Step] = []
    reasons: list[str] = []
    for m in downs:
        try:
            statements = parse(m.text)
        except SqlSyntaxError as exc:
            raise ValueError(f"{m.display}:{exc.line}:{exc.column}: {exc.message}") from None
        for st in statements:
            checks: list[Check] = []
            if not st.ops:
                reasons.append(
                    f"{_where(m, st)}: {_quote(st.sql)}: migsafe cannot tell what it does "
                    "to the data"
                )
            for op in st.ops:
                judged = _judge(op, st)
                if isinstance(judged, str):
                    reasons.append(f"{_where(m, st)}: {_quote(st.sql)}: {judged}")
                else:
                    checks.extend(judged)
            steps.append(Step(_where(m, st), st.sql, tuple(checks)))
    if reasons:
        raise Refused(reasons)
    return steps


def _relation(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(*name.split("."))


def _count(conn: Any, step: Step, check: Check) -> str | None:
    """Why ``check`` fails (rows found, or no count possible), None when it holds."""
    from psycopg import sql

    what = sql.SQL("count({})").format(sql.Identifier(check.column)) if check.column else (
        sql.SQL("count(*)")
    )  # fmt: skip
    query = sql.SQL("SELECT {} FROM {}").format(what, _relation(check.table))
    try:
        row = conn.execute(query).fetchone()
    except Exception as exc:  # psycopg's errors, whatever their class
        reason = " ".join(str(exc).split())
        return (
            f"{step.where}: {check.action}, whose rows cannot be counted ({reason}): "
            "cannot tell whether data would be lost"
        )
    rows = int(row[0]) if row else 0
    if rows:
        return f"{step.where}: {check.action}, which holds data ({rows} rows)"
    return None


def losses(conn: Any, steps: Sequence[Step]) -> list[str]:
    """Every check of ``steps`` that fails on the live database as it is now (an autocommit
    connection: one failed count does not hide the others)."""
    found = (_count(conn, step, check) for step in steps for check in step.checks)
    return [x for x in found if x is not None]


def run(conn: Any, steps: Sequence[Step]) -> None:
    """Run ``steps`` inside the caller's transaction on ``conn``: lock every counted table
    that exists, then count again right before each statement that needs it, under that
    lock. :class:`Refused` (the caller rolls back) when a count fails now."""
    from psycopg import pq, sql

    tables = list(dict.fromkeys(c.table for s in steps for c in s.checks))
    # Queued behind a long transaction, an ACCESS EXCLUSIVE request stalls every query on
    # the table; give up instead (the down migrations may set their own timeout later).
    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
    for table in tables:
        exists = conn.execute("SELECT to_regclass(%s)", (_regclass(table),)).fetchone()
        if exists and exists[0] is not None:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(_relation(table)))
    for step in steps:
        for check in step.checks:
            exists = conn.execute("SELECT to_regclass(%s)", (_regclass(check.table),)).fetchone()
            if exists and exists[0] is not None:
                conn.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(_relation(check.table))
                )
            lost = _count(conn, step, check)
            if lost is not None:
                raise Refused([lost])
        conn.execute(step.sql)
        if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
            raise Escaped(
                f"{step.where}: the downgrade's transaction ended inside a down migration; "
                "what ran before it may have been committed — check the schema by hand"
            )


def _regclass(name: str) -> str:
    """``name`` quoted for ``to_regclass``: each dotted part as an identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))
