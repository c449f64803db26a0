"""The SQL an Alembic ``op.*`` call emits on PostgreSQL, from its arguments as written.

:mod:`migsafe.parse.alembic` evaluates the literal parts of a call's arguments (strings,
numbers, lists, ``sa.Column(...)``, ``sa.String(255)``, ``sa.text("...")``) into the small
values below and hands them here; each renderer writes the DDL Alembic's PostgreSQL
implementation would, recording which range of the SQL came from which Python expression,
so the reader can move the parsed ops' spans onto those expressions. Type names follow
SQLAlchemy's PostgreSQL dialect; MySQL-only types map to what holds the same values on
PostgreSQL. Nothing here imports SQLAlchemy: names are matched as written.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# -- values -------------------------------------------------------------------------------------


# In the reason of a call whose SQL (written in the script, or rendered from it) pglast
# rejects: Alembic revisions are read as PostgreSQL, whatever dialect was asked for.
NOT_POSTGRESQL = "does not parse as PostgreSQL"


class Unreadable(Exception):
    """An expression the reader cannot evaluate without running the script. ``final``:
    running it cannot help either (the script's own SQL does not parse)."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


@dataclass(frozen=True)
class Construct:
    """A call to a SQLAlchemy name (``sa.Column``, ``sa.String``, ``sa.text``), kept as
    written with its evaluated arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    node: ast.expr

    def kw(self, name: str, default: Any = None) -> Any:
        return self.kwargs.get(name, default)


@dataclass(frozen=True)
class TableRef:
    """``sa.table("name", ...)`` or quay's ``tables.name``: a table by name."""

    name: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Raw:
    """SQL text to use as is (``sa.text("now()")``)."""

    sql: str


# SQLAlchemy type names → PostgreSQL type, as SQLAlchemy's PostgreSQL dialect renders them
# (MySQL-only types map to what the same column holds on PostgreSQL).
TYPES: dict[str, str] = {
    **dict.fromkeys(("Integer", "INTEGER", "INT"), "integer"),
    **dict.fromkeys(("SmallInteger", "SMALLINT", "TINYINT", "MEDIUMINT"), "smallint"),
    **dict.fromkeys(("BigInteger", "BIGINT"), "bigint"),
    **dict.fromkeys(("String", "VARCHAR", "Unicode", "NVARCHAR"), "varchar"),
    **dict.fromkeys(("CHAR", "NCHAR"), "char"),
    **dict.fromkeys(
        ("Text", "TEXT", "UnicodeText", "CLOB", "LONGTEXT", "MEDIUMTEXT", "TINYTEXT"), "text"
    ),
    **dict.fromkeys(("Boolean", "BOOLEAN"), "boolean"),
    **dict.fromkeys(("Date", "DATE"), "date"),
    **dict.fromkeys(("Time", "TIME"), "time"),
    **dict.fromkeys(("Interval", "INTERVAL"), "interval"),
    **dict.fromkeys(("Numeric", "NUMERIC", "DECIMAL"), "numeric"),
    **dict.fromkeys(("Float", "FLOAT", "DOUBLE", "DOUBLE_PRECISION", "Double"), "float8"),
    "REAL": "real",
    **dict.fromkeys(
        (
            "LargeBinary",
            "BLOB",
            "BINARY",
            "VARBINARY",
            "BYTEA",
            "LONGBLOB",
            "MEDIUMBLOB",
            "TINYBLOB",
            "PickleType",
        ),
        "bytea",
    ),
    **dict.fromkeys(("JSON",), "json"),
    "JSONB": "jsonb",
    **dict.fromkeys(("UUID", "Uuid"), "uuid"),
    **dict.fromkeys(("INET", "CIDR", "MACADDR", "TSVECTOR", "MONEY", "OID", "BIT"), ""),
}
_LENGTH_TYPES = {"varchar", "char", "bit"}
CONSTRAINTS = {
    "ForeignKeyConstraint",
    "PrimaryKeyConstraint",
    "UniqueConstraint",
    "CheckConstraint",
    "Index",
}
KNOWN = {
    *TYPES,
    *CONSTRAINTS,
    "DateTime",
    "DATETIME",
    "TIMESTAMP",
    "Enum",
    "ENUM",
    "ARRAY",
    "Column",
    "ForeignKey",
    "text",
    "table",
    "column",
    "Identity",
    "Computed",
    "true",
    "false",
    "null",
    "literal_column",
}


_SQL_KEYWORD_FUNCTIONS = {"current_timestamp", "current_date", "current_time", "localtimestamp"}


def function_sql(name: str, args: list[Any]) -> Raw:
    """``sa.func.now()`` as SQL: keyword functions bare, others with literal arguments."""
    if name.lower() in _SQL_KEYWORD_FUNCTIONS and not args:
        return Raw(name.upper())
    return Raw(f"{name}({', '.join(literal(a) for a in args)})")


def short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Unreadable(f"{what} needs a string")
    return value


# -- arguments ----------------------------------------------------------------------------------


class Args:
    """A call's arguments, evaluated on demand (an argument the renderer never needs, such
    as ``existing_type``, may stay unevaluable)."""

    def __init__(
        self,
        node: ast.Call,
        evaluate: Callable[[ast.expr], Any],
        in_place: Callable[[ast.expr | None, str], InPlace | None],
        batch: tuple[Any, str | None] | None = None,
    ) -> None:
        self.evaluate = evaluate
        self.in_place = in_place
        self.node = node
        self.batch = batch
        self.positional = list(node.args)
        self.keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise Unreadable("the arguments are unpacked from values computed when the script runs")

    def node_of(self, index: int | None, name: str) -> ast.expr | None:
        if name in self.keywords:
            return self.keywords[name]
        if index is not None and index < len(self.positional):
            return self.positional[index]
        return None

    def has(self, index: int | None, name: str) -> bool:
        return self.node_of(index, name) is not None

    def get(self, index: int | None, name: str, default: Any = None) -> Any:
        node = self.node_of(index, name)
        return default if node is None else self.evaluate(node)

    def rest(self, start: int) -> list[Any]:
        return [self.evaluate(a) for a in self.positional[start:]]


# -- rendering ----------------------------------------------------------------------------------


@dataclass
class Sql:
    """Rendered SQL with a map from ranges of it to the Python nodes they came from."""

    parts: list[str] = field(default_factory=list)
    marks: list[tuple[int, int, ast.AST]] = field(default_factory=list)
    length: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> Sql:
        self.parts.append(text)
        self.length += len(text)
        return self

    def mark(self, start: int, node: ast.AST | None) -> None:
        if node is not None:
            self.marks.append((start, self.length, node))


@dataclass(frozen=True)
class InPlace:
    """The script's text with everything outside one string literal blanked: SQL whose
    offsets are the file's own."""

    text: str


def ident(name: Any) -> str:
    if name is None:
        raise Unreadable("a name is None (a naming convention fills it in when the script runs)")
    if not isinstance(name, str) or not name:
        raise Unreadable(f"expected a name, got {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _qualified(name: Any, schema: Any = None) -> str:
    if isinstance(name, TableRef):
        name = name.name
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def literal(value: Any) -> str:
    if isinstance(value, Raw):
        return value.sql
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    raise Unreadable(
        f"`{short(value.node) if isinstance(value, Construct) else value!r}` "
        "is not a SQL default migsafe can render"
    )


class _Type:
    """A SQLAlchemy type as PostgreSQL SQL, plus the enum it needs created."""

    def __init__(self, value: Any) -> None:
        self.enum: tuple[str, tuple[str, ...]] | None = None
        self.integer = False
        if not isinstance(value, Construct):
            raise Unreadable(f"`{value!r}` is not a column type migsafe knows")
        self.node = value.node
        self.sql = self._render(value)

    def _render(self, t: Construct) -> str:
        name = t.name
        if name in ("DateTime", "DATETIME", "TIMESTAMP"):
            return "timestamptz" if t.kw("timezone") else "timestamp"
        if name in ("Enum", "ENUM"):
            values = tuple(v for v in t.args if isinstance(v, str))
            if len(values) != len(t.args) or not values:
                raise Unreadable("an Enum of a Python enum class needs the class imported")
            enum_name = t.kw("name")
            if t.kw("native_enum", True) is False or not enum_name:
                return f"varchar({max(len(v) for v in values)})"
            self.enum = (enum_name, values)
            return ident(enum_name)
        if name == "ARRAY":
            inner = _Type(t.args[0] if t.args else t.kw("item_type"))
            return inner.sql + "[]"
        if name not in TYPES:
            raise Unreadable(f"`{short(t.node)}` is not a column type")
        sql = TYPES[name] or name.lower()
        self.integer = sql in ("integer", "smallint", "bigint")
        if sql in _LENGTH_TYPES:
            length = t.args[0] if t.args else t.kw("length")
            return f"{sql}({length})" if isinstance(length, int) else sql
        if sql == "numeric":
            precision = t.args[0] if t.args else t.kw("precision")
            scale = t.args[1] if len(t.args) > 1 else t.kw("scale")
            if isinstance(precision, int):
                return (
                    f"numeric({precision}, {scale})"
                    if isinstance(scale, int)
                    else (f"numeric({precision})")
                )
        if name in ("Float", "FLOAT") and isinstance(t.args[0] if t.args else None, int):
            return "real" if t.args[0] <= 24 else "float8"
        if name == "UUID" or name == "Uuid":
            return "uuid"
        return sql


@dataclass
class _ColumnSql:
    sql: Sql
    column: Construct
    name: str
    index: bool
    unique: bool
    enum: tuple[str, tuple[str, ...]] | None
    foreign_keys: list[tuple[Construct, ast.AST]]


def _column(
    out: Sql,
    value: Any,
    *,
    in_create: bool,
    primary: bool = False,
    single_pk: bool = False,
    referencing: bool = False,
) -> _ColumnSql:
    """One column definition, as SQLAlchemy writes it: keys and references go in table
    constraints (:func:`_create_table`). ``primary``: the column is (part of) the table's
    primary key; ``single_pk``: it is the whole key, so as an integer without a foreign key
    it becomes the SERIAL SQLAlchemy creates."""
    if not isinstance(value, Construct) or value.name != "Column":
        raise Unreadable("expected an sa.Column(...)")
    args = list(value.args)
    name = args.pop(0) if args and isinstance(args[0], str) else value.kw("name")
    if not isinstance(name, str):
        raise Unreadable("the column has no literal name")
    type_value = (
        args.pop(0)
        if args
        and isinstance(args[0], Construct)
        and args[0].name
        not in (
            "ForeignKey",
            "Identity",
            "Computed",
        )
        else value.kw("type_")
    )
    start = out.length
    out.add(ident(name) + " ")
    if type_value is None:
        raise Unreadable(f"column {name!r} has no type")
    kind = _Type(type_value)
    autoincrement = value.kw("autoincrement", "auto")
    identity = next(
        (
            a
            for a in (*args, value.kw("identity"))
            if isinstance(a, Construct) and a.name == "Identity"
        ),
        None,
    )
    computed = next(
        (
            a
            for a in (*args, value.kw("computed"))
            if isinstance(a, Construct) and a.name == "Computed"
        ),
        None,
    )
    type_start = out.length
    whole_key = in_create and primary and single_pk
    has_fk = referencing or any(isinstance(a, Construct) and a.name == "ForeignKey" for a in args)
    serial = (
        whole_key
        and kind.integer
        and identity is None
        and computed is None
        and (autoincrement is True or (autoincrement == "auto" and not has_fk))
    )
    if serial:
        out.add({"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}[kind.sql])
    else:
        out.add(kind.sql)
    out.mark(type_start, kind.node)
    if identity is not None:
        always = "ALWAYS" if identity.kw("always") else "BY DEFAULT"
        out.add(f" GENERATED {always} AS IDENTITY")
    if computed is not None:
        out.add(f" GENERATED ALWAYS AS ({string(computed.args[0], 'Computed()')}) STORED")
    default = value.kw("server_default")
    if default is not None:
        default_start = out.length
        out.add(" DEFAULT " + literal(default))
        out.mark(default_start, value.node)
    if not value.kw("nullable", not primary) or (primary and in_create):
        out.add(" NOT NULL")
    fks: list[tuple[Construct, ast.AST]] = [
        (a, a.node) for a in args if isinstance(a, Construct) and a.name == "ForeignKey"
    ]
    out.mark(start, value.node)
    return _ColumnSql(
        out, value, name, bool(value.kw("index")), bool(value.kw("unique")), kind.enum, fks
    )


def _references(fk: Construct) -> str:
    target = fk.args[0] if fk.args else fk.kw("column")
    if not isinstance(target, str) or "." not in target:
        raise Unreadable("ForeignKey needs a literal 'table.column'")
    table, _, column = target.rpartition(".")
    schema, _, table = table.rpartition(".")
    sql = f"REFERENCES {_qualified(table, schema or None)} ({ident(column)})"
    return sql + _fk_actions(fk.kwargs)


def _fk_actions(kwargs: dict[str, Any]) -> str:
    sql = ""
    if kwargs.get("ondelete"):
        sql += f" ON DELETE {string(kwargs['ondelete'], 'ondelete')}"
    if kwargs.get("onupdate"):
        sql += f" ON UPDATE {string(kwargs['onupdate'], 'onupdate')}"
    if kwargs.get("deferrable"):
        sql += " DEFERRABLE"
    if kwargs.get("initially"):
        sql += f" INITIALLY {string(kwargs['initially'], 'initially')}"
    return sql


def _cols(values: Any) -> str:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise Unreadable("expected a list of column names")
    out = []
    for v in values:
        if isinstance(v, Raw):
            out.append(f"({v.sql})")
        elif isinstance(v, Construct) and v.name == "Column":
            out.append(ident(v.args[0] if v.args else None))
        else:
            out.append(ident(v))
    return ", ".join(out)


def _table_constraint(c: Construct) -> str:
    name = c.kw("name")
    prefix = f"CONSTRAINT {ident(name)} " if name else ""
    if c.name == "PrimaryKeyConstraint":
        return prefix + f"PRIMARY KEY ({_cols(list(c.args))})"
    if c.name == "UniqueConstraint":
        return prefix + f"UNIQUE ({_cols(list(c.args))})"
    if c.name == "CheckConstraint":
        condition = c.args[0] if c.args else c.kw("sqltext")
        if isinstance(condition, Raw):
            condition = condition.sql
        return prefix + f"CHECK ({string(condition, 'CheckConstraint()')})"
    if c.name == "ForeignKeyConstraint":
        local, remote = (*c.args, None, None)[:2]
        if not isinstance(remote, list) or not remote:
            raise Unreadable("ForeignKeyConstraint needs literal column lists")
        refs = [string(r, "ForeignKeyConstraint()") for r in remote]
        ref_table = refs[0].rpartition(".")[0]
        schema, _, ref_table = ref_table.rpartition(".")
        return prefix + (
            f"FOREIGN KEY ({_cols(local)}) REFERENCES {_qualified(ref_table, schema or None)} "
            f"({_cols([r.rpartition('.')[2] for r in refs])})" + _fk_actions(c.kwargs)
        )
    raise Unreadable(f"{c.name} inside create_table is not read")


def _index_sql(
    name: Any,
    table: str,
    columns: str,
    *,
    unique: bool,
    concurrently: bool,
    where: Any,
    using: Any,
    if_not_exists: bool,
) -> str:
    sql = "CREATE " + ("UNIQUE " if unique else "") + "INDEX "
    sql += "CONCURRENTLY " if concurrently else ""
    sql += "IF NOT EXISTS " if if_not_exists else ""
    sql += f"{ident(name)} ON {table}"
    sql += f" USING {string(using, 'postgresql_using')}" if using else ""
    sql += f" ({columns})"
    if where is not None:
        sql += " WHERE " + (where.sql if isinstance(where, Raw) else string(where, "where"))
    return sql


Rendered = list["Sql | InPlace"]


def _table_args(a: Args, index: int, name: str) -> tuple[str, str]:
    """The table a call names (or its batch's) and the schema, as SQL."""
    if a.batch is not None:
        table, schema = a.batch
        return _qualified(table, schema), str(table)
    table = a.get(index, name)
    if isinstance(table, TableRef):
        table = table.name
    schema = a.get(None, "schema")
    return _qualified(table, schema), string(table, name)


def _shift(a: Args, index: int) -> int:
    """Positional index once the batch's table is taken out of the signature."""
    return index - 1 if a.batch is not None else index


def _add_column(a: Args) -> Rendered:
    table, bare = _table_args(a, 0, "table_name")
    column = a.get(_shift(a, 1), "column")
    out = Sql().add(f"ALTER TABLE {table} ADD COLUMN ")
    col = _column(out, column, in_create=False)
    result: Rendered = [out]
    for fk, node in col.foreign_keys:
        fk_sql = Sql().add(f"ALTER TABLE {table} ADD FOREIGN KEY ({ident(col.name)}) ")
        start = fk_sql.length
        fk_sql.add(_references(fk))
        fk_sql.mark(start, node)
        result.append(fk_sql)
    if col.unique:
        result.append(Sql().add(f"ALTER TABLE {table} ADD UNIQUE ({ident(col.name)})"))
    if col.index:
        result.append(
            Sql().add(
                f"CREATE INDEX {ident(f'ix_{bare}_{col.name}')} ON {table} ({ident(col.name)})"
            )
        )
    return result


def _drop_column(a: Args) -> Rendered:
    table, _ = _table_args(a, 0, "table_name")
    column = a.get(_shift(a, 1), "column_name")
    return [Sql().add(f"ALTER TABLE {table} DROP COLUMN {ident(column)}")]


def _alter_column(a: Args) -> Rendered:
    table, _ = _table_args(a, 0, "table_name")
    column = ident(a.get(_shift(a, 1), "column_name"))
    prefix = f"ALTER TABLE {table} ALTER COLUMN {column} "
    result: Rendered = []
    if a.has(None, "type_"):
        out = Sql().add(prefix + "TYPE ")
        start = out.length
        kind = _Type(a.get(None, "type_"))
        out.add(kind.sql)
        out.mark(start, kind.node)
        using = a.get(None, "postgresql_using")
        if using is not None:
            out.add(" USING " + (using.sql if isinstance(using, Raw) else string(using, "using")))
        result.append(out)
    if a.has(None, "nullable"):
        nullable = a.get(None, "nullable")
        if nullable is not None:
            result.append(Sql().add(prefix + ("DROP NOT NULL" if nullable else "SET NOT NULL")))
    if a.has(None, "server_default"):
        default = a.get(None, "server_default")
        if default is None:
            result.append(Sql().add(prefix + "DROP DEFAULT"))
        elif default is not False:
            result.append(Sql().add(prefix + "SET DEFAULT " + literal(default)))
    if a.has(None, "comment"):
        comment = a.get(None, "comment")
        if comment is not False:
            result.append(Sql().add(f"COMMENT ON COLUMN {table}.{column} IS {literal(comment)}"))
    if a.has(None, "new_column_name"):
        new = a.get(None, "new_column_name")
        result.append(Sql().add(f"ALTER TABLE {table} RENAME COLUMN {column} TO {ident(new)}"))
    return result


def _create_table(a: Args) -> Rendered:
    name = a.get(0, "table_name")
    if isinstance(name, TableRef):
        name = name.name
    table = _qualified(name, a.get(None, "schema"))
    items = a.rest(1)
    pk_constraint = next(
        (i for i in items if isinstance(i, Construct) and i.name == "PrimaryKeyConstraint"), None
    )
    if pk_constraint is not None:
        pk_names = [_column_name(c) for c in pk_constraint.args]
    else:
        pk_names = [
            _column_name(i)
            for i in items
            if isinstance(i, Construct) and i.name == "Column" and i.kw("primary_key")
        ]
    # A column a foreign key constraint starts from is no SERIAL, as in SQLAlchemy.
    fk_columns = {
        name
        for i in items
        if isinstance(i, Construct) and i.name == "ForeignKeyConstraint" and i.args
        for name in (i.args[0] if isinstance(i.args[0], list) else [])
        if isinstance(name, str)
    }
    out = Sql().add(f"CREATE TABLE {table} (")
    made: list[_ColumnSql] = []
    constraints: list[Construct] = []
    for i, item in enumerate(items):
        if isinstance(item, Construct) and item.name in CONSTRAINTS:
            constraints.append(item)
            continue
        if not (isinstance(item, Construct) and item.name == "Column"):
            raise Unreadable(f"argument {i + 2} of create_table is not a Column or constraint")
        if made:
            out.add(", ")
        primary = _column_name(item) in pk_names
        made.append(
            _column(
                out,
                item,
                in_create=True,
                primary=primary,
                single_pk=len(pk_names) == 1,
                referencing=_column_name(item) in fk_columns,
            )
        )
    if pk_names:
        start = out.length
        named = pk_constraint.kw("name") if pk_constraint is not None else None
        prefix = f"CONSTRAINT {ident(named)} " if named else ""
        out.add(f", {prefix}PRIMARY KEY ({', '.join(map(ident, pk_names))})")
        out.mark(start + 2, pk_constraint.node if pk_constraint is not None else None)
    for col in made:
        for fk, node in col.foreign_keys:
            start = out.length
            out.add(f", FOREIGN KEY ({ident(col.name)}) {_references(fk)}")
            out.mark(start + 2, node)
        if col.unique and not col.index:
            start = out.length
            out.add(f", UNIQUE ({ident(col.name)})")
            out.mark(start + 2, col.column.node)
    for c in constraints:
        if c.name in ("Index", "PrimaryKeyConstraint"):
            continue
        start = out.length
        out.add(", " + _table_constraint(c))
        out.mark(start + 2, c.node)
    out.add(")")
    result: Rendered = []
    for col in made:
        if col.enum is not None:
            enum_name, values = col.enum
            result.append(
                Sql().add(
                    f"CREATE TYPE {ident(enum_name)} AS ENUM ("
                    + ", ".join(map(literal, values))
                    + ")"
                )
            )
    result.append(out)
    bare = string(name, "table_name")
    for col in made:
        if col.index:
            unique = "UNIQUE " if col.unique else ""
            result.append(
                Sql().add(
                    f"CREATE {unique}INDEX {ident(f'ix_{bare}_{col.name}')} ON {table} "
                    f"({ident(col.name)})"
                )
            )
    for c in constraints:
        if c.name == "Index":
            idx = Sql()
            idx.add(
                _index_sql(
                    c.args[0] if c.args else None,
                    table,
                    _cols(list(c.args[1:])),
                    unique=bool(c.kw("unique")),
                    concurrently=False,
                    where=c.kw("postgresql_where"),
                    using=c.kw("postgresql_using"),
                    if_not_exists=False,
                )
            )
            idx.mark(0, c.node)
            result.append(idx)
    return result


def _column_name(value: Any) -> str:
    if isinstance(value, Construct) and value.name == "Column":
        value = value.args[0] if value.args else value.kw("name")
    return string(value, "a column name")


def _drop_table(a: Args) -> Rendered:
    table = a.get(0, "table_name")
    if isinstance(table, TableRef):
        table = table.name
    return [Sql().add(f"DROP TABLE {_qualified(table, a.get(None, 'schema'))}")]


def _rename_table(a: Args) -> Rendered:
    old = _qualified(a.get(0, "old_table_name"), a.get(None, "schema"))
    return [Sql().add(f"ALTER TABLE {old} RENAME TO {ident(a.get(1, 'new_table_name'))}")]


def _create_index(a: Args) -> Rendered:
    name = a.get(0, "index_name")
    table, _ = _table_args(a, 1, "table_name")
    columns = a.get(_shift(a, 2), "columns")
    return [
        Sql().add(
            _index_sql(
                name,
                table,
                _cols(columns),
                unique=bool(a.get(None, "unique", False)),
                concurrently=bool(a.get(None, "postgresql_concurrently", False)),
                where=a.get(None, "postgresql_where"),
                using=a.get(None, "postgresql_using"),
                if_not_exists=bool(a.get(None, "if_not_exists", False)),
            )
        )
    ]


def _drop_index(a: Args) -> Rendered:
    name = a.get(0, "index_name")
    schema = a.get(None, "schema")
    sql = "DROP INDEX "
    sql += "CONCURRENTLY " if a.get(None, "postgresql_concurrently", False) else ""
    sql += "IF EXISTS " if a.get(None, "if_exists", False) else ""
    return [Sql().add(sql + _qualified(name, schema))]


def _add_constraint(body: str) -> Callable[[Args], Rendered]:
    table_keyword = "source_table" if body == "foreign" else "table_name"

    def render(a: Args) -> Rendered:
        name = a.get(0, "constraint_name")
        table, _ = _table_args(a, 1, table_keyword)
        prefix = f"ALTER TABLE {table} ADD " + (f"CONSTRAINT {ident(name)} " if name else "")
        at = _shift(a, 2)
        if body == "unique":
            return [Sql().add(prefix + f"UNIQUE ({_cols(a.get(at, 'columns'))})")]
        if body == "primary":
            return [Sql().add(prefix + f"PRIMARY KEY ({_cols(a.get(at, 'columns'))})")]
        if body == "check":
            condition = a.get(at, "condition")
            if isinstance(condition, Raw):
                condition = condition.sql
            return [Sql().add(prefix + f"CHECK ({string(condition, 'condition')})")]
        referent = a.get(at, "referent_table")
        if isinstance(referent, TableRef):
            referent = referent.name
        local = a.get(at + 1, "local_cols")
        remote = a.get(at + 2, "remote_cols")
        sql = prefix + (
            f"FOREIGN KEY ({_cols(local)}) REFERENCES "
            f"{_qualified(referent, a.get(None, 'referent_schema'))} ({_cols(remote)})"
        )
        actions = {k: a.get(None, k) for k in ("ondelete", "onupdate", "deferrable", "initially")}
        sql += _fk_actions({k: v for k, v in actions.items() if v})
        if a.get(None, "postgresql_not_valid", False):
            sql += " NOT VALID"
        return [Sql().add(sql)]

    return render


def _drop_constraint(a: Args) -> Rendered:
    name = a.get(0, "constraint_name")
    table, _ = _table_args(a, 1, "table_name")
    return [Sql().add(f"ALTER TABLE {table} DROP CONSTRAINT {ident(name)}")]


def _execute(a: Args) -> Rendered:
    node = a.node_of(0, "sqltext")
    value = a.get(0, "sqltext")
    if isinstance(value, Raw):
        value = value.sql
        if isinstance(node, ast.Call) and node.args:
            node = node.args[0]
    if not isinstance(value, str):
        raise Unreadable("op.execute() of a SQLAlchemy expression is built when the script runs")
    in_place = a.in_place(node, value)
    if in_place is not None:
        return [in_place]
    return [Sql().add(value)]


def _bulk_insert(a: Args) -> Rendered:
    table = a.get(0, "table")
    if not isinstance(table, TableRef):
        raise Unreadable("the table is not a literal sa.table(...)")
    rows = a.get(1, "rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise Unreadable("the rows are not a literal list of dicts")
    columns = list(dict.fromkeys(k for r in rows for k in r)) or list(table.columns)
    if not rows or not columns:
        return []
    values = ", ".join(
        "("
        + ", ".join(
            literal(r.get(c)) if not isinstance(r.get(c), list | dict) else "NULL" for c in columns
        )
        + ")"
        for r in rows
    )
    return [
        Sql().add(
            f"INSERT INTO {ident(table.name)} ({', '.join(map(ident, columns))}) VALUES {values}"
        )
    ]


def _comment(target: str) -> Callable[[Args], Rendered]:
    def render(a: Args) -> Rendered:
        table, _ = _table_args(a, 0, "table_name")
        comment = a.get(_shift(a, 1), "comment") if target == "create" else None
        return [Sql().add(f"COMMENT ON TABLE {table} IS {literal(comment)}")]

    return render


RENDER: dict[str, Callable[[Args], Rendered]] = {
    "add_column": _add_column,
    "drop_column": _drop_column,
    "alter_column": _alter_column,
    "create_table": _create_table,
    "drop_table": _drop_table,
    "rename_table": _rename_table,
    "create_index": _create_index,
    "drop_index": _drop_index,
    "create_unique_constraint": _add_constraint("unique"),
    "create_primary_key": _add_constraint("primary"),
    "create_check_constraint": _add_constraint("check"),
    "create_foreign_key": _add_constraint("foreign"),
    "drop_constraint": _drop_constraint,
    "execute": _execute,
    "bulk_insert": _bulk_insert,
    "create_table_comment": _comment("create"),
    "drop_table_comment": _comment("drop"),
}
# Calls that build arguments or read state: they change nothing in the database themselves.
NOT_OPS = {"f", "inline_literal", "get_context", "batch_alter_table"}
OTHER_REASONS = {
    "get_bind": "op.get_bind() hands the script a live connection; what it runs through "
    "it is only known by running the revision",
    "run_async": "op.run_async() runs code against a live connection",
}
