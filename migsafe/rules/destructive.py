"""Changes that break the application release already running against the database.

During a rolling or canary deploy the previous release keeps serving traffic on the schema
this migration leaves behind, so anything it still names must keep existing and keep
accepting what it writes. Objects created earlier in the same migration are exempt: no
running code can know about them yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe import ops
from migsafe.findings import Severity
from migsafe.locks import type_change_narrows
from migsafe.ops import Op, bare
from migsafe.rules import Violation, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context

ERROR = Severity.ERROR
WARNING = Severity.WARNING


def _existing(tables: tuple[str, ...], ctx: Context) -> list[str]:
    return [t for t in tables if not ctx.is_new(t)]


@rule(
    "drop-table",
    ERROR,
    "DROP TABLE on a table the running application may still use",
    "Stop reading and writing the table in the application, deploy that release, and drop "
    "the table in a migration of a later release (expand/contract).",
)
def drop_table(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropTable):
        for table in _existing(op.tables, ctx):
            yield Violation(f"Dropping table {table} breaks every running query that uses it.")


@rule(
    "drop-column",
    ERROR,
    "DROP COLUMN on a column the running application may still read or write",
    "Stop reading and writing the column in the application (for ORMs, also remove it from "
    "the model so SELECT * and INSERTs stop naming it), deploy that release, then drop the "
    "column in a migration of a later release (expand/contract).",
)
def drop_column(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropColumn) and not ctx.is_new(op.table):
        yield Violation(
            f"Dropping column {op.table}.{op.column} breaks running code that still reads "
            "or writes it."
        )


def _view_keeps_name(table: str, ctx: Context) -> bool:
    """A view created under the old name in the same transaction answers the old code's
    queries, and simple views pass its INSERTs, UPDATEs and DELETEs through."""
    return any(
        isinstance(later, ops.CreateObject)
        and later.object_kind == "view"
        and bare(later.name) == bare(table)
        for st in ctx.later
        for later in st.ops
    )


@rule(
    "rename-table",
    ERROR,
    "RENAME of a table the running application still calls by its old name",
    "In one transaction, rename the table and create a view with the old name "
    "(CREATE VIEW old AS SELECT * FROM new); move the application to the new name, deploy, "
    "and drop the view in a later release.",
)
def rename_table(op: Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.RenameTable) or ctx.is_new(op.table):
        return
    if not _view_keeps_name(op.table, ctx):
        yield Violation(
            f"Renaming table {op.table} to {op.new_name} breaks running code that still "
            f"uses {op.table}."
        )


@rule(
    "rename-column",
    ERROR,
    "RENAME COLUMN on a column the running application still calls by its old name",
    "Add the new column, write to both (a trigger or the application), backfill, switch "
    "reads to the new column, deploy, and drop the old column in a later release; or keep "
    "the column's name and map it to a new attribute name in the application's model.",
)
def rename_column(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.RenameColumn) and not ctx.is_new(op.table):
        yield Violation(
            f"Renaming column {op.table}.{op.column} to {op.new_name} breaks running code "
            f"that still uses {op.column}."
        )


@rule(
    "drop-schema",
    ERROR,
    "DROP SCHEMA removes every object the application uses in it",
    "Move the application off every object in the schema, deploy, and drop the schema in "
    "a later release; never with CASCADE unless you have checked what it takes along.",
)
def drop_schema(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropSchema):
        names = ", ".join(op.names)
        yield Violation(f"Dropping schema {names} removes every object in it.")


@rule(
    "drop-database",
    ERROR,
    "DROP DATABASE in a migration",
    "Databases are dropped by an operator after a backup, not by a migration; remove the "
    "statement.",
)
def drop_database(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropDatabase):
        yield Violation(f"Dropping database {op.name} destroys all of its data.")


# Triggers, policies, rewrite rules and statistics are attached to a table and never named
# by the application's queries, so dropping one changes behaviour but breaks no statement.
_NOT_NAMED_BY_QUERIES = frozenset({"trigger", "policy", "rule", "statistic_ext", "event_trigger"})
_KIND_NAMES = {"matview": "materialized view", "statistic_ext": "statistics"}


def object_kind_name(kind: str) -> str:
    """Messages and SQL keywords use the spoken name, not the parser's (``matview``)."""
    return _KIND_NAMES.get(kind, kind.replace("_", " "))


