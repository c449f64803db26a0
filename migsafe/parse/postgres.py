"""PostgreSQL SQL → ops, through pglast (libpg_query, the real PostgreSQL parser).

The parse tree is read as libpg_query's JSON rather than as pglast's Python node objects:
building those objects costs ten times the parse itself, and a pre-commit hook pays that
on every commit. In the JSON a node in a generic field is wrapped as ``{"TypeName": {…}}``;
a field with a declared type (``relation``, ``typeName``) holds the fields directly.
Fields at their default value (false, 0, empty) are left out.

pglast is imported inside :func:`parse`, so commands that never parse SQL start fast.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from migsafe import ops
from migsafe.parse.text import SourceText, neutralise_templates, source_text

Node = dict[str, Any]

# Builtins whose result does not vary per row: a default using only these is evaluated once,
# stored in the catalog, and ADD COLUMN needs no rewrite (PostgreSQL >= 11). A function that
# is neither here nor known volatile is treated as volatile, which is PostgreSQL's own default
# for CREATE FUNCTION.
NON_VOLATILE_FUNCTIONS = frozenset(
    """now statement_timestamp transaction_timestamp lower upper trim btrim ltrim rtrim concat
    concat_ws length substring substr replace md5 to_char to_date to_timestamp to_number
    date_trunc date_part make_interval make_date make_timestamp make_timestamptz timezone
    jsonb_build_object json_build_object jsonb_build_array json_build_array to_jsonb to_json
    array_fill current_setting abs round floor ceil array_length cardinality format""".split()
)
VOLATILE_FUNCTIONS = frozenset(
    """random gen_random_uuid uuid_generate_v1 uuid_generate_v1mc uuid_generate_v4 uuidv4 uuidv7
    uuid_generate_v7 clock_timestamp timeofday nextval setval txid_current
    pg_current_xact_id random_normal""".split()
)

_TYPE_ALIASES = {
    "int": "int4",
    "integer": "int4",
    "smallint": "int2",
    "bigint": "int8",
    "serial": "int4",
    "serial4": "int4",
    "bigserial": "int8",
    "serial8": "int8",
    "smallserial": "int2",
    "serial2": "int2",
    "boolean": "bool",
    "character varying": "varchar",
    "decimal": "numeric",
    "real": "float4",
    "double precision": "float8",
    "float": "float8",
    "timestamp with time zone": "timestamptz",
    "time with time zone": "timetz",
}
_SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})
_TYPE_CONTINUATIONS = (
    "varying",
    "precision",
    "with time zone",
    "without time zone",
    "character varying",
    "char varying",
    "character",
    "char",
)
_INTERVAL_FIELDS = ("year", "month", "day", "hour", "minute", "second", "to")
_CONSTRAINT_KINDS = {
    "CONSTR_CHECK": "check",
    "CONSTR_FOREIGN": "foreign_key",
    "CONSTR_UNIQUE": "unique",
    "CONSTR_PRIMARY": "primary_key",
    "CONSTR_EXCLUSION": "exclude",
}
_LOCK_MODES = (
    "",
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
_TRANSACTION_ACTIONS = {
    "TRANS_STMT_BEGIN": "begin",
    "TRANS_STMT_START": "begin",
    "TRANS_STMT_COMMIT": "commit",
    "TRANS_STMT_ROLLBACK": "rollback",
    "TRANS_STMT_SAVEPOINT": "savepoint",
    "TRANS_STMT_RELEASE": "release",
    "TRANS_STMT_ROLLBACK_TO": "rollback_to",
}
_COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_RELATION_OBJECTS = {"OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"}


class SqlSyntaxError(Exception):
    """A statement PostgreSQL's parser rejects; carries the position for the report."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse(text: str) -> list[ops.Statement]:
    """Parse a whole migration file. Raises :class:`SqlSyntaxError` on invalid SQL."""
    from pglast import parser

    sql, placeholders = neutralise_templates(text)
    source = source_text(text)
    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except parser.ParseError as exc:
        # pglast reports a character offset; "at end of input" comes without one.
        location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        message = str(exc.args[0]) if exc.args else str(exc)
        if location is None:
            location = len(text.rstrip()) if "end of input" in message else 0
        line, column = source.position(min(location, len(text)))
        raise SqlSyntaxError(message, line, column) from None
    statements: list[ops.Statement] = []
    for raw in tree.get("stmts", ()):
        bounds = _bounds(sql, source, raw)
        if bounds is None:
            continue
        start, end = bounds
        span = source.span(start, end)
        made = tuple(_Builder(sql, source, span).build(raw["stmt"]))
        if placeholders and "{{" in text[start:end]:
            made = tuple(_restore(op, placeholders) for op in made)
        statements.append(ops.Statement(sql=text[start:end], span=span, ops=made))
    return statements


