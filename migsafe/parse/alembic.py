"""Alembic revision scripts read with ``ast``, without importing them.

Real revisions import their application (``from CTFd.models import db``), which is often
not installed where the linter runs (a pre-commit hook's isolated environment). So the
script is parsed, never executed: every ``op.*`` / ``batch_op.*`` call in ``upgrade()`` and
``downgrade()`` (and in the module's helper functions they call) whose arguments are
literal enough is rendered to the PostgreSQL DDL Alembic would emit for it, and that DDL
goes through the same pglast frontend as SQL files. Every span of the resulting ops is then
moved onto the Python expression it came from: a statement onto the ``op.*`` call, a column
onto its ``sa.Column(...)``, a type onto ``sa.String(255)``. ``op.execute("…")`` with a
plain string literal is parsed in place, so its spans point into the string itself.

A call whose arguments need evaluating (a loop variable, a helper's result, a SQLAlchemy
expression, a type from the application) becomes an :class:`Unresolved` with the reason,
for :mod:`migsafe.alembic_render` to try by execution, or to report. Nothing is dropped.

Neither SQLAlchemy nor Alembic is imported here: the names are matched as written.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from migsafe import ops
from migsafe.ops import Span, Statement
from migsafe.parse.text import SourceText

ANNOTATION_NAMES = ("migsafe_phase", "migsafe_release", "migsafe_ignore")
_IGNORE_COMMENT = "migsafe:ignore"


@dataclass(frozen=True)
class Unresolved:
    """An ``op.*`` call the static reader cannot turn into SQL, and why."""

    span: Span
    call: str
    reason: str


@dataclass
class Body:
    """What one of ``upgrade`` / ``downgrade`` does, in source order. ``items`` holds each
    call's statements, or an :class:`Unresolved` in its place."""

    name: str
    params: tuple[str, ...]
    items: list[list[Statement] | Unresolved] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Unresolved]:
        return [i for i in self.items if isinstance(i, Unresolved)]

    def statements(self) -> list[Statement]:
        return [st for i in self.items if not isinstance(i, Unresolved) for st in i]


@dataclass
class Script:
    """One revision script as read: identifiers, annotations and its two directions."""

    revision: str | None = None
    down_revision: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    has_revision: bool = False
    ignore: frozenset[str] = frozenset()
    problems: list[tuple[int, int, str]] = field(default_factory=list)
    upgrade: Body | None = None
    downgrade: Body | None = None


class ScriptSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


# -- module level -------------------------------------------------------------------------------


def _names(value: Any) -> tuple[str, ...] | None:
    """``None``, a string, or a tuple/list of strings as a tuple; None when it is not one."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse_tree(text: str, filename: str = "<revision>") -> ast.Module:
    try:
        return ast.parse(text, filename)
    except SyntaxError as exc:
        raise ScriptSyntaxError(
            f"Python syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1
        ) from None


def header(tree: ast.Module) -> Script:
    """The module-level names Alembic reads (``revision``, ``down_revision``,
    ``branch_labels``, ``depends_on``) and migsafe's own, from literal assignments."""
    script = Script()
    for node in tree.body:
        target, value = _assignment(node)
        if target is None or value is None:
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = _NOT_LITERAL
        where = (node.lineno, node.col_offset + 1)
        if target == "revision":
            script.has_revision = True
            if isinstance(literal, str):
                script.revision = literal
            else:
                script.problems.append((*where, "revision must be a string literal"))
        elif target in ("down_revision", "branch_labels", "depends_on"):
            names = _names(literal)
            if names is None:
                script.problems.append(
                    (*where, f"{target} must be None, a string or a tuple of strings")
                )
            else:
                setattr(script, target, names)
        elif target == "migsafe_ignore":
            ids = _names(literal)
            if ids is None:
                script.problems.append((*where, "migsafe_ignore must be a list of rule ids"))
            else:
                script.ignore = frozenset(ids)
        elif target.startswith("migsafe_") and target not in ANNOTATION_NAMES:
            script.problems.append(
                (*where, f"unknown annotation {target!r}; known: {', '.join(ANNOTATION_NAMES)}")
            )
    return script


_NOT_LITERAL = object()


def assigned_names(tree: ast.Module) -> set[str]:
    """Names the module assigns at its top level."""
    return {name for node in tree.body if (name := _assignment(node)[0]) is not None}


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def read(text: str, filename: str = "<revision>") -> Script:
    """The whole script: header, and each direction's statements and unresolved calls."""
    tree = parse_tree(text, filename)
    script = header(tree)
    reader = _Reader(text, tree)
    for name in ("upgrade", "downgrade"):
        fn = reader.functions.get(name)
        if fn is not None:
            setattr(script, name, reader.body(fn))
    return script


# -- values -------------------------------------------------------------------------------------


