"""PostgreSQL SQL → ops, through pglast (libpg_query, the real PostgreSQL parser).

pglast is imported inside :func:`parse` so that commands which never parse SQL (``rules``,
``explain``) start fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from migsafe import ops
from migsafe.parse.text import SourceText, neutralise_templates

# Builtins whose result does not vary per row: a default using only these is evaluated once,
# stored in the catalog, and ADD COLUMN needs no rewrite (PostgreSQL >= 11). A function that
# is neither here nor known volatile is treated as volatile, which is PostgreSQL's own default
# for CREATE FUNCTION.
NON_VOLATILE_FUNCTIONS = frozenset(
    """now statement_timestamp transaction_timestamp current_date current_timestamp localtimestamp
    lower upper trim btrim ltrim rtrim concat concat_ws coalesce nullif greatest least length
    substring substr replace md5 to_char to_date to_timestamp to_number date_trunc date_part
    make_interval make_date make_timestamp make_timestamptz timezone jsonb_build_object
    json_build_object jsonb_build_array json_build_array to_jsonb to_json array_fill
    current_user session_user current_schema current_setting abs round floor ceil
    interval int4 int8 text bool numeric float8 array_length cardinality format""".split()
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
    "character": "bpchar",
    "char": "bpchar",
    "decimal": "numeric",
    "real": "float4",
    "double precision": "float8",
    "float": "float8",
    "timestamp with time zone": "timestamptz",
    "time with time zone": "timetz",
}
_SERIAL_TYPES = frozenset(
    {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}
)


class SqlSyntaxError(Exception):
    """A statement PostgreSQL's parser rejects; carries the position for the report."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int  # exclusive byte offset
    name: str