def _skip_blanks(sql: str, i: int, stop: int) -> int:
    """The first offset at or after ``i`` that is neither white space nor a comment."""
    while i < stop:
        ch = sql[i]
        if ch in " \t\r\n\f\v":
            i += 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = stop if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < stop and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    return i


def _bounds(sql: str, source: SourceText, raw: Node) -> tuple[int, int] | None:
    """A statement's character range: from its first token through its semicolon.

    libpg_query gives the byte offset where the statement begins (possibly before comments
    that precede it) and its length up to the semicolon, or 0 for "to the end of the text";
    only that last case needs the scanner, to leave trailing comments out.
    """
    from pglast import parser

    loc = raw.get("stmt_location", 0)
    start = _skip_blanks(sql, source.char_offset(loc), len(sql))
    if raw.get("stmt_len"):
        end = source.char_offset(loc + raw["stmt_len"])
        while end > start and sql[end - 1] in " \t\r\n\f\v":
            end -= 1
    else:
        tokens = [t for t in parser.scan(sql[start:]) if t.name not in _COMMENT_TOKENS]
        if not tokens:
            return None
        end = start + tokens[-1].end + 1
        if tokens[-1].name == "ASCII_59":
            return (start, end) if len(tokens) > 1 else None
    after = end
    while after < len(sql) and sql[after] in " \t\r\n\f\v":
        after += 1
    if after < len(sql) and sql[after] == ";":
        end = after + 1
    return (start, end) if end > start else None


