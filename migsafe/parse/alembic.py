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
from migsafe.parse.alembic_sql import (
    KNOWN,
    NOT_OPS,
    NOT_POSTGRESQL,
    OTHER_REASONS,
    RENDER,
    Args,
    Construct,
    InPlace,
    Raw,
    Sql,
    TableRef,
    Unreadable,
    function_sql,
    short,
    string,
)
from migsafe.parse.text import SourceText

ANNOTATION_NAMES = ("migsafe_phase", "migsafe_release", "migsafe_ignore")
_IGNORE_COMMENT = "migsafe:ignore"


@dataclass(frozen=True)
class Unresolved:
    """An ``op.*`` call the static reader cannot turn into SQL, and why."""

    span: Span
    call: str
    reason: str
    # Rendering by execution cannot read it either: the SQL written in the script does not
    # parse, and running the script would send the same text.
    final: bool = False


@dataclass
class Body:
    """What one of ``upgrade`` / ``downgrade`` does, in source order. ``items`` holds each
    call's statements, or an :class:`Unresolved` in its place."""

    name: str
    params: tuple[str, ...]
    items: list[list[Statement] | Unresolved] = field(default_factory=list)
    # Some calls were rendered by running the revision (migsafe.alembic_render).
    rendered: bool = False

    @property
    def unresolved(self) -> list[Unresolved]:
        return [i for i in self.items if isinstance(i, Unresolved)]

    @property
    def renderable(self) -> bool:
        """Some call is left that running the revision might render."""
        return any(not u.final for u in self.unresolved)

    def statements(self) -> list[Statement]:
        return [st for i in self.items if not isinstance(i, Unresolved) for st in i]