def _helper(op: ops.DropObject, ctx: Context) -> bool:
    """MySQL upgrade scripts create a procedure, CALL it and drop it again (often with a
    DROP … IF EXISTS first): an object the migration itself creates is its own helper."""
    created = {
        (o.object_kind, o.name.lower())
        for st in ctx.statements
        for o in st.ops
        if isinstance(o, ops.CreateObject)
    }
    return all((op.object_kind, name.lower()) in created for name in op.names)


@rule(
    "drop-object",
    WARNING,
    "DROP of a view, function, type, sequence or other object the application may use",
    "Make sure no running release calls the object (search the application's SQL and ORM "
    "mappings), deploy that release first, and drop the object in a later release.",
)
def drop_object(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropObject) and op.object_kind not in _NOT_NAMED_BY_QUERIES:
        if ctx.dialect != "postgresql" and _helper(op, ctx):
            return
        kind = object_kind_name(op.object_kind)
        names = ", ".join(op.names)
        yield Violation(f"Dropping {kind} {names} breaks running code that still uses it.")


# -- column types -----------------------------------------------------------------------------


@rule(
    "column-type-narrowing",
    ERROR,
    "ALTER COLUMN TYPE to a type that cannot hold every value of the old one",
    "Keep the wider type and enforce the new limit with a CHECK constraint added NOT VALID "
    "and validated later; if the narrower type is really needed, add a new column, make the "
    "application write values that fit, backfill, and switch over in a later release.",
)
def column_type_narrowing(op: Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AlterColumnType) or ctx.is_new(op.table):
        return
    old = ctx.schema.column_type(op.table, op.column)
    if old is not None and type_change_narrows(old, op.type):
        yield Violation(
            f"Changing {op.table}.{op.column} from {old} to {op.type} narrows it: existing "
            "values that do not fit fail the statement or lose precision, and the running "
            "application can still write such values.",
            span=op.type.span,
        )


# -- columns and defaults ---------------------------------------------------------------------


def _fills_itself(column: ops.Column) -> bool:
    return column.default is not None or column.identity or column.serial or column.generated_stored


@rule(
    "add-required-column",
    ERROR,
    "ADD COLUMN NOT NULL without a default on an existing table",
    "Add the column nullable (or with a default), make the application write it, backfill "
    "existing rows in batches, then add a CHECK (column IS NOT NULL) NOT VALID, validate "
    "it, and SET NOT NULL in a later release.",
)
def add_required_column(op: Op, ctx: Context) -> Iterator[Violation]:
    if not isinstance(op, ops.AddColumn) or ctx.is_new(op.table):
        return
    column = op.column
    if column.not_null and not _fills_itself(column):
        yield Violation(
            f"Adding {op.table}.{column.name} as NOT NULL without a default fails on a "
            "non-empty table and breaks the running application's INSERTs, which do not "
            "set it.",
            span=column.span,
        )


@rule(
    "drop-default",
    WARNING,
    "DROP DEFAULT on a column the running application may rely on",
    "First deploy an application release that sets the column explicitly in every INSERT, "
    "then drop the default in a later release.",
)
def drop_default(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.DropDefault) and not ctx.is_new(op.table):
        yield Violation(
            f"Dropping the default of {op.table}.{op.column} makes the running application's "
            "INSERTs that omit the column store NULL, or fail if it is NOT NULL."
        )


# -- data -------------------------------------------------------------------------------------


@rule(
    "truncate-table",
    ERROR,
    "TRUNCATE of an existing table in a migration",
    "Delete the rows you mean to remove with a WHERE clause, in batches; if the whole table "
    "really must be emptied, do it as an operator step with a backup, not in a migration.",
)
def truncate_table(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.Truncate):
        for table in _existing(op.tables, ctx):
            yield Violation(
                f"Truncating {table} deletes all of its rows under an ACCESS EXCLUSIVE lock."
            )


@rule(
    "unscoped-data-change",
    ERROR,
    "UPDATE or DELETE without WHERE on an existing table",
    "Scope the statement with a WHERE clause, and change many rows in batches of a bounded "
    "size by key range, each in its own short transaction.",
)
def unscoped_data_change(op: Op, ctx: Context) -> Iterator[Violation]:
    if isinstance(op, ops.Update | ops.Delete) and not op.has_where and not ctx.is_new(op.table):
        verb = "UPDATE" if isinstance(op, ops.Update) else "DELETE"
        yield Violation(
            f"{verb} on {op.table} has no WHERE clause: it changes every row and holds "
            "their row locks until it commits."
        )
