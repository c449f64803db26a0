"""MySQL and MariaDB rules: what the online-DDL model (:mod:`migsafe.online`) says an ALTER
costs there, and the server's implicit commits.

On these servers the danger of an ALTER is its algorithm: ``COPY`` rebuilds the table row by
row while writes wait, ``INPLACE`` may or may not let writes through (``LOCK=NONE``), and
``INSTANT`` touches metadata only. Tables created in the same migration are exempt, as in the
PostgreSQL rules: nothing else uses them yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe import ops
from migsafe.findings import Edit, Fix, Severity
from migsafe.rules import MYSQL, Violation, quoted, rule

if TYPE_CHECKING:
    from migsafe import online
    from migsafe.analysis import Context

# Ops that are not DDL: MySQL commits implicitly before every other statement.
_NOT_DDL = (ops.Insert, ops.Update, ops.Delete, ops.SetSetting, ops.Transaction, ops.Unknown)


# COPY behaviours another rule here explains better (and the foreign key's non-blocking form).
_OWN_RULE = frozenset(
    {
        "alter_column_type.charset",
        "alter_column_type.enum_change",
        "alter_table.convert_charset",
        "add_constraint.foreign_key",
    }
)


def _table(op: ops.Op) -> str | None:
    table = getattr(op, "table", None)
    return table if isinstance(table, str) and table else None


def _existing(op: ops.Op, ctx: Context) -> str | None:
    """The table the op alters, when it existed before this migration."""
    table = _table(op)
    return table if table is not None and not ctx.is_new(table) else None


def _describe(op: ops.Op) -> str:
    if isinstance(op, ops.AlterColumnType):
        return f"changing the type of column {quoted(op.column)}"
    column = getattr(op, "column", None)
    name = column.name if isinstance(column, ops.Column) else column
    what = op.kind.replace("_", " ").upper()
    if isinstance(op, ops.AlterTableOther):
        what = op.subcommand.replace("_", " ").upper()
    return f"{what} {quoted(name)}" if isinstance(name, str) else what


@rule(
    "mysql-table-copy",
    Severity.ERROR,
    "ALTER that MySQL/MariaDB can only run with ALGORITHM=COPY: writes wait for the copy.",
    "Avoid the change (an expand/contract with a new column and a backfill), or run it with "
    "an online schema-change tool (gh-ost, pt-online-schema-change) that copies in the "
    "background and swaps tables at the end.",
    dialects=MYSQL,
)
def mysql_table_copy(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    from migsafe import online  # only MySQL migrations need the model

    judged = ctx.online
    table = _existing(op, ctx)
    if judged is None or judged.algorithm != "COPY" or table is None or ctx.server is None:
        return
    if judged.behaviour in _OWN_RULE:
        return
    asked = [c.value for c in online.clauses(ctx.statement.sql) if c.key == "ALGORITHM"]
    refused = ""
    if asked and asked[-1] in ("INSTANT", "INPLACE"):
        refused = f"; with ALGORITHM={asked[-1]} the server refuses the statement instead"
    unseen = ""
    if isinstance(op, ops.AlterColumnType) and ctx.schema.column_type(table, op.column) is None:
        unseen = (
            " (migsafe has not seen the column's old definition, so it assumes the type "
            "changes; lint the migration that created the table too for a sharper answer)"
        )
    yield Violation(
        f"{_describe(op)} makes {ctx.server} copy table {quoted(table)} row by row "
        f"(ALGORITHM=COPY, LOCK=SHARED): writes to it wait until the copy ends{refused}{unseen}",
        span=op.span,
    )


def _cheapest_form(sql: str, algorithm: str) -> str:
    if algorithm == "INSTANT":
        return "ALGORITHM=INSTANT"
    separator = ", " if sql.lstrip().upper().startswith("ALTER") else " "
    return f"ALGORITHM=INPLACE{separator}LOCK=NONE"


def _clause_fix(ctx: Context, cheapest: online.Online) -> Fix | None:
    """Replace the statement's ALGORITHM=/LOCK= clauses with the non-blocking form."""
    from migsafe import online  # only MySQL migrations need the model

    found = online.clauses(ctx.statement.sql)
    if not found or cheapest.algorithm is None:
        return None
    form = _cheapest_form(ctx.statement.sql, cheapest.algorithm)
    start = ctx.statement.span.start
    first = found[0]
    lead = len(ctx.statement.sql[first.start : first.end]) - len(
        ctx.statement.sql[first.start : first.end].lstrip(" \t\r\n,")
    )
    edits = [Edit(ctx.source.span(start + first.start + lead, start + first.end), form)]
    edits += [Edit(ctx.source.span(start + c.start, start + c.end), "") for c in found[1:]]
    return Fix(f"Use {form}", tuple(edits))