def parse(text: str) -> list[ops.Statement]:
    """Parse a whole migration file. Raises :class:`SqlSyntaxError` on invalid SQL."""
    from pglast import parser

    sql, placeholders = neutralise_templates(text)
    source = SourceText(text)
    try:
        raw = parser.parse_sql(sql)
        tokens = [_Token(t.start, t.end + 1, t.name) for t in parser.scan(sql)]
    except parser.ParseError as exc:
        location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line, column = source.position(source.char_offset(location))
        message = str(exc.args[0]) if exc.args else str(exc)
        raise SqlSyntaxError(message, line, column) from None
    code_tokens = [t for t in tokens if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    starts = [t.start for t in code_tokens]
    statements: list[ops.Statement] = []
    import bisect

    for stmt in raw:
        loc = stmt.stmt_location or 0
        length = stmt.stmt_len or (len(sql.encode("utf-8")) - loc)
        first = bisect.bisect_left(starts, loc)
        last = bisect.bisect_left(starts, loc + length) - 1
        if first > last:
            continue
        b_start = code_tokens[first].start
        b_end = code_tokens[last].end
        if last + 1 < len(code_tokens) and code_tokens[last + 1].name == "ASCII_59":
            b_end = code_tokens[last + 1].end
        start, end = source.char_offset(b_start), source.char_offset(b_end)
        span = source.span(start, end)
        builder = _Builder(sql, source, span, placeholders)
        statements.append(
            ops.Statement(sql=text[start:end], span=span, ops=tuple(builder.ops(stmt.stmt)))
        )
    return statements


def _dotted(names: Sequence[Any]) -> str:
    return ".".join(str(getattr(n, "sval", n)) for n in names)


def _strings(items: Sequence[Any] | None) -> tuple[str, ...]:
    return tuple(str(getattr(i, "sval", i)) for i in items or ())


class _Builder:
    """Turns one parsed statement into ops; holds the source so sub-spans can be computed."""

    def __init__(
        self, sql: str, source: SourceText, span: ops.Span, placeholders: dict[str, str]
    ) -> None:
        self.sql = sql
        self.source = source
        self.span = span
        self.placeholders = placeholders

    def _name(self, rv: Any) -> str:
        """A RangeVar as written: qualified only when the author qualified it, template
        placeholders shown as the author wrote them."""
        if rv is None:
            return ""
        name = f"{rv.schemaname}.{rv.relname}" if rv.schemaname else str(rv.relname)
        for ident, original in self.placeholders.items():
            name = name.replace(ident, original)
        return name

    # -- helpers -------------------------------------------------------------------------------

    def _expr_sql(self, node: Any) -> str:
        from pglast.stream import RawStream

        try:
            return str(RawStream()(node))
        except Exception:  # the printer lacks a few rare nodes; the text is informative only
            return type(node).__name__

    def _volatile(self, node: Any) -> bool:
        from pglast import ast
        from pglast.visitors import Visitor

        found = False

        class Finder(Visitor):  # type: ignore[misc]
            def visit_FuncCall(self, ancestors: Any, fn: Any) -> None:
                nonlocal found
                name = str(fn.funcname[-1].sval).lower()
                if name in VOLATILE_FUNCTIONS or name not in NON_VOLATILE_FUNCTIONS:
                    found = True

        Finder()(node if isinstance(node, ast.Node) else ast.A_Const())
        return found

    def _type(self, tn: Any) -> tuple[ops.TypeRef, bool]:
        names = [str(n.sval) for n in tn.names]
        if len(names) > 1 and names[0] == "pg_catalog":
            names = names[1:]
        raw = ".".join(names)
        name = _TYPE_ALIASES.get(raw.lower(), raw)
        mods: list[int] = []
        for m in tn.typmods or ():
            val = getattr(getattr(m, "val", None), "ival", None)
            if isinstance(val, int):
                mods.append(val)
        span = self.span
        location = getattr(tn, "location", None)
        if isinstance(location, int) and location >= 0:
            start = self.source.char_offset(location)
            span = self.source.span(start, self._type_end(start))
        return (
            ops.TypeRef(name=name, mods=tuple(mods), array=bool(tn.arrayBounds), span=span),
            raw.lower() in _SERIAL_TYPES,
        )

    def _type_end(self, start: int) -> int:
        """End of a type name: up to its closing modifier parenthesis or array brackets."""
        text = self.sql
        i, depth = start, 0
        stop = self.span.end
        while i < stop:
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            elif depth == 0 and ch in ",;":
                break
            elif depth == 0 and ch in " \t\n":
                rest = text[i:stop].lstrip()
                low = rest.lower()
                if not (
                    low.startswith(("varying", "precision", "with time zone", "without time zone"))
                    or low.startswith(("(", "["))
                ):
                    break
            i += 1
        while i < stop and text[i] == "[":
            close = text.find("]", i)
            if close < 0:
                break
            i = close + 1
        return i

    def _sub_span(self, node: Any) -> ops.Span:
        """From a node's start to the end of its clause: the next comma or closing
        parenthesis at the same depth, outside quotes."""
        location = getattr(node, "location", None)
        if not (isinstance(location, int) and location >= 0):
            return self.span
        start = self.source.char_offset(location)
        text, depth, i, stop = self.sql, 0, start, self.span.end
        while i < stop:
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
            elif depth == 0 and ch in ",;":
                break
            i += 1
        while i > start and text[i - 1] in " \t\r\n":
            i -= 1
        return self.source.span(start, i)

    def _constraint(self, c: Any, column: str | None = None) -> ops.ConstraintDef | None:
        from pglast.enums import ConstrType

        kinds = {
            ConstrType.CONSTR_CHECK: "check",
            ConstrType.CONSTR_FOREIGN: "foreign_key",
            ConstrType.CONSTR_UNIQUE: "unique",
            ConstrType.CONSTR_PRIMARY: "primary_key",
            ConstrType.CONSTR_EXCLUSION: "exclude",
        }
        kind = kinds.get(c.contype)
        if kind is None:
            return None
        if kind == "foreign_key":
            columns = _strings(c.fk_attrs) or ((column,) if column else ())
        elif kind == "exclude":
            columns = tuple(
                str(elem[0].name) for elem in c.exclusions or () if getattr(elem[0], "name", None)
            )
        else:
            columns = _strings(c.keys) or ((column,) if column else ())
        return ops.ConstraintDef(
            kind=kind,  # type: ignore[arg-type]
            name=c.conname,
            columns=columns,
            ref_table=self._name(c.pktable) if c.pktable else None,
            ref_columns=_strings(c.pk_attrs),
            not_valid=bool(c.skip_validation),
            using_index=c.indexname,
            expr=self._expr_sql(c.raw_expr) if c.raw_expr is not None else None,
            span=self._sub_span(c),
        )

    def _column(self, cd: Any) -> ops.Column:
        from pglast.enums import ConstrType

        type_ref, serial = self._type(cd.typeName)
        not_null = bool(cd.is_not_null)
        default: ops.Default | None = None
        identity = generated = False
        constraints: list[ops.ConstraintDef] = []
        if cd.raw_default is not None:
            default = ops.Default(self._expr_sql(cd.raw_default), self._volatile(cd.raw_default))
        for c in cd.constraints or ():
            if c.contype == ConstrType.CONSTR_NOTNULL:
                not_null = True
            elif c.contype == ConstrType.CONSTR_DEFAULT:
                default = ops.Default(self._expr_sql(c.raw_expr), self._volatile(c.raw_expr))
            elif c.contype == ConstrType.CONSTR_IDENTITY:
                identity = True
                not_null = True
            elif c.contype == ConstrType.CONSTR_GENERATED:
                generated = True
            else:
                made = self._constraint(c, cd.colname)
                if made is not None:
                    constraints.append(made)
                    if made.kind == "primary_key":
                        not_null = True
        return ops.Column(
            name=str(cd.colname),
            type=type_ref,
            not_null=not_null or serial,
            default=default,
            identity=identity,
            generated_stored=generated,
            serial=serial,
            constraints=tuple(constraints),
            span=self._sub_span(cd),
        )

    # -- dispatch ------------------------------------------------------------------------------

    def ops(self, node: Any) -> Iterator[ops.Op]:
        method = getattr(self, "_" + type(node).__name__, None)
        produced = list(method(node)) if method is not None else []
        if not produced:
            yield ops.Unknown(statement=type(node).__name__, span=self.span)
        else:
            yield from produced

    def _CreateStmt(self, n: Any) -> Iterator[ops.Op]:
        columns: list[ops.Column] = []
        constraints: list[ops.ConstraintDef] = []
        from pglast import ast

        for elt in n.tableElts or ():
            if isinstance(elt, ast.ColumnDef):
                columns.append(self._column(elt))
            elif isinstance(elt, ast.Constraint):
                made = self._constraint(elt)
                if made is not None:
                    constraints.append(made)
        partition_of = self._name(n.inhRelations[0]) if n.partbound and n.inhRelations else None
        yield ops.CreateTable(
            table=self._name(n.relation),
            columns=tuple(columns),
            constraints=tuple(constraints),
            if_not_exists=bool(n.if_not_exists),
            partition_of=partition_of,
            span=self.span,
        )

    def _CreateTableAsStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import ObjectType

        if n.objtype == ObjectType.OBJECT_MATVIEW:
            yield ops.CreateObject(
                object_kind="materialized_view",
                name=self._name(n.into.rel),
                if_not_exists=bool(n.if_not_exists),
                span=self.span,
            )
        else:
            yield ops.CreateTable(
                table=self._name(n.into.rel),
                if_not_exists=bool(n.if_not_exists),
                as_query=True,
                span=self.span,
            )

    def _AlterTableStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import AlterTableType as T
        from pglast.enums import ObjectType

        table = self._name(n.relation)
        span = self.span
        if n.objtype == ObjectType.OBJECT_INDEX:
            for cmd in n.cmds:
                yield ops.AlterTableOther(table=table, subcommand=f"index:{cmd.subtype.name}", span=span)
            return
        for cmd in n.cmds:
            t = cmd.subtype
            if t == T.AT_AddColumn:
                column = self._column(cmd.def_)
                yield ops.AddColumn(
                    table=table, column=column, if_not_exists=bool(cmd.missing_ok), span=span
                )
                for c in column.constraints:
                    yield ops.AddConstraint(table=table, constraint=c, span=span)
            elif t == T.AT_DropColumn:
                yield ops.DropColumn(
                    table=table, column=cmd.name, if_exists=bool(cmd.missing_ok), span=span
                )
            elif t == T.AT_AlterColumnType:
                type_ref, _ = self._type(cmd.def_.typeName)
                using = cmd.def_.raw_default
                yield ops.AlterColumnType(
                    table=table,
                    column=cmd.name,
                    type=type_ref,
                    using=self._expr_sql(using) if using is not None else None,
                    span=span,
                )
            elif t == T.AT_SetNotNull:
                yield ops.SetNotNull(table=table, column=cmd.name, span=span)
            elif t == T.AT_DropNotNull:
                yield ops.DropNotNull(table=table, column=cmd.name, span=span)
            elif t == T.AT_ColumnDefault:
                if cmd.def_ is None:
                    yield ops.DropDefault(table=table, column=cmd.name, span=span)
                else:
                    default = ops.Default(self._expr_sql(cmd.def_), self._volatile(cmd.def_))
                    yield ops.SetDefault(table=table, column=cmd.name, default=default, span=span)
            elif t == T.AT_AddConstraint:
                made = self._constraint(cmd.def_)
                if made is None:
                    yield ops.AlterTableOther(table=table, subcommand=t.name, span=span)
                else:
                    yield ops.AddConstraint(table=table, constraint=made, span=span)
            elif t == T.AT_ValidateConstraint:
                yield ops.ValidateConstraint(table=table, name=cmd.name, span=span)
            elif t == T.AT_DropConstraint:
                yield ops.DropConstraint(
                    table=table, name=cmd.name, if_exists=bool(cmd.missing_ok), span=span
                )
            elif t in (T.AT_SetRelOptions, T.AT_ResetRelOptions):
                params = tuple(str(d.defname) for d in cmd.def_ or ())
                yield ops.SetStorageParams(
                    table=table, params=params, reset=t == T.AT_ResetRelOptions, span=span
                )
            elif t in (T.AT_SetLogged, T.AT_SetUnLogged):
                yield ops.SetLogged(table=table, logged=t == T.AT_SetLogged, span=span)
            elif t == T.AT_SetTableSpace:
                yield ops.SetTablespace(table=table, tablespace=cmd.name, span=span)
            elif t == T.AT_AttachPartition:
                yield ops.AttachPartition(table=table, partition=self._name(cmd.def_.name), span=span)
            elif t == T.AT_DetachPartition:
                yield ops.DetachPartition(
                    table=table,
                    partition=self._name(cmd.def_.name),
                    concurrently=bool(cmd.def_.concurrent),
                    span=span,
                )
            else:
                yield ops.AlterTableOther(table=table, subcommand=t.name, span=span)

    def _RenameStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import ObjectType as O

        t = n.renameType
        if t == O.OBJECT_TABLE:
            yield ops.RenameTable(table=self._name(n.relation), new_name=n.newname, span=self.span)
        elif t == O.OBJECT_COLUMN and n.relationType == O.OBJECT_TABLE:
            yield ops.RenameColumn(
                table=self._name(n.relation), column=n.subname, new_name=n.newname, span=self.span
            )
        elif t == O.OBJECT_INDEX:
            yield ops.RenameIndex(index=self._name(n.relation), new_name=n.newname, span=self.span)
        elif t == O.OBJECT_TABCONSTRAINT:
            yield ops.AlterTableOther(
                table=self._name(n.relation), subcommand="RenameConstraint", span=self.span
            )
        elif t in (O.OBJECT_VIEW, O.OBJECT_MATVIEW, O.OBJECT_SEQUENCE):
            yield ops.AlterTableOther(
                table=self._name(n.relation), subcommand=f"Rename{t.name[7:].title()}", span=self.span
            )

    def _IndexStmt(self, n: Any) -> Iterator[ops.Op]:
        columns = tuple(str(p.name) for p in n.indexParams or () if p.name)
        yield ops.CreateIndex(
            table=self._name(n.relation),
            name=n.idxname,
            columns=columns,
            unique=bool(n.unique),
            concurrently=bool(n.concurrent),
            if_not_exists=bool(n.if_not_exists),
            span=self.span,
        )

    def _DropStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import DropBehavior
        from pglast.enums import ObjectType as O

        t = n.removeType
        cascade = n.behavior == DropBehavior.DROP_CASCADE
        if_exists = bool(n.missing_ok)
        names = tuple(
            _dotted(o.names) if hasattr(o, "names") else _dotted(o) if isinstance(o, tuple)
            else str(getattr(o, "sval", o))
            for o in n.objects or ()
        )
        if t == O.OBJECT_TABLE:
            yield ops.DropTable(tables=names, if_exists=if_exists, cascade=cascade, span=self.span)
        elif t == O.OBJECT_INDEX:
            yield ops.DropIndex(
                indexes=names, concurrently=bool(n.concurrent), if_exists=if_exists, span=self.span
            )
        elif t == O.OBJECT_SCHEMA:
            yield ops.DropSchema(names=names, if_exists=if_exists, cascade=cascade, span=self.span)
        elif t in (O.OBJECT_TRIGGER, O.OBJECT_POLICY, O.OBJECT_RULE):
            for obj in n.objects or ():
                parts = _strings(obj)
                yield ops.DropObject(
                    object_kind=t.name[7:].lower(),
                    names=(parts[-1],),
                    if_exists=if_exists,
                    cascade=cascade,
                    table=".".join(parts[:-1]),
                    span=self.span,
                )
        else:
            yield ops.DropObject(
                object_kind=t.name[7:].lower(),
                names=names,
                if_exists=if_exists,
                cascade=cascade,
                span=self.span,
            )

    def _DropdbStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.DropDatabase(name=n.dbname, if_exists=bool(n.missing_ok), span=self.span)

    def _TruncateStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Truncate(tables=tuple(self._name(r) for r in n.relations), span=self.span)

    def _LockStmt(self, n: Any) -> Iterator[ops.Op]:
        modes = [
            "",
            "AccessShareLock",
            "RowShareLock",
            "RowExclusiveLock",
            "ShareUpdateExclusiveLock",
            "ShareLock",
            "ShareRowExclusiveLock",
            "ExclusiveLock",
            "AccessExclusiveLock",
        ]
        yield ops.LockTable(
            tables=tuple(self._name(r) for r in n.relations), mode=modes[n.mode], span=self.span
        )

    def _ReindexStmt(self, n: Any) -> Iterator[ops.Op]:
        concurrently = any(str(p.defname) == "concurrently" for p in n.params or ())
        target = n.kind.name.split("_")[-1].lower()
        name = self._name(n.relation) if n.relation is not None else str(n.name or "")
        yield ops.Reindex(target=target, name=name, concurrently=concurrently, span=self.span)

    def _VacuumStmt(self, n: Any) -> Iterator[ops.Op]:
        if not n.is_vacuumcmd:
            yield ops.Vacuum(
                tables=tuple(self._name(r.relation) for r in n.rels or ()), full=False, span=self.span
            )
            return
        full = any(str(o.defname) == "full" for o in n.options or ())
        yield ops.Vacuum(
            tables=tuple(self._name(r.relation) for r in n.rels or ()), full=full, span=self.span
        )

    def _ClusterStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Cluster(table=self._name(n.relation) if n.relation else None, span=self.span)

    def _CreateTrigStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.CreateTrigger(table=self._name(n.relation), name=n.trigname, span=self.span)

    def _CreatePolicyStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.CreatePolicy(table=self._name(n.table), name=n.policy_name, span=self.span)

    def _RefreshMatViewStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.RefreshMaterializedView(
            view=self._name(n.relation), concurrently=bool(n.concurrent), span=self.span
        )

    def _CommentStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import ObjectType as O

        obj = n.object
        parts = _strings(obj) if isinstance(obj, tuple) else ()
        table = None
        if n.objtype == O.OBJECT_TABLE:
            table = ".".join(parts)
        elif n.objtype == O.OBJECT_COLUMN:
            table = ".".join(parts[:-1])
        yield ops.Comment(target=n.objtype.name[7:].lower(), table=table, span=self.span)

    def _CreateEnumStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.CreateEnum(name=_dotted(n.typeName), values=_strings(n.vals), span=self.span)

    def _AlterEnumStmt(self, n: Any) -> Iterator[ops.Op]:
        if n.oldVal:
            yield ops.RenameEnumValue(
                type_name=_dotted(n.typeName), old=n.oldVal, new=n.newVal, span=self.span
            )
        else:
            yield ops.AddEnumValue(
                type_name=_dotted(n.typeName),
                value=n.newVal,
                if_not_exists=bool(n.skipIfNewValExists),
                span=self.span,
            )

    def _create(self, kind: str, name: str, **kw: bool) -> Iterator[ops.Op]:
        yield ops.CreateObject(object_kind=kind, name=name, span=self.span, **kw)

    def _CreateSchemaStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("schema", str(n.schemaname), if_not_exists=bool(n.if_not_exists))

    def _CreateSeqStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create(
            "sequence", self._name(n.sequence), if_not_exists=bool(n.if_not_exists)
        )

    def _CreateFunctionStmt(self, n: Any) -> Iterator[ops.Op]:
        kind = "procedure" if n.is_procedure else "function"
        yield from self._create(kind, _dotted(n.funcname), or_replace=bool(n.replace))

    def _CreateExtensionStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("extension", str(n.extname), if_not_exists=bool(n.if_not_exists))

    def _ViewStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("view", self._name(n.view), or_replace=bool(n.replace))

    def _CompositeTypeStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("type", self._name(n.typevar))

    def _CreateDomainStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("domain", _dotted(n.domainname))

    def _DefineStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create(n.kind.name[7:].lower(), _dotted(n.defnames))

    def _CreateRoleStmt(self, n: Any) -> Iterator[ops.Op]:
        yield from self._create("role", str(n.role))

    def _GrantStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Privileges(statement="grant" if n.is_grant else "revoke", span=self.span)

    def _GrantRoleStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Privileges(statement="grant_role", span=self.span)

    def _AlterDefaultPrivilegesStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Privileges(statement="alter_default_privileges", span=self.span)

    def _AlterOwnerStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Privileges(statement="alter_owner", span=self.span)

    def _InsertStmt(self, n: Any) -> Iterator[ops.Op]:
        from_query = n.selectStmt is not None and bool(getattr(n.selectStmt, "fromClause", None))
        yield ops.Insert(table=self._name(n.relation), from_query=from_query, span=self.span)

    def _UpdateStmt(self, n: Any) -> Iterator[ops.Op]:
        columns = tuple(str(t.name) for t in n.targetList or () if getattr(t, "name", None))
        yield ops.Update(
            table=self._name(n.relation),
            has_where=n.whereClause is not None,
            columns=columns,
            span=self.span,
        )

    def _DeleteStmt(self, n: Any) -> Iterator[ops.Op]:
        yield ops.Delete(table=self._name(n.relation), has_where=n.whereClause is not None, span=self.span)

    def _VariableSetStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import VariableSetKind as K

        name = str(n.name or "all")
        if n.kind == K.VAR_SET_VALUE:
            values = []
            for a in n.args or ():
                v = getattr(a, "val", a)
                values.append(str(getattr(v, "sval", None) or getattr(v, "ival", None) or ""))
            value: str | None = ", ".join(values)
        elif n.kind == K.VAR_SET_DEFAULT or n.kind in (K.VAR_RESET, K.VAR_RESET_ALL):
            value = None
        else:
            return
        yield ops.SetSetting(name=name.lower(), value=value, local=bool(n.is_local), span=self.span)

    def _TransactionStmt(self, n: Any) -> Iterator[ops.Op]:
        from pglast.enums import TransactionStmtKind as K

        actions = {
            K.TRANS_STMT_BEGIN: "begin",
            K.TRANS_STMT_START: "begin",
            K.TRANS_STMT_COMMIT: "commit",
            K.TRANS_STMT_ROLLBACK: "rollback",
            K.TRANS_STMT_SAVEPOINT: "savepoint",
            K.TRANS_STMT_RELEASE: "release",
            K.TRANS_STMT_ROLLBACK_TO: "rollback_to",
        }
        action = actions.get(n.kind)
        if action is not None:
            yield ops.Transaction(action=action, span=self.span)  # type: ignore[arg-type]