class _Unknown(Exception):
    """An expression the reader cannot evaluate without running the script."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


_SQLALCHEMY_ROOTS = ("sqlalchemy", "sa")

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
_CONSTRAINTS = {
    "ForeignKeyConstraint",
    "PrimaryKeyConstraint",
    "UniqueConstraint",
    "CheckConstraint",
    "Index",
}
_KNOWN = {
    *TYPES,
    *_CONSTRAINTS,
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


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


class _Reader:
    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text = text
        self.source = SourceText(text)
        self.lines = text.split("\n")
        self.functions: dict[str, ast.FunctionDef] = {}
        self.imports: dict[str, str] = {}  # local name → module path it comes from
        self.constants: dict[str, ast.expr] = {}
        assigned: dict[str, int] = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            target, value = _assignment(node)
            if target is not None and value is not None:
                assigned[target] = assigned.get(target, 0) + 1
                self.constants[target] = value
        for name, count in assigned.items():
            if count > 1:
                del self.constants[name]
        self.op_names = {n for n, path in self.imports.items() if path == "alembic.op"}

    # -- positions ------------------------------------------------------------------------------

    def offset(self, line: int, col_bytes: int) -> int:
        """Character offset of an ast position (whose column counts UTF-8 bytes)."""
        text = self.lines[line - 1]
        column = len(text.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))
        return self.source._line_starts[line - 1] + column

    def span(self, node: ast.AST) -> Span:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(
            node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            node.end_col_offset or 0,  # type: ignore[attr-defined]
        )
        return self.source.span(start, end)

    # -- walking --------------------------------------------------------------------------------

    def body(self, fn: ast.FunctionDef) -> Body:
        params = tuple(a.arg for a in (*fn.args.posonlyargs, *fn.args.args))
        result = Body(fn.name, params)
        walker = _Walk(self, result, fn, frozenset(params) & {"op"}, (fn.name,))
        walker.statements(fn.body)
        return result


_BATCH = "batch_alter_table"


class _Walk:
    """One function body, statement by statement, with the names it binds."""

    def __init__(
        self,
        reader: _Reader,
        out: Body,
        fn: ast.FunctionDef,
        op_params: frozenset[str],
        stack: tuple[str, ...],
    ) -> None:
        self.r = reader
        self.out = out
        self.fn = fn
        self.stack = stack
        self.ops = set(reader.op_names) | set(op_params)
        self.batch: dict[str, tuple[Any, str | None]] = {}  # name → (table, schema)
        self.params = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        self.locals: dict[str, ast.expr] = {}
        self.unknown_locals: set[str] = set()
        counts: dict[str, int] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
        for node in ast.walk(fn):
            target, value = _assignment(node) if isinstance(node, ast.stmt) else (None, None)
            if target is not None and value is not None and counts.get(target) == 1:
                self.locals[target] = value
        self.unknown_locals = {n for n in counts if n not in self.locals}
        for node in ast.walk(fn):
            if isinstance(node, ast.Import | ast.ImportFrom):
                self.unknown_locals |= {(a.asname or a.name).split(".")[0] for a in node.names}

    def statements(self, body: Sequence[ast.stmt]) -> None:
        for node in body:
            self.statement(node)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.With) and any(self._autocommit(i.context_expr) for i in node.items):
            self._autocommit_block(node)
            return
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == _BATCH
                    and self._is_op(call.func.value)
                ):
                    if isinstance(item.optional_vars, ast.Name):
                        self.batch[item.optional_vars.id] = self._batch_target(call)
                else:
                    self.calls(call)
            self.statements(node.body)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return
        # Every other statement: its calls in source order, then nested blocks in order.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self.statement(child)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                self.statements(child.body)
            elif isinstance(child, ast.expr):
                self.calls(child)

    def _autocommit(self, expr: ast.expr) -> bool:
        """``op.get_context().autocommit_block()``."""
        return (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "autocommit_block"
            and isinstance(expr.func.value, ast.Call)
            and isinstance(expr.func.value.func, ast.Attribute)
            and expr.func.value.func.attr == "get_context"
            and self._is_op(expr.func.value.func.value)
        )

    def _autocommit_block(self, node: ast.With) -> None:
        """Alembic commits the migration's transaction on entering the block and begins a
        new one on leaving it: the IR says so with COMMIT and BEGIN at the ``with`` (the
        tool's own doing, so never a transaction-nesting finding)."""
        span = self.r.span(node)
        tool = frozenset({"transaction-nesting"})

        def mark(action: Literal["commit", "begin"]) -> None:
            op = ops.Transaction(action=action, span=span)
            self.out.items.append([Statement(action.upper(), span, (op,), tool)])

        mark("commit")
        self.statements(node.body)
        mark("begin")

    def _batch_target(self, call: ast.Call) -> tuple[Any, str | None]:
        try:
            args = _Args(self, call)
            table = args.get(0, "table_name")
            schema = args.get(None, "schema")
        except _Unknown as exc:
            return _BatchUnknown(exc.reason), None
        return table, schema

    def _is_op(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.ops

    def calls(self, expr: ast.expr) -> None:
        """The op calls in an expression, outermost last (arguments run first)."""
        for node in _calls_in_order(expr):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if func.value.id in self.ops:
                    self.op_call(node, func.attr, None)
                elif func.value.id in self.batch:
                    self.op_call(node, func.attr, self.batch[func.value.id])
            elif (
                isinstance(func, ast.Name)
                and func.id in self.r.functions
                and func.id not in self.stack
                and len(self.stack) < 5
            ):
                helper = self.r.functions[func.id]
                _Walk(
                    self.r, self.out, helper, self._passed_op(node, helper), (*self.stack, func.id)
                ).statements(helper.body)

    def _passed_op(self, call: ast.Call, helper: ast.FunctionDef) -> frozenset[str]:
        """Parameters of ``helper`` that receive ``op`` at this call."""
        names = [a.arg for a in (*helper.args.posonlyargs, *helper.args.args)]
        passed = {names[i] for i, a in enumerate(call.args[: len(names)]) if self._is_op(a)}
        passed |= {k.arg for k in call.keywords if k.arg and self._is_op(k.value)}
        return frozenset(passed)

    def op_call(self, node: ast.Call, name: str, batch: tuple[Any, str | None] | None) -> None:
        receiver = "batch_op" if batch is not None else "op"
        label = f"{receiver}.{name}"
        span = self.r.span(node)
        render = _RENDER.get(name)
        if name in _NOT_OPS:
            return
        try:
            if render is None:
                raise _Unknown(_OTHER_REASONS.get(name, f"migsafe does not read {label}()"))
            if batch is not None and isinstance(batch[0], _BatchUnknown):
                raise _Unknown(f"the batch_alter_table table: {batch[0].reason}")
            args = _Args(self, node, batch)
            statements = render(self, args)
        except _Unknown as exc:
            self.out.items.append(Unresolved(span, label, exc.reason))
            return
        ignores = self._ignores(node)
        made: list[Statement] = []
        for item in statements:
            made.extend(self._finish(item, node, ignores))
        self.out.items.append(made)

    def _ignores(self, node: ast.Call) -> frozenset[str]:
        return call_ignores(self.r.lines, node.lineno, node.end_lineno or node.lineno)

    def _finish(
        self, item: _Sql | _InPlace, node: ast.Call, ignores: frozenset[str]
    ) -> list[Statement]:
        from migsafe.parse.postgres import SqlSyntaxError, parse

        if isinstance(item, _InPlace):
            try:
                parsed = parse(item.text)
            except SqlSyntaxError as exc:
                raise _Unknown(
                    f"the SQL does not parse: {exc.message} (line {exc.line}, column {exc.column})"
                ) from None
            return [dataclasses.replace(st, ignores=ignores) for st in parsed]
        sql = item.text
        try:
            parsed = parse(sql)
        except SqlSyntaxError as exc:
            raise _Unknown(f"rendered SQL does not parse: {exc.message}: {sql}") from None
        call = self.r.span(node)
        marks = sorted(item.marks, key=lambda m: m[1] - m[0])
        spans = {id(n): self.r.span(n) for _, _, n in marks}

        def move(s: Span) -> Span:
            for start, end, n in marks:
                if start <= s.start and s.end <= end and (s.start, s.end) != (0, len(sql)):
                    return spans[id(n)]
            return call

        return [
            Statement(
                sql=st.sql,
                span=call,
                ops=tuple(respan(op, move) for op in st.ops),
                ignores=ignores,
            )
            for st in parsed
        ]

    # -- evaluation -----------------------------------------------------------------------------

    def value(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > 20:
            raise _Unknown("the expression nests too deeply")
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(e, depth + 1) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {
                self.value(k, depth + 1): self.value(v, depth + 1)
                for k, v in zip(node.keys, node.values, strict=True)
                if k is not None
            }
        if isinstance(node, ast.Name):
            return self._name(node, depth)
        if isinstance(node, ast.Attribute):
            parts = _dotted(node)
            if parts and parts[0] in self.params and parts[0] == "tables" and len(parts) == 2:
                return TableRef(parts[1])
            if parts and parts[-1] in _KNOWN and self._sqlalchemy(parts):
                return Construct(parts[-1], (), {}, node)
            raise _Unknown(f"`{ast.unparse(node)}` is not a literal")
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
        if isinstance(node, ast.JoinedStr):
            raise _Unknown("an f-string is built when the script runs")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand, depth + 1)
            if isinstance(inner, int | float):
                return -inner
        raise _Unknown(f"`{_short(node)}` is computed when the script runs")

    def _name(self, node: ast.Name, depth: int) -> Any:
        name = node.id
        if name in self.locals:
            return self.value(self.locals[name], depth + 1)
        if name in self.unknown_locals or name in self.params:
            raise _Unknown(f"`{name}` is set when the script runs")
        if name in self.r.constants:
            return self.value(self.r.constants[name], depth + 1)
        if name in self.r.imports:
            path = self.r.imports[name]
            if path.split(".")[0] == "sqlalchemy" and name in _KNOWN:
                return Construct(name, (), {}, node)
            raise _Unknown(f"`{name}` comes from {path.rsplit('.', 1)[0]}, which is not read")
        raise _Unknown(f"`{name}` is not defined in the script")

    def _sqlalchemy(self, parts: list[str]) -> bool:
        """A dotted name reaching a SQLAlchemy construct: through an import of sqlalchemy
        (``sa.Integer``, ``mysql.VARCHAR``) or a Flask-SQLAlchemy style ``db.Integer``."""
        root = self.r.imports.get(parts[0], "")
        if root.split(".")[0] == "sqlalchemy":
            return True
        return len(parts) == 2 and parts[0] not in self.params and parts[0] in self.r.imports

    def _call(self, node: ast.Call, depth: int) -> Any:
        func = node.func
        parts = _dotted(func)
        if parts is None:
            raise _Unknown(f"`{_short(node)}` is computed when the script runs")
        if len(parts) == 2 and parts[0] in self.ops and parts[1] in ("f", "inline_literal"):
            if len(node.args) != 1:
                raise _Unknown(f"op.{parts[1]}() takes one argument")
            return self.value(node.args[0], depth + 1)
        if len(parts) >= 2 and parts[-2] == "func":
            return _function(parts[-1], [self.value(a, depth + 1) for a in node.args])
        known = parts[-1] in _KNOWN and (
            (len(parts) == 1 and self.r.imports.get(parts[0], "").startswith("sqlalchemy"))
            or (len(parts) > 1 and self._sqlalchemy(parts))
        )
        if not known:
            where = self.r.imports.get(parts[0])
            origin = f" from {where.rsplit('.', 1)[0]}" if where and len(parts) == 1 else ""
            raise _Unknown(
                f"`{ast.unparse(func)}`{origin} is not a SQLAlchemy construct migsafe knows"
            )
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise _Unknown(f"`{_short(a)}` unpacks a value computed when the script runs")
            args.append(self.value(a, depth + 1))
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                raise _Unknown(f"`**{_short(k.value)}` is computed when the script runs")
            kwargs[k.arg] = self.value(k.value, depth + 1)
        name = parts[-1]
        if name == "text":
            return Raw(_str(args[0] if args else kwargs.get("text"), "sa.text()"))
        if name == "literal_column":
            return Raw(_str(args[0] if args else None, "literal_column()"))
        if name in ("true", "false", "null"):
            return Raw(name)
        if name == "table":
            return TableRef(
                _str(args[0] if args else None, "table()"),
                tuple(a.args[0] for a in args[1:] if isinstance(a, Construct) and a.args),
            )
        return Construct(name, tuple(args), kwargs, node)


_SQL_KEYWORD_FUNCTIONS = {"current_timestamp", "current_date", "current_time", "localtimestamp"}


def _function(name: str, args: list[Any]) -> Raw:
    """``sa.func.now()`` as SQL: keyword functions bare, others with literal arguments."""
    if name.lower() in _SQL_KEYWORD_FUNCTIONS and not args:
        return Raw(name.upper())
    return Raw(f"{name}({', '.join(_literal(a) for a in args)})")


@dataclass(frozen=True)
class _BatchUnknown:
    reason: str


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Unknown(f"{what} needs a string")
    return value


def _calls_in_order(expr: ast.expr) -> Iterator[ast.Call]:
    """Calls in evaluation order: arguments before the call that receives them. A lambda's
    calls are left alone: they run later, if ever."""
    if isinstance(expr, ast.Lambda):
        return
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr):
            yield from _calls_in_order(child)
    if isinstance(expr, ast.Call):
        yield expr


def call_ignores(lines: Sequence[str], first: int, last: int) -> frozenset[str]:
    """Rule ids from ``# migsafe:ignore id -- reason`` on the line above a call (lines
    ``first`` to ``last``) or at the end of its last line."""
    found: set[str] = set()
    for number in (first - 1, last):
        if 1 <= number <= len(lines):
            found |= _ignore_ids(lines[number - 1])
    return frozenset(found)


def _ignore_ids(line: str) -> set[str]:
    at = line.find("#")
    if at < 0 or _IGNORE_COMMENT not in line[at:]:
        return set()
    rest = line[line.index(_IGNORE_COMMENT, at) + len(_IGNORE_COMMENT) :]
    ids = rest.split("--", 1)[0]
    return {i.strip() for i in ids.replace(",", " ").split() if i.strip()}


def ignore_mentions(text: str) -> list[tuple[int, int, str]]:
    """Every rule id named in a ``# migsafe:ignore`` comment, with its line and column, so
    a misspelt id is reported rather than silently suppressing nothing."""
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        for rule_id in sorted(_ignore_ids(line)):
            found.append((number, line.find(rule_id) + 1, rule_id))
    return found


def respan(value: Any, move: Callable[[Span], Span]) -> Any:
    """``value`` (an op, column, type ...) with every span in it replaced by ``move``."""
    if isinstance(value, Span):
        return move(value)
    if isinstance(value, tuple):
        return tuple(respan(v, move) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{f.name: respan(getattr(value, f.name), move) for f in dataclasses.fields(value)},
        )
    return value


# -- arguments ----------------------------------------------------------------------------------


class _Args:
    """A call's arguments, evaluated on demand (an argument the renderer never needs, such
    as ``existing_type``, may stay unevaluable)."""

    def __init__(
        self, walk: _Walk, node: ast.Call, batch: tuple[Any, str | None] | None = None
    ) -> None:
        self.walk = walk
        self.node = node
        self.batch = batch
        self.positional = list(node.args)
        self.keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise _Unknown("the arguments are unpacked from values computed when the script runs")

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
        return default if node is None else self.walk.value(node)

    def rest(self, start: int) -> list[Any]:
        return [self.walk.value(a) for a in self.positional[start:]]


# -- rendering ----------------------------------------------------------------------------------


@dataclass
class _Sql:
    """Rendered SQL with a map from ranges of it to the Python nodes they came from."""

    parts: list[str] = field(default_factory=list)
    marks: list[tuple[int, int, ast.AST]] = field(default_factory=list)
    length: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> _Sql:
        self.parts.append(text)
        self.length += len(text)
        return self

    def mark(self, start: int, node: ast.AST | None) -> None:
        if node is not None:
            self.marks.append((start, self.length, node))


@dataclass(frozen=True)
class _InPlace:
    """The script's text with everything outside one string literal blanked: SQL whose
    offsets are the file's own."""

    text: str


def ident(name: Any) -> str:
    if name is None:
        raise _Unknown("a name is None (a naming convention fills it in when the script runs)")
    if not isinstance(name, str) or not name:
        raise _Unknown(f"expected a name, got {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _qualified(name: Any, schema: Any = None) -> str:
    if isinstance(name, TableRef):
        name = name.name
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def _literal(value: Any) -> str:
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
    raise _Unknown(
        f"`{_short(value.node) if isinstance(value, Construct) else value!r}` "
        "is not a SQL default migsafe can render"
    )


class _Type:
    """A SQLAlchemy type as PostgreSQL SQL, plus the enum it needs created."""

    def __init__(self, value: Any) -> None:
        self.enum: tuple[str, tuple[str, ...]] | None = None
        self.integer = False
        if not isinstance(value, Construct):
            raise _Unknown(f"`{value!r}` is not a column type migsafe knows")
        self.node = value.node
        self.sql = self._render(value)

    def _render(self, t: Construct) -> str:
        name = t.name
        if name in ("DateTime", "DATETIME", "TIMESTAMP"):
            return "timestamptz" if t.kw("timezone") else "timestamp"
        if name in ("Enum", "ENUM"):
            values = tuple(v for v in t.args if isinstance(v, str))
            if len(values) != len(t.args) or not values:
                raise _Unknown("an Enum of a Python enum class needs the class imported")
            enum_name = t.kw("name")
            if t.kw("native_enum", True) is False or not enum_name:
                return f"varchar({max(len(v) for v in values)})"
            self.enum = (enum_name, values)
            return ident(enum_name)
        if name == "ARRAY":
            inner = _Type(t.args[0] if t.args else t.kw("item_type"))
            return inner.sql + "[]"
        if name not in TYPES:
            raise _Unknown(f"`{_short(t.node)}` is not a column type")
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
    sql: _Sql
    column: Construct
    name: str
    index: bool
    unique: bool
    enum: tuple[str, tuple[str, ...]] | None
    foreign_keys: list[tuple[Construct, ast.AST]]


def _column(
    out: _Sql, value: Any, *, in_create: bool, primary: bool = False, single_pk: bool = False
) -> _ColumnSql:
    """One column definition. ``primary``: the column is (part of) the table's primary
    key; ``single_pk``: it is the whole key, so it carries PRIMARY KEY itself and, as an
    integer without a foreign key, becomes the SERIAL SQLAlchemy creates."""
    if not isinstance(value, Construct) or value.name != "Column":
        raise _Unknown("expected an sa.Column(...)")
    args = list(value.args)
    name = args.pop(0) if args and isinstance(args[0], str) else value.kw("name")
    if not isinstance(name, str):
        raise _Unknown("the column has no literal name")
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
        raise _Unknown(f"column {name!r} has no type")
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
    inline_pk = in_create and primary and single_pk
    has_fk = any(isinstance(a, Construct) and a.name == "ForeignKey" for a in args)
    serial = (
        inline_pk
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
        out.add(f" GENERATED ALWAYS AS ({_str(computed.args[0], 'Computed()')}) STORED")
    default = value.kw("server_default")
    if default is not None:
        default_start = out.length
        out.add(" DEFAULT " + _literal(default))
        out.mark(default_start, value.node)
    nullable = value.kw("nullable", not primary)
    if not nullable and not inline_pk:
        out.add(" NOT NULL")
    if inline_pk:
        out.add(" PRIMARY KEY")
    fks: list[tuple[Construct, ast.AST]] = [
        (a, a.node) for a in args if isinstance(a, Construct) and a.name == "ForeignKey"
    ]
    if in_create:
        for fk, node in fks:
            fk_start = out.length
            out.add(" " + _references(fk))
            out.mark(fk_start, node)
    if value.kw("unique") and in_create:
        out.add(" UNIQUE")
    out.mark(start, value.node)
    return _ColumnSql(
        out, value, name, bool(value.kw("index")), bool(value.kw("unique")), kind.enum, fks
    )


def _references(fk: Construct) -> str:
    target = fk.args[0] if fk.args else fk.kw("column")
    if not isinstance(target, str) or "." not in target:
        raise _Unknown("ForeignKey needs a literal 'table.column'")
    table, _, column = target.rpartition(".")
    schema, _, table = table.rpartition(".")
    sql = f"REFERENCES {_qualified(table, schema or None)} ({ident(column)})"
    return sql + _fk_actions(fk.kwargs)


def _fk_actions(kwargs: dict[str, Any]) -> str:
    sql = ""
    if kwargs.get("ondelete"):
        sql += f" ON DELETE {_str(kwargs['ondelete'], 'ondelete')}"
    if kwargs.get("onupdate"):
        sql += f" ON UPDATE {_str(kwargs['onupdate'], 'onupdate')}"
    if kwargs.get("deferrable"):
        sql += " DEFERRABLE"
    if kwargs.get("initially"):
        sql += f" INITIALLY {_str(kwargs['initially'], 'initially')}"
    return sql


def _cols(values: Any) -> str:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise _Unknown("expected a list of column names")
    out = []
    for v in values:
        if isinstance(v, Raw):
            out.append(f"({v.sql})")
        elif isinstance(v, Construct) and v.name == "Column":
            out.append(ident(v.args[0] if v.args else None))
        else:
            out.append(ident(v))
    return ", ".join(out)


def _table_constraint(c: Construct, table: str) -> str:
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
        return prefix + f"CHECK ({_str(condition, 'CheckConstraint()')})"
    if c.name == "ForeignKeyConstraint":
        local, remote = (*c.args, None, None)[:2]
        if not isinstance(remote, list) or not remote:
            raise _Unknown("ForeignKeyConstraint needs literal column lists")
        refs = [_str(r, "ForeignKeyConstraint()") for r in remote]
        ref_table = refs[0].rpartition(".")[0]
        schema, _, ref_table = ref_table.rpartition(".")
        return prefix + (
            f"FOREIGN KEY ({_cols(local)}) REFERENCES {_qualified(ref_table, schema or None)} "
            f"({_cols([r.rpartition('.')[2] for r in refs])})" + _fk_actions(c.kwargs)
        )
    raise _Unknown(f"{c.name} inside create_table is not read")


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
    sql += f" USING {_str(using, 'postgresql_using')}" if using else ""
    sql += f" ({columns})"
    if where is not None:
        sql += " WHERE " + (where.sql if isinstance(where, Raw) else _str(where, "where"))
    return sql


Rendered = list["_Sql | _InPlace"]


def _table_args(w: _Walk, a: _Args, index: int, name: str) -> tuple[str, str]:
    """The table a call names (or its batch's) and the schema, as SQL."""
    if a.batch is not None:
        table, schema = a.batch
        return _qualified(table, schema), str(table)
    table = a.get(index, name)
    if isinstance(table, TableRef):
        table = table.name
    schema = a.get(None, "schema")
    return _qualified(table, schema), _str(table, name)


def _shift(a: _Args, index: int) -> int:
    """Positional index once the batch's table is taken out of the signature."""
    return index - 1 if a.batch is not None else index


def _add_column(w: _Walk, a: _Args) -> Rendered:
    table, bare = _table_args(w, a, 0, "table_name")
    column = a.get(_shift(a, 1), "column")
    out = _Sql().add(f"ALTER TABLE {table} ADD COLUMN ")
    col = _column(out, column, in_create=False)
    result: Rendered = [out]
    for fk, node in col.foreign_keys:
        fk_sql = _Sql().add(f"ALTER TABLE {table} ADD FOREIGN KEY ({ident(col.name)}) ")
        start = fk_sql.length
        fk_sql.add(_references(fk))
        fk_sql.mark(start, node)
        result.append(fk_sql)
    if col.unique:
        result.append(_Sql().add(f"ALTER TABLE {table} ADD UNIQUE ({ident(col.name)})"))
    if col.index:
        result.append(
            _Sql().add(
                f"CREATE INDEX {ident(f'ix_{bare}_{col.name}')} ON {table} ({ident(col.name)})"
            )
        )
    return result


def _drop_column(w: _Walk, a: _Args) -> Rendered:
    table, _ = _table_args(w, a, 0, "table_name")
    column = a.get(_shift(a, 1), "column_name")
    return [_Sql().add(f"ALTER TABLE {table} DROP COLUMN {ident(column)}")]


def _alter_column(w: _Walk, a: _Args) -> Rendered:
    table, _ = _table_args(w, a, 0, "table_name")
    column = ident(a.get(_shift(a, 1), "column_name"))
    prefix = f"ALTER TABLE {table} ALTER COLUMN {column} "
    result: Rendered = []
    if a.has(None, "type_"):
        out = _Sql().add(prefix + "TYPE ")
        start = out.length
        kind = _Type(a.get(None, "type_"))
        out.add(kind.sql)
        out.mark(start, kind.node)
        using = a.get(None, "postgresql_using")
        if using is not None:
            out.add(" USING " + (using.sql if isinstance(using, Raw) else _str(using, "using")))
        result.append(out)
    if a.has(None, "nullable"):
        nullable = a.get(None, "nullable")
        if nullable is not None:
            result.append(_Sql().add(prefix + ("DROP NOT NULL" if nullable else "SET NOT NULL")))
    if a.has(None, "server_default"):
        default = a.get(None, "server_default")
        if default is None:
            result.append(_Sql().add(prefix + "DROP DEFAULT"))
        elif default is not False:
            result.append(_Sql().add(prefix + "SET DEFAULT " + _literal(default)))
    if a.has(None, "comment"):
        comment = a.get(None, "comment")
        if comment is not False:
            result.append(_Sql().add(f"COMMENT ON COLUMN {table}.{column} IS {_literal(comment)}"))
    if a.has(None, "new_column_name"):
        new = a.get(None, "new_column_name")
        result.append(_Sql().add(f"ALTER TABLE {table} RENAME COLUMN {column} TO {ident(new)}"))
    return result


def _create_table(w: _Walk, a: _Args) -> Rendered:
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
    out = _Sql().add(f"CREATE TABLE {table} (")
    made: list[_ColumnSql] = []
    constraints: list[Construct] = []
    for i, item in enumerate(items):
        if isinstance(item, Construct) and item.name in _CONSTRAINTS:
            constraints.append(item)
            continue
        if not (isinstance(item, Construct) and item.name == "Column"):
            raise _Unknown(f"argument {i + 2} of create_table is not a Column or constraint")
        if made:
            out.add(", ")
        primary = _column_name(item) in pk_names
        made.append(
            _column(out, item, in_create=True, primary=primary, single_pk=len(pk_names) == 1)
        )
    if len(pk_names) > 1:
        named = pk_constraint.kw("name") if pk_constraint is not None else None
        prefix = f"CONSTRAINT {ident(named)} " if named else ""
        out.add(f", {prefix}PRIMARY KEY ({', '.join(map(ident, pk_names))})")
    for c in constraints:
        if c.name in ("Index", "PrimaryKeyConstraint"):
            continue
        start = out.length
        out.add(", " + _table_constraint(c, table))
        out.mark(start + 2, c.node)
    out.add(")")
    result: Rendered = []
    for col in made:
        if col.enum is not None:
            enum_name, values = col.enum
            result.append(
                _Sql().add(
                    f"CREATE TYPE {ident(enum_name)} AS ENUM ("
                    + ", ".join(map(_literal, values))
                    + ")"
                )
            )
    result.append(out)
    bare = _str(name, "table_name")
    for col in made:
        if col.index:
            unique = "UNIQUE " if col.unique else ""
            result.append(
                _Sql().add(
                    f"CREATE {unique}INDEX {ident(f'ix_{bare}_{col.name}')} ON {table} "
                    f"({ident(col.name)})"
                )
            )
    for c in constraints:
        if c.name == "Index":
            idx = _Sql()
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
    return _str(value, "a column name")


def _drop_table(w: _Walk, a: _Args) -> Rendered:
    table = a.get(0, "table_name")
    if isinstance(table, TableRef):
        table = table.name
    return [_Sql().add(f"DROP TABLE {_qualified(table, a.get(None, 'schema'))}")]


def _rename_table(w: _Walk, a: _Args) -> Rendered:
    old = _qualified(a.get(0, "old_table_name"), a.get(None, "schema"))
    return [_Sql().add(f"ALTER TABLE {old} RENAME TO {ident(a.get(1, 'new_table_name'))}")]


def _create_index(w: _Walk, a: _Args) -> Rendered:
    name = a.get(0, "index_name")
    table, _ = _table_args(w, a, 1, "table_name")
    columns = a.get(_shift(a, 2), "columns")
    return [
        _Sql().add(
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


def _drop_index(w: _Walk, a: _Args) -> Rendered:
    name = a.get(0, "index_name")
    schema = a.get(None, "schema")
    sql = "DROP INDEX "
    sql += "CONCURRENTLY " if a.get(None, "postgresql_concurrently", False) else ""
    sql += "IF EXISTS " if a.get(None, "if_exists", False) else ""
    return [_Sql().add(sql + _qualified(name, schema))]


def _add_constraint(body: str) -> Callable[[_Walk, _Args], Rendered]:
    table_keyword = "source_table" if body == "foreign" else "table_name"

    def render(w: _Walk, a: _Args) -> Rendered:
        name = a.get(0, "constraint_name")
        table, _ = _table_args(w, a, 1, table_keyword)
        prefix = f"ALTER TABLE {table} ADD " + (f"CONSTRAINT {ident(name)} " if name else "")
        at = _shift(a, 2)
        if body == "unique":
            return [_Sql().add(prefix + f"UNIQUE ({_cols(a.get(at, 'columns'))})")]
        if body == "primary":
            return [_Sql().add(prefix + f"PRIMARY KEY ({_cols(a.get(at, 'columns'))})")]
        if body == "check":
            condition = a.get(at, "condition")
            if isinstance(condition, Raw):
                condition = condition.sql
            return [_Sql().add(prefix + f"CHECK ({_str(condition, 'condition')})")]
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
        return [_Sql().add(sql)]

    return render


def _drop_constraint(w: _Walk, a: _Args) -> Rendered:
    name = a.get(0, "constraint_name")
    table, _ = _table_args(w, a, 1, "table_name")
    return [_Sql().add(f"ALTER TABLE {table} DROP CONSTRAINT {ident(name)}")]


def _execute(w: _Walk, a: _Args) -> Rendered:
    node = a.node_of(0, "sqltext")
    value = a.get(0, "sqltext")
    if isinstance(value, Raw):
        value = value.sql
        if isinstance(node, ast.Call) and node.args:
            node = node.args[0]
    if not isinstance(value, str):
        raise _Unknown("op.execute() of a SQLAlchemy expression is built when the script runs")
    in_place = _in_place(w.r, node, value)
    if in_place is not None:
        return [in_place]
    return [_Sql().add(value)]


def _in_place(r: _Reader, node: ast.expr | None, value: str) -> _InPlace | None:
    """The SQL where it stands in the file, when the literal's source text is its value
    (no escapes, no implicit concatenation), so spans land inside the string."""
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return None
    span = r.span(node)
    raw = r.text[span.start : span.end]
    body_start = next((i for i, ch in enumerate(raw) if ch in "\"'"), -1)
    if body_start < 0 or raw[:body_start].lower() not in ("", "r", "u"):
        return None
    quote = raw[body_start : body_start + 3]
    if quote not in ('"""', "'''"):
        quote = raw[body_start]
    inner = raw[body_start + len(quote) : len(raw) - len(quote)]
    if not raw.endswith(quote) or inner != value:
        return None
    start = span.start + body_start + len(quote)
    end = start + len(inner)
    text = r.text
    blanked = "".join(ch if ch == "\n" else " " for ch in text[:start])
    blanked += text[start:end]
    blanked += "".join(ch if ch == "\n" else " " for ch in text[end:])
    return _InPlace(blanked)


def _bulk_insert(w: _Walk, a: _Args) -> Rendered:
    table = a.get(0, "table")
    if not isinstance(table, TableRef):
        raise _Unknown("the table is not a literal sa.table(...)")
    rows = a.get(1, "rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _Unknown("the rows are not a literal list of dicts")
    columns = list(dict.fromkeys(k for r in rows for k in r)) or list(table.columns)
    if not rows or not columns:
        return []
    values = ", ".join(
        "("
        + ", ".join(
            _literal(r.get(c)) if not isinstance(r.get(c), list | dict) else "NULL" for c in columns
        )
        + ")"
        for r in rows
    )
    return [
        _Sql().add(
            f"INSERT INTO {ident(table.name)} ({', '.join(map(ident, columns))}) VALUES {values}"
        )
    ]


def _comment(target: str) -> Callable[[_Walk, _Args], Rendered]:
    def render(w: _Walk, a: _Args) -> Rendered:
        table, _ = _table_args(w, a, 0, "table_name")
        comment = a.get(_shift(a, 1), "comment") if target == "create" else None
        return [_Sql().add(f"COMMENT ON TABLE {table} IS {_literal(comment)}")]

    return render


_RENDER: dict[str, Callable[[_Walk, _Args], Rendered]] = {
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
_NOT_OPS = {"f", "inline_literal", "get_context", "batch_alter_table"}
_OTHER_REASONS = {
    "get_bind": "op.get_bind() hands the script a live connection; what it runs through "
    "it is only known by running the revision",
    "run_async": "op.run_async() runs code against a live connection",
}