@rule(
    "mysql-lock-not-none",
    Severity.ERROR,
    "ALTER that blocks writes where MySQL/MariaDB has a form that lets them through.",
    "Ask for the non-blocking form: ALGORITHM=INSTANT, or ALGORITHM=INPLACE, LOCK=NONE (the "
    "server then refuses, rather than silently locks, if it cannot); for a foreign key, "
    "SET foreign_key_checks = 0 first so the server need not copy the table to check it.",
    dialects=MYSQL,
)
def mysql_lock_not_none(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    from migsafe import online  # only MySQL migrations need the model

    if ctx.server is None or _existing(op, ctx) is None:
        return
    if isinstance(op, ops.AddConstraint) and op.constraint.kind == "foreign_key":
        if not online.checks_off(ctx.settings):
            relaxed = online.row_for("add_constraint.foreign_key.checks_off", ctx.server)
            yield Violation(
                f"ADD FOREIGN KEY on {quoted(op.table)} with foreign_key_checks on makes "
                f"{ctx.server} copy the table to check every row, blocking writes; with "
                f"foreign_key_checks = 0 it runs ALGORITHM={relaxed.algorithm}, LOCK=NONE",
                span=op.span,
                help="SET foreign_key_checks = 0 before the statement (and back to 1 after) "
                "once you have checked that existing rows match the parent, e.g. with a "
                "LEFT JOIN that finds none missing.",
            )
        return
    if op is not ctx.statement.ops[0] or ctx.statement_online is None:
        return
    cheapest = online.combine(
        online.judge(o, ctx.server, ctx.schema, ctx.settings) for o in ctx.statement.ops
    )
    written = ctx.statement_online
    if cheapest.lock != "NONE" or written.lock == "NONE" or written.algorithm is None:
        return
    asked = " ".join(f"{c.key}={c.value}" for c in online.clauses(ctx.statement.sql))
    yield Violation(
        f"{asked} makes {ctx.server} run this with ALGORITHM={written.algorithm}, "
        f"LOCK={written.lock}, which blocks writes to {quoted(_table(op) or '?')}; it can run "
        f"ALGORITHM={cheapest.algorithm}"
        + (", LOCK=NONE" if cheapest.algorithm == "INPLACE" else "")
        + " without blocking them",
        fix=_clause_fix(ctx, cheapest),
    )


@rule(
    "mysql-implicit-commit",
    Severity.ERROR,
    "DDL inside a transaction block: MySQL commits implicitly, so the block is not atomic.",
    "Do not wrap DDL in START TRANSACTION … COMMIT on MySQL/MariaDB: each DDL statement "
    "commits what came before it and runs on its own. Make each step safe to re-run "
    "instead (IF [NOT] EXISTS, checks in information_schema).",
    dialects=MYSQL,
)
def mysql_implicit_commit(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, _NOT_DDL) or not (ctx.in_transaction and ctx.explicit_transaction):
        return
    if op is not ctx.statement.ops[0]:
        return
    earlier_ddl = any(not isinstance(o, _NOT_DDL) for st in ctx.earlier for o in st.ops)
    if earlier_ddl:
        return
    yield Violation(
        f"{_describe(op)} inside a transaction block commits the transaction implicitly: "
        "what ran before it is committed, it and what follows run outside the transaction, "
        "and a ROLLBACK cannot undo them",
    )


@rule(
    "mysql-enum-reorder",
    Severity.ERROR,
    "ENUM or SET change other than appending members: the table is copied and values move.",
    "Only append new members at the end of the list (an INSTANT change). To remove or reorder "
    "members, migrate the data to a new column first, in an expand/contract.",
    dialects=MYSQL,
)
def mysql_enum_reorder(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AlterColumnType) or _existing(op, ctx) is None:
        return
    old = ctx.schema.column_type(op.table, op.column)
    if old is None or not old.values or not op.type.values:
        return
    if op.type.values[: len(old.values)] == old.values:
        return
    removed = [v for v in old.values if v not in op.type.values]
    what = (
        f"removes {', '.join(repr(v) for v in removed)} (rows holding it become '' or fail in "
        "strict mode)"
        if removed
        else "reorders or inserts members (ORDER BY and comparisons on the column change)"
    )
    yield Violation(
        f"changing {op.type.name.upper()} column {quoted(op.column)} of {quoted(op.table)} "
        f"{what}, and the table is copied (ALGORITHM=COPY) while writes wait",
        span=op.span,
    )


@rule(
    "mysql-charset-change",
    Severity.ERROR,
    "Changing a table's or column's character set rewrites every row with writes blocked.",
    "Convert with an online schema-change tool (gh-ost, pt-online-schema-change), or add a "
    "column in the new character set, backfill it in batches and switch over.",
    dialects=MYSQL,
)
def mysql_charset_change(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    table = _existing(op, ctx)
    if table is None:
        return
    if isinstance(op, ops.AlterTableOther) and op.subcommand == "convert_charset":
        yield Violation(
            f"CONVERT TO CHARACTER SET rewrites every row of {quoted(table)} "
            "(ALGORITHM=COPY) while writes wait",
            span=op.span,
        )
    elif isinstance(op, ops.AlterColumnType) and (
        ctx.online is not None and ctx.online.behaviour == "alter_column_type.charset"
    ):
        old = ctx.schema.column_type(op.table, op.column)
        yield Violation(
            f"changing the character set of {quoted(op.column)} from "
            f"{old.charset if old else '?'} to {op.type.charset} rewrites every row of "
            f"{quoted(table)} (ALGORITHM=COPY) while writes wait",
            span=op.span,
        )


ONLINE_MODEL_MISMATCH = "mysql-online-model-mismatch"


@rule(
    ONLINE_MODEL_MISMATCH,
    Severity.ERROR,
    "the server ran an ALTER with another algorithm or lock than the online-DDL model says",
    "Trust what the server accepted; report the statement to migsafe so its online-DDL model "
    "is fixed.",
    trace_only=True,
    dialects=MYSQL,
)
def online_model_mismatch(op: ops.Op, ctx: Context) -> Iterator[Violation]:
    """An op alone proves nothing here: :mod:`migsafe.db.mariadb` asks the server and
    reports differences under this rule's id."""
    return iter(())