def _restore(value: Any, placeholders: dict[str, str]) -> Any:
    """Put template placeholders back into every name of an op, so reports name relations
    as the author wrote them (``{{ index .Options "Namespace" }}.users``)."""
    if isinstance(value, str):
        for ident, original in placeholders.items():
            value = value.replace(ident, original)
        return value
    if isinstance(value, tuple):
        return tuple(_restore(v, placeholders) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if isinstance(current, str | tuple) or dataclasses.is_dataclass(current):
                changes[f.name] = _restore(current, placeholders)
        return dataclasses.replace(value, **changes)
    return value


def _unwrap(node: Node) -> tuple[str, Node]:
    ((tag, fields),) = node.items()
    return tag, fields


def _sval(node: Node) -> str:
    """The text of a String node, wrapped or not."""
    inner = node.get("String", node)
    return str(inner.get("sval", ""))


def _strings(items: list[Node] | None) -> tuple[str, ...]:
    return tuple(_sval(i) for i in items or ())


def _dotted(items: list[Node] | None) -> str:
    return ".".join(_strings(items))


def _rangevar(rv: Node | None) -> str:
    """A RangeVar as written: qualified only when the author qualified it."""
    if not rv:
        return ""
    if "RangeVar" in rv:
        rv = rv["RangeVar"]
    schema = rv.get("schemaname")
    return f"{schema}.{rv['relname']}" if schema else str(rv.get("relname", ""))


def _object_name(obj: Node) -> str:
    tag, fields = _unwrap(obj)
    if tag == "List":
        return _dotted(fields.get("items"))
    if tag == "TypeName":
        return _dotted(fields.get("names"))
    if tag == "ObjectWithArgs":
        return _dotted(fields.get("objname"))
    if tag == "String":
        return str(fields.get("sval", ""))
    return tag


def _functions(node: Any) -> Iterator[str]:
    """Names of all functions called anywhere in an expression tree."""
    if isinstance(node, dict):
        call = node.get("FuncCall")
        if call is not None:
            yield _strings(call.get("funcname"))[-1].lower()
        for value in node.values():
            yield from _functions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _functions(item)


def _volatile(expr: Node) -> bool:
    return any(
        name in VOLATILE_FUNCTIONS or name not in NON_VOLATILE_FUNCTIONS
        for name in _functions(expr)
    )


def _min_location(node: Any) -> int | None:
    best: int | None = None
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "location" and isinstance(value, int) and value >= 0:
                best = value if best is None else min(best, value)
            else:
                found = _min_location(value)
                if found is not None:
                    best = found if best is None else min(best, found)
    elif isinstance(node, list):
        for item in node:
            found = _min_location(item)
            if found is not None:
                best = found if best is None else min(best, found)
    return best


_CLAUSE_MARK = re.compile(r"['\"(),;]")


class _Builder:
    """Turns one parsed statement into ops; holds the source for sub-spans and expression
    text (taken from the file, as the author wrote it)."""

    def __init__(self, sql: str, source: SourceText, span: ops.Span) -> None:
        self.sql = sql
        self.source = source
        self.span = span

    # -- positions and text --------------------------------------------------------------------

    def _clause_end(self, start: int) -> int:
        """The end of the clause starting at ``start``: the next comma, semicolon or
        unbalanced closing parenthesis outside quotes, trailing blanks dropped."""
        text, depth, i, stop = self.sql, 0, start, self.span.end
        while (found := _CLAUSE_MARK.search(text, i, stop)) is not None:
            i = found.start()
            ch = text[i]
            if ch in "'\"":
                close = text.find(ch, i + 1)
                i = stop if close < 0 else close + 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0:
                break
            i += 1
        else:
            i = stop
        while i > start and text[i - 1] in " \t\r\n":
            i -= 1
        return i

    def _span_from(self, location: int | None) -> ops.Span:
        if location is None or location < 0:
            return self.span
        start = self.source.char_offset(location)
        return self.source.span(start, self._clause_end(start))

    def _expr_text(self, expr: Node, stop: int | None = None, *, standalone: bool = False) -> str:
        """The expression's source text, up to ``stop`` (a byte location) or its clause end.

        ``standalone``: the expression follows a keyword (DEFAULT, USING), so parentheses
        right before its first node belong to it, as in ``(random() * 10)::int``.
        """
        location = _min_location(expr)
        if location is None:
            return _unwrap(expr)[0]
        start = self.source.char_offset(location)
        while standalone and start > 0:
            before = self.sql[:start].rstrip()
            if not before.endswith("("):
                break
            start = len(before) - 1
        end = self._clause_end(start)
        if stop is not None:
            end = min(end, self.source.char_offset(stop))
        return self.sql[start:end].strip()

    def _paren_text(self, location: int | None) -> str | None:
        """Text inside the first parenthesised group at or after ``location`` (CHECK (…))."""
        if location is None:
            return None
        text = self.sql
        open_at = text.find("(", self.source.char_offset(location), self.span.end)
        if open_at < 0:
            return None
        depth = 0
        for i in range(open_at, self.span.end):
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    return text[open_at + 1 : i].strip()
        return None

    def _type_end(self, start: int) -> int:
        """End of a type name: through multi-word names, modifiers and array brackets."""
        text, stop = self.sql, self.span.end
        i = start
        while i < stop and (text[i].isalnum() or text[i] in '_."'):
            i += 1
        while i < stop:
            rest = text[i:stop]
            stripped = rest.lstrip()
            low = stripped.lower()
            skipped = len(rest) - len(stripped)
            if low.startswith("("):
                close = text.find(")", i + skipped)
                if close < 0:
                    break
                i = close + 1
                continue
            if low.startswith("["):
                close = text.find("]", i + skipped)
                if close < 0:
                    break
                i = close + 1
                continue
            interval = text[start:i].lower().startswith("interval")
            for phrase in _TYPE_CONTINUATIONS + (_INTERVAL_FIELDS if interval else ()):
                if low.startswith(phrase) and not low[len(phrase) : len(phrase) + 1].isalnum():
                    i += skipped + len(phrase)
                    break
            else:
                break
        return i

    # -- pieces --------------------------------------------------------------------------------

    def _type(self, tn: Node) -> tuple[ops.TypeRef, bool]:
        names = _strings(tn.get("names"))
        if len(names) > 1 and names[0] == "pg_catalog":
            names = names[1:]
        raw = ".".join(names)
        mods = []
        for m in tn.get("typmods") or ():
            const = m.get("A_Const", {})
            if "ival" in const:
                mods.append(int(const["ival"].get("ival", 0)))
        if raw.lower() == "interval":
            # The first modifier is a mask of the fields (DAY TO SECOND), not a precision.
            mods = mods[1:]
        span = self.span
        location = tn.get("location")
        if isinstance(location, int) and location >= 0:
            start = self.source.char_offset(location)
            span = self.source.span(start, self._type_end(start))
        ref = ops.TypeRef(
            name=_TYPE_ALIASES.get(raw.lower(), raw),
            mods=tuple(mods),
            array=bool(tn.get("arrayBounds")),
            span=span,
        )
        return ref, raw.lower() in _SERIAL_TYPES

    def _constraint(self, c: Node, column: str | None = None) -> ops.ConstraintDef | None:
        kind = _CONSTRAINT_KINDS.get(c.get("contype", ""))
        if kind is None:
            return None
        if kind == "foreign_key":
            columns = _strings(c.get("fk_attrs")) or ((column,) if column else ())
        elif kind == "exclude":
            columns = tuple(
                str(pair["List"]["items"][0]["IndexElem"].get("name", ""))
                for pair in c.get("exclusions") or ()
                if "IndexElem" in pair["List"]["items"][0]
            )
        else:
            columns = _strings(c.get("keys")) or ((column,) if column else ())
        return ops.ConstraintDef(
            kind=kind,  # type: ignore[arg-type]
            name=c.get("conname"),
            columns=columns,
            ref_table=_rangevar(c.get("pktable")) or None,
            ref_columns=_strings(c.get("pk_attrs")),
            not_valid=bool(c.get("skip_validation")),
            using_index=c.get("indexname"),
            expr=self._paren_text(c.get("location")) if kind == "check" else None,
            span=self._span_from(c.get("location")),
        )

    def _default(self, expr: Node, stop: int | None = None) -> ops.Default:
        return ops.Default(self._expr_text(expr, stop, standalone=True), _volatile(expr))

    def _column(self, cd: Node) -> ops.Column:
        type_ref, serial = self._type(cd.get("typeName", {}))
        not_null = bool(cd.get("is_not_null"))
        default: ops.Default | None = None
        identity = generated = False
        made: list[ops.ConstraintDef] = []
        raw = [_unwrap(c)[1] for c in cd.get("constraints") or ()]
        if "raw_default" in cd:
            default = self._default(cd["raw_default"])
        for i, c in enumerate(raw):
            contype = c.get("contype")
            if contype == "CONSTR_NOTNULL":
                not_null = True
            elif contype == "CONSTR_DEFAULT":
                following = raw[i + 1].get("location") if i + 1 < len(raw) else None
                default = self._default(c["raw_expr"], following)
            elif contype == "CONSTR_IDENTITY":
                identity = not_null = True
            elif contype == "CONSTR_GENERATED":
                generated = True
            else:
                constraint = self._constraint(c, cd.get("colname"))
                if constraint is not None:
                    made.append(constraint)
                    not_null = not_null or constraint.kind == "primary_key"
        return ops.Column(
            name=str(cd.get("colname", "")),
            type=type_ref,
            not_null=not_null or serial,
            default=default,
            identity=identity,
            generated_stored=generated,
            serial=serial,
            constraints=tuple(made),
            span=self._span_from(cd.get("location")),
        )

    # -- dispatch ------------------------------------------------------------------------------

    def build(self, node: Node) -> Iterator[ops.Op]:
        tag, fields = _unwrap(node)
        method = getattr(self, "_" + tag, None)
        produced = list(method(fields)) if method is not None else []
        if produced:
            yield from produced
        else:
            yield ops.Unknown(statement=tag, span=self.span)

    def _CreateStmt(self, n: Node) -> Iterator[ops.Op]:
        columns: list[ops.Column] = []
        constraints: list[ops.ConstraintDef] = []
        for elt in n.get("tableElts") or ():
            tag, fields = _unwrap(elt)
            if tag == "ColumnDef":
                columns.append(self._column(fields))
            elif tag == "Constraint":
                made = self._constraint(fields)
                if made is not None:
                    constraints.append(made)
        parents = n.get("inhRelations") or ()
        yield ops.CreateTable(
            table=_rangevar(n.get("relation")),
            columns=tuple(columns),
            constraints=tuple(constraints),
            if_not_exists=bool(n.get("if_not_exists")),
            partition_of=_rangevar(parents[0]) if n.get("partbound") and parents else None,
            partitioned="partspec" in n,
            span=self.span,
        )

    def _CreateTableAsStmt(self, n: Node) -> Iterator[ops.Op]:
        name = _rangevar(n.get("into", {}).get("rel"))
        if n.get("objtype") == "OBJECT_MATVIEW":
            yield ops.CreateObject(
                object_kind="materialized_view",
                name=name,
                if_not_exists=bool(n.get("if_not_exists")),
                span=self.span,
            )
        else:
            yield ops.CreateTable(
                table=name,
                if_not_exists=bool(n.get("if_not_exists")),
                as_query=True,
                span=self.span,
            )

    def _AlterTableStmt(self, n: Node) -> Iterator[ops.Op]:
        table = _rangevar(n.get("relation"))
        is_index = n.get("objtype") == "OBJECT_INDEX"
        for cmd_node in n.get("cmds") or ():
            cmd = _unwrap(cmd_node)[1]
            if is_index:
                yield ops.AlterTableOther(
                    table=table, subcommand=f"index:{cmd.get('subtype')}", span=self.span
                )
            else:
                yield from self._alter_table_cmd(table, cmd)

    def _alter_table_cmd(self, table: str, cmd: Node) -> Iterator[ops.Op]:
        t = cmd.get("subtype", "")
        name = str(cmd.get("name", ""))
        span = self.span
        definition: Node = cmd.get("def") or {}
        missing_ok = bool(cmd.get("missing_ok"))
        if t == "AT_AddColumn":
            column = self._column(_unwrap(definition)[1])
            yield ops.AddColumn(table=table, column=column, if_not_exists=missing_ok, span=span)
            for c in column.constraints:
                yield ops.AddConstraint(table=table, constraint=c, span=span)
        elif t == "AT_DropColumn":
            yield ops.DropColumn(table=table, column=name, if_exists=missing_ok, span=span)
        elif t == "AT_AlterColumnType":
            cd = _unwrap(definition)[1]
            type_ref, _ = self._type(cd.get("typeName", {}))
            using = cd.get("raw_default")
            yield ops.AlterColumnType(
                table=table,
                column=name,
                type=type_ref,
                using=self._expr_text(using, standalone=True) if using else None,
                span=span,
            )
        elif t == "AT_SetNotNull":
            yield ops.SetNotNull(table=table, column=name, span=span)
        elif t == "AT_DropNotNull":
            yield ops.DropNotNull(table=table, column=name, span=span)
        elif t == "AT_ColumnDefault":
            if not definition:
                yield ops.DropDefault(table=table, column=name, span=span)
            else:
                yield ops.SetDefault(
                    table=table, column=name, default=self._default(definition), span=span
                )
        elif t == "AT_AddConstraint":
            made = self._constraint(_unwrap(definition)[1])
            if made is None:
                yield ops.AlterTableOther(table=table, subcommand=t, span=span)
            else:
                yield ops.AddConstraint(table=table, constraint=made, span=span)
        elif t == "AT_ValidateConstraint":
            yield ops.ValidateConstraint(table=table, name=name, span=span)
        elif t == "AT_DropConstraint":
            yield ops.DropConstraint(table=table, name=name, if_exists=missing_ok, span=span)
        elif t in ("AT_SetRelOptions", "AT_ResetRelOptions"):
            items = definition.get("List", {}).get("items", ())
            params = tuple(str(_unwrap(d)[1].get("defname")) for d in items)
            yield ops.SetStorageParams(
                table=table, params=params, reset=t == "AT_ResetRelOptions", span=span
            )
        elif t in ("AT_SetLogged", "AT_SetUnLogged"):
            yield ops.SetLogged(table=table, logged=t == "AT_SetLogged", span=span)
        elif t == "AT_SetTableSpace":
            yield ops.SetTablespace(table=table, tablespace=name, span=span)
        elif t in ("AT_AttachPartition", "AT_DetachPartition"):
            part = _unwrap(definition)[1]
            if t == "AT_AttachPartition":
                yield ops.AttachPartition(
                    table=table, partition=_rangevar(part.get("name")), span=span
                )
            else:
                yield ops.DetachPartition(
                    table=table,
                    partition=_rangevar(part.get("name")),
                    concurrently=bool(part.get("concurrent")),
                    span=span,
                )
        elif t in ("AT_AddInherit", "AT_DropInherit"):
            yield ops.AlterTableOther(
                table=table, subcommand=t, referenced=_rangevar(definition), span=span
            )
        else:
            yield ops.AlterTableOther(table=table, subcommand=t, span=span)

    def _RenameStmt(self, n: Node) -> Iterator[ops.Op]:
        kind = n.get("renameType")
        relation = _rangevar(n.get("relation"))
        new_name = str(n.get("newname", ""))
        if kind == "OBJECT_TABLE":
            yield ops.RenameTable(table=relation, new_name=new_name, span=self.span)
        elif kind == "OBJECT_COLUMN" and n.get("relationType") == "OBJECT_TABLE":
            yield ops.RenameColumn(
                table=relation, column=str(n.get("subname")), new_name=new_name, span=self.span
            )
        elif kind == "OBJECT_INDEX":
            yield ops.RenameIndex(index=relation, new_name=new_name, span=self.span)
        elif kind in ("OBJECT_TYPE", "OBJECT_DOMAIN") and n.get("object"):
            yield ops.RenameType(
                type_name=_object_name(n["object"]), new_name=new_name, span=self.span
            )
        elif kind == "OBJECT_TABCONSTRAINT":
            yield ops.RenameConstraint(
                table=relation, name=str(n.get("subname")), new_name=new_name, span=self.span
            )
        elif kind in _RELATION_OBJECTS:
            yield ops.AlterTableOther(
                table=relation,
                subcommand="Rename" + kind[7:].title(),
                new_name=new_name,
                span=self.span,
            )

    def _IndexStmt(self, n: Node) -> Iterator[ops.Op]:
        # An expression element keeps its place as "(expression)", so the leading columns
        # of the index stay right.
        columns = tuple(
            str(p["IndexElem"]["name"])
            if p["IndexElem"].get("name")
            else f"({self._expr_text(p['IndexElem'].get('expr') or {'?': {}})})"
            for p in n.get("indexParams") or ()
        )
        yield ops.CreateIndex(
            table=_rangevar(n.get("relation")),
            name=n.get("idxname"),
            columns=columns,
            unique=bool(n.get("unique")),
            concurrently=bool(n.get("concurrent")),
            if_not_exists=bool(n.get("if_not_exists")),
            only=not n.get("relation", {}).get("inh", False),
            span=self.span,
        )

    def _DropStmt(self, n: Node) -> Iterator[ops.Op]:
        kind = str(n.get("removeType", ""))
        cascade = n.get("behavior") == "DROP_CASCADE"
        if_exists = bool(n.get("missing_ok"))
        objects = n.get("objects") or ()
        names = tuple(_object_name(o) for o in objects)
        span = self.span
        if kind == "OBJECT_TABLE":
            yield ops.DropTable(tables=names, if_exists=if_exists, cascade=cascade, span=span)
        elif kind == "OBJECT_INDEX":
            yield ops.DropIndex(
                indexes=names,
                concurrently=bool(n.get("concurrent")),
                if_exists=if_exists,
                cascade=cascade,
                span=span,
            )
        elif kind == "OBJECT_SCHEMA":
            yield ops.DropSchema(names=names, if_exists=if_exists, cascade=cascade, span=span)
        elif kind in ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"):
            for name in names:
                table, _, obj = name.rpartition(".")
                yield ops.DropObject(
                    object_kind=kind[7:].lower(),
                    names=(obj,),
                    if_exists=if_exists,
                    cascade=cascade,
                    table=table,
                    span=span,
                )
        else:
            yield ops.DropObject(
                object_kind=kind[7:].lower(),
                names=names,
                if_exists=if_exists,
                cascade=cascade,
                span=span,
            )

    def _DropdbStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.DropDatabase(
            name=str(n.get("dbname")), if_exists=bool(n.get("missing_ok")), span=self.span
        )

    def _TruncateStmt(self, n: Node) -> Iterator[ops.Op]:
        tables = tuple(_rangevar(r) for r in n.get("relations") or ())
        yield ops.Truncate(tables=tables, span=self.span)

    def _LockStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.LockTable(
            tables=tuple(_rangevar(r) for r in n.get("relations") or ()),
            mode=_LOCK_MODES[int(n.get("mode", 8))],
            span=self.span,
        )

    def _ReindexStmt(self, n: Node) -> Iterator[ops.Op]:
        params = n.get("params") or ()
        concurrently = any(_unwrap(p)[1].get("defname") == "concurrently" for p in params)
        target = str(n.get("kind", "")).rsplit("_", 1)[-1].lower()
        name = _rangevar(n.get("relation")) or str(n.get("name", ""))
        yield ops.Reindex(
            target=target,  # type: ignore[arg-type]
            name=name,
            concurrently=concurrently,
            span=self.span,
        )

    def _VacuumStmt(self, n: Node) -> Iterator[ops.Op]:
        tables = tuple(_rangevar(_unwrap(r)[1].get("relation")) for r in n.get("rels") or ())
        full = n.get("is_vacuumcmd", False) and any(
            _unwrap(o)[1].get("defname") == "full" for o in n.get("options") or ()
        )
        yield ops.Vacuum(tables=tables, full=bool(full), span=self.span)

    def _ClusterStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.Cluster(table=_rangevar(n.get("relation")) or None, span=self.span)

    def _CreateTrigStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.CreateTrigger(
            table=_rangevar(n.get("relation")), name=str(n.get("trigname")), span=self.span
        )

    def _CreatePolicyStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.CreatePolicy(
            table=_rangevar(n.get("table")), name=str(n.get("policy_name")), span=self.span
        )

    def _RefreshMatViewStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.RefreshMaterializedView(
            view=_rangevar(n.get("relation")),
            concurrently=bool(n.get("concurrent")),
            span=self.span,
        )

    def _CommentStmt(self, n: Node) -> Iterator[ops.Op]:
        kind = str(n.get("objtype", ""))
        obj = n.get("object")
        parts = _strings(obj["List"]["items"]) if obj and "List" in obj else ()
        table = None
        if kind == "OBJECT_TABLE":
            table = ".".join(parts)
        elif kind == "OBJECT_COLUMN":
            table = ".".join(parts[:-1])
        yield ops.Comment(target=kind[7:].lower(), table=table, span=self.span)

    def _CreateEnumStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.CreateEnum(
            name=_dotted(n.get("typeName")), values=_strings(n.get("vals")), span=self.span
        )

    def _AlterEnumStmt(self, n: Node) -> Iterator[ops.Op]:
        type_name = _dotted(n.get("typeName"))
        if n.get("oldVal"):
            yield ops.RenameEnumValue(
                type_name=type_name,
                old=str(n["oldVal"]),
                new=str(n.get("newVal")),
                span=self.span,
            )
        else:
            yield ops.AddEnumValue(
                type_name=type_name,
                value=str(n.get("newVal")),
                if_not_exists=bool(n.get("skipIfNewValExists")),
                neighbor=str(n["newValNeighbor"]) if n.get("newValNeighbor") else None,
                after=bool(n.get("newValIsAfter")),
                span=self.span,
            )

    def _create(
        self, kind: str, name: str, if_not_exists: bool = False, or_replace: bool = False
    ) -> Iterator[ops.Op]:
        yield ops.CreateObject(
            object_kind=kind,
            name=name,
            if_not_exists=if_not_exists,
            or_replace=or_replace,
            span=self.span,
        )

    def _CreateSchemaStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create(
            "schema", str(n.get("schemaname")), if_not_exists=bool(n.get("if_not_exists"))
        )

    def _CreateSeqStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create(
            "sequence", _rangevar(n.get("sequence")), if_not_exists=bool(n.get("if_not_exists"))
        )

    def _CreateFunctionStmt(self, n: Node) -> Iterator[ops.Op]:
        kind = "procedure" if n.get("is_procedure") else "function"
        yield from self._create(kind, _dotted(n.get("funcname")), or_replace=bool(n.get("replace")))

    def _CreateExtensionStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create(
            "extension", str(n.get("extname")), if_not_exists=bool(n.get("if_not_exists"))
        )

    def _ViewStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create("view", _rangevar(n.get("view")), or_replace=bool(n.get("replace")))

    def _CompositeTypeStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create("type", _rangevar(n.get("typevar")))

    def _CreateDomainStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create("domain", _dotted(n.get("domainname")))

    def _DefineStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create(
            str(n.get("kind", "OBJECT_TYPE"))[7:].lower(), _dotted(n.get("defnames"))
        )

    def _CreateRoleStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._create("role", str(n.get("role")))

    def _privileges(self, statement: str) -> Iterator[ops.Op]:
        yield ops.Privileges(statement=statement, span=self.span)

    def _GrantStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._privileges("grant" if n.get("is_grant") else "revoke")

    def _GrantRoleStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._privileges("grant_role")

    def _AlterDefaultPrivilegesStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._privileges("alter_default_privileges")

    def _AlterOwnerStmt(self, n: Node) -> Iterator[ops.Op]:
        yield from self._privileges("alter_owner")

    def _InsertStmt(self, n: Node) -> Iterator[ops.Op]:
        select = (n.get("selectStmt") or {}).get("SelectStmt", {})
        yield ops.Insert(
            table=_rangevar(n.get("relation")),
            from_query=bool(select.get("fromClause")),
            span=self.span,
        )

    def _UpdateStmt(self, n: Node) -> Iterator[ops.Op]:
        columns = tuple(
            str(t["ResTarget"]["name"])
            for t in n.get("targetList") or ()
            if t.get("ResTarget", {}).get("name")
        )
        yield ops.Update(
            table=_rangevar(n.get("relation")),
            has_where="whereClause" in n,
            columns=columns,
            span=self.span,
        )

    def _DeleteStmt(self, n: Node) -> Iterator[ops.Op]:
        yield ops.Delete(
            table=_rangevar(n.get("relation")), has_where="whereClause" in n, span=self.span
        )

    def _VariableSetStmt(self, n: Node) -> Iterator[ops.Op]:
        kind = n.get("kind")
        name = str(n.get("name", "all")).lower()
        value: str | None
        if kind == "VAR_SET_VALUE":
            values = []
            for arg in n.get("args") or ():
                const = arg.get("A_Const", {})
                for key in ("sval", "ival", "fval", "boolval"):
                    if key in const:
                        values.append(str(const[key].get(key, 0 if key == "ival" else "")))
            value = ", ".join(values)
        elif kind in ("VAR_SET_DEFAULT", "VAR_RESET", "VAR_RESET_ALL"):
            value = None
        else:
            return
        yield ops.SetSetting(name=name, value=value, local=bool(n.get("is_local")), span=self.span)

    def _SelectStmt(self, n: Node) -> Iterator[ops.Op]:
        """``SELECT set_config('lock_timeout', '2s', false)`` sets a setting like SET does."""
        targets: list[Node] = n.get("targetList") or []
        if len(targets) != 1 or n.get("fromClause"):
            return
        call = targets[0].get("ResTarget", {}).get("val", {}).get("FuncCall")
        if not call or _strings(call.get("funcname"))[-1].lower() != "set_config":
            return
        args = [a.get("A_Const", {}) for a in call.get("args") or ()]
        if len(args) != 3 or "sval" not in args[0] or "sval" not in args[1]:
            return
        yield ops.SetSetting(
            name=str(args[0]["sval"].get("sval", "")).lower(),
            value=str(args[1]["sval"].get("sval", "")),
            local=bool(args[2].get("boolval", {}).get("boolval")),
            span=self.span,
        )

    def _TransactionStmt(self, n: Node) -> Iterator[ops.Op]:
        action = _TRANSACTION_ACTIONS.get(str(n.get("kind", "TRANS_STMT_BEGIN")))
        if action is not None:
            yield ops.Transaction(action=action, span=self.span)  # type: ignore[arg-type]