@dataclass
class Script:
    """One revision script as read: identifiers, annotations and its two directions."""

    revision: str | None = None
    down_revision: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
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
    """The script's syntax tree. Raises :class:`ScriptSyntaxError` for Python that does not
    parse, and for Python nested deeper than the parser can build (an input error, like a
    syntax error, not a crash)."""
    try:
        return ast.parse(text, filename)
    except SyntaxError as exc:
        raise ScriptSyntaxError(
            f"Python syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1
        ) from None
    except (RecursionError, MemoryError):
        raise ScriptSyntaxError(
            "Python nested too deeply to read (an expression of many thousand parts)", 1, 1
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
    read_bodies(script, text, tree)
    return script


def read_bodies(script: Script, text: str, tree: ast.Module) -> None:
    """Fill in ``upgrade`` and ``downgrade``: the costly part, done only for revisions
    that are linted (ordering needs the headers alone)."""
    reader = _Reader(text, tree)
    for name in ("upgrade", "downgrade"):
        fn = reader.functions.get(name)
        if fn is not None:
            setattr(script, name, reader.body(fn))


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
        self.line_starts = [0]
        for line in self.lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
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
        return self.line_starts[line - 1] + column

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
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        op_params: frozenset[str],
        stack: tuple[str, ...],
    ) -> None:
        self.r = reader
        self.out = out
        self.stack = stack
        self.ops = set(reader.op_names) | set(op_params)
        self.batch: dict[str, tuple[Any, str | None]] = {}  # name → (table, schema)
        self.params = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        self.locals: dict[str, ast.expr] = {}
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
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # A function defined inside upgrade() runs when it is called, with arguments
            # only known then: its op calls are read where it is defined.
            inner = _Walk(self.r, self.out, node, frozenset(), (*self.stack, node.name))
            inner.ops |= self.ops
            inner.statements(node.body)
            return
        if isinstance(node, ast.ClassDef):
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
            args = Args(call, self.value, self.in_place)
            table = args.get(0, "table_name")
            schema = args.get(None, "schema")
        except Unreadable as exc:
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
        render = RENDER.get(name)
        if name in NOT_OPS:
            return
        try:
            if render is None:
                raise Unreadable(OTHER_REASONS.get(name, f"migsafe does not read {label}()"))
            if batch is not None and isinstance(batch[0], _BatchUnknown):
                raise Unreadable(f"the batch_alter_table table: {batch[0].reason}")
            args = Args(node, self.value, self.in_place, batch)
            ignores = self._ignores(node)
            made: list[Statement] = []
            for item in render(args):
                made.extend(self._finish(item, node, ignores))
        except Unreadable as exc:
            self.out.items.append(Unresolved(span, label, exc.reason, exc.final))
            return
        self.out.items.append(made)

    def in_place(self, node: ast.expr | None, value: str) -> InPlace | None:
        return _in_place(self.r, node, value)

    def _ignores(self, node: ast.Call) -> frozenset[str]:
        return call_ignores(self.r.lines, node.lineno, node.end_lineno or node.lineno)

    def _finish(
        self, item: Sql | InPlace, node: ast.Call, ignores: frozenset[str]
    ) -> list[Statement]:
        from migsafe.parse.postgres import SqlSyntaxError, parse

        if isinstance(item, InPlace):
            try:
                parsed = parse(item.text)
            except SqlSyntaxError as exc:
                raise Unreadable(
                    f"the SQL {NOT_POSTGRESQL}: {exc.message} "
                    f"(line {exc.line}, column {exc.column})",
                    final=True,
                ) from None
            return [dataclasses.replace(st, ignores=ignores) for st in parsed]
        sql = item.text
        try:
            parsed = parse(sql)
        except SqlSyntaxError as exc:
            raise Unreadable(f"its SQL {NOT_POSTGRESQL}: {exc.message}: {sql}") from None
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
            raise Unreadable("the expression nests too deeply")
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
            if parts and parts[-1] in KNOWN and self._sqlalchemy(parts):
                return Construct(parts[-1], (), {}, node)
            raise Unreadable(f"`{ast.unparse(node)}` is not a literal")
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
        if isinstance(node, ast.JoinedStr):
            raise Unreadable("an f-string is built when the script runs")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand, depth + 1)
            if isinstance(inner, int | float):
                return -inner
        raise Unreadable(f"`{short(node)}` is computed when the script runs")

    def _name(self, node: ast.Name, depth: int) -> Any:
        name = node.id
        if name in self.locals:
            return self.value(self.locals[name], depth + 1)
        if name in self.unknown_locals or name in self.params:
            raise Unreadable(f"`{name}` is set when the script runs")
        if name in self.r.constants:
            return self.value(self.r.constants[name], depth + 1)
        if name in self.r.imports:
            path = self.r.imports[name]
            if path.split(".")[0] == "sqlalchemy" and name in KNOWN:
                return Construct(name, (), {}, node)
            raise Unreadable(f"`{name}` comes from {path.rsplit('.', 1)[0]}, which is not read")
        raise Unreadable(f"`{name}` is not defined in the script")

    def _sqlalchemy(self, parts: list[str]) -> bool:
        """A dotted name reaching a SQLAlchemy construct: through an import of sqlalchemy
        (``sa.Integer``, ``mysql.VARCHAR``) or a Flask-SQLAlchemy style ``db.Integer``."""
        root = self.r.imports.get(parts[0], "")
        if root.split(".")[0] == "sqlalchemy":
            return True
        return len(parts) == 2 and parts[0] not in self.params and parts[0] in self.r.imports

    def _call(self, node: ast.Call, depth: int) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "with_variant" and node.args:
            # type.with_variant(other, "dialect"): ``other`` on that dialect only.
            dialects = [self.value(a, depth + 1) for a in node.args[1:]]
            chosen = node.args[0] if "postgresql" in dialects else func.value
            return self.value(chosen, depth + 1)
        parts = _dotted(func)
        if parts is None:
            raise Unreadable(f"`{short(node)}` is computed when the script runs")
        if len(parts) == 2 and parts[0] in self.ops and parts[1] in ("f", "inline_literal"):
            if len(node.args) != 1:
                raise Unreadable(f"op.{parts[1]}() takes one argument")
            return self.value(node.args[0], depth + 1)
        if len(parts) >= 2 and parts[-2] == "func":
            return function_sql(parts[-1], [self.value(a, depth + 1) for a in node.args])
        known = parts[-1] in KNOWN and (
            (len(parts) == 1 and self.r.imports.get(parts[0], "").startswith("sqlalchemy"))
            or (len(parts) > 1 and self._sqlalchemy(parts))
        )
        if not known:
            where = self.r.imports.get(parts[0])
            origin = f" from {where.rsplit('.', 1)[0]}" if where and len(parts) == 1 else ""
            raise Unreadable(
                f"`{ast.unparse(func)}`{origin} is not a SQLAlchemy construct migsafe knows"
            )
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise Unreadable(f"`{short(a)}` unpacks a value computed when the script runs")
            args.append(self.value(a, depth + 1))
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                raise Unreadable(f"`**{short(k.value)}` is computed when the script runs")
            kwargs[k.arg] = self.value(k.value, depth + 1)
        name = parts[-1]
        if name == "text":
            return Raw(string(args[0] if args else kwargs.get("text"), "sa.text()"))
        if name == "literal_column":
            return Raw(string(args[0] if args else None, "literal_column()"))
        if name in ("true", "false", "null"):
            return Raw(name)
        if name == "table":
            return TableRef(
                string(args[0] if args else None, "table()"),
                tuple(a.args[0] for a in args[1:] if isinstance(a, Construct) and a.args),
            )
        return Construct(name, tuple(args), kwargs, node)


@dataclass(frozen=True)
class _BatchUnknown:
    reason: str


def _calls_in_order(expr: ast.expr) -> Iterator[ast.Call]:
    """Calls in evaluation order: arguments before the call that receives them."""
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


def _in_place(r: _Reader, node: ast.expr | None, value: str) -> InPlace | None:
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
    return InPlace(blanked)
