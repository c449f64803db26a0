"""Rendering the ``op.*`` calls the static reader could not read, by running the revision
in Alembic's offline ("--sql") mode: no database is involved, Alembic writes the SQL each
call would run, and every statement is tied to the line of the call that produced it by
looking up the revision's frame on the call stack.

This only works where the revision's imports succeed in the current environment (its
application installed). A revision that needs a live connection (``op.get_bind()``) cannot
be rendered offline; its calls stay unresolved with that reason, as does anything that
fails. Alembic and SQLAlchemy are imported here only (``pip install 'migsafe[alembic]'``).

quay-style revisions, ``upgrade(op, tables, tester)``, get ``tables.<name>`` as a
lightweight table with the columns the script names, and a ``tester`` that does nothing.
"""

from __future__ import annotations

import ast
import contextlib
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migsafe.ops import Span, Statement
from migsafe.parse.alembic import Body, Unresolved, call_ignores, respan


@dataclass
class Rendered:
    body: Body
    rendered: bool


class _NeedsConnection(Exception):
    pass


class _NoConnection:
    def __getattr__(self, name: str) -> Any:
        raise _NeedsConnection


def render(path: Path, text: str, body: Body, dialect: str = "postgresql") -> Rendered:
    """``body`` with its unresolved calls replaced by what rendering them emitted; calls
    rendering could not reach keep their reason, extended with why rendering failed."""
    try:
        from alembic.migration import MigrationContext
        from alembic.operations import Operations
    except ImportError:
        return _explain(body, "rendering it needs Alembic: pip install 'migsafe[alembic]'")
    try:
        module = _load(path, text)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        what = f"module {missing!r}" if missing else str(exc)
        return _explain(body, f"rendering it needs {what}, which is not installed here")
    except BaseException as exc:  # the script's own code failed: report, never crash
        return _explain(body, f"importing the revision for rendering failed: {_brief(exc)}")
    function = getattr(module, body.name, None)
    if not callable(function):
        return _explain(body, f"the revision has no callable {body.name}()")
    emitted: list[tuple[int, str]] = []
    context = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "literal_binds": True}
    )
    impl = context.impl
    filename = str(path)

    def capture(text: str) -> None:
        line = _caller_line(filename)
        sql = text.strip().removesuffix(";").strip()
        if sql and line is not None:
            emitted.append((line, sql))

    impl.static_output = capture  # type: ignore[method-assign]

    # op.get_bind() hands out this instead of Alembic's mock: using it means the script
    # needs a real database.
    impl.connection = _NoConnection()  # type: ignore[assignment]
    stopped: str | None = None
    try:
        with Operations.context(context) as operations, _quiet():
            function(*_arguments(body, operations, text))
    except _NeedsConnection:
        stopped = (
            "it needs a live connection (op.get_bind()), which offline rendering does not give"
        )
    except BaseException as exc:  # the script's own code failed: report, never crash
        stopped = f"rendering stopped: {_brief(exc)}"
    return _merge(body, emitted, stopped, text.split("\n"))


def _brief(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def _explain(body: Body, why: str) -> Rendered:
    items = [
        replace(i, reason=f"{i.reason}; {why}") if isinstance(i, Unresolved) else i
        for i in body.items
    ]
    return Rendered(Body(body.name, body.params, items), False)


def _load(path: Path, text: str) -> types.ModuleType:
    """Execute the revision as a fresh module, with the working directory importable as
    Alembic's ``prepend_sys_path = .`` makes it. Not registered in ``sys.modules``."""
    module = types.ModuleType(f"_migsafe_revision_{abs(hash(str(path)))}")
    module.__file__ = str(path)
    code = compile(text, str(path), "exec")
    added = "" not in sys.path and "." not in sys.path
    if added:
        sys.path.insert(0, "")
    try:
        with _quiet():
            exec(code, module.__dict__)
    finally:
        if added:
            sys.path.remove("")
    return module


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """A script that prints (progress, logging to stdout) must not corrupt JSON output, nor
    its deprecation warnings bury the findings."""
    import io
    import warnings

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _caller_line(filename: str) -> int | None:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _arguments(body: Body, operations: Any, text: str) -> list[Any]:
    stand_ins = {"op": operations, "tables": _tables(text), "tester": _Tester()}
    return [stand_ins[p] for p in body.params if p in stand_ins]


class _Tester:
    """quay's test-data populator: rendering has no data to populate."""

    def __getattr__(self, name: str) -> Any:
        return _Tester()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _Tester()


def _tables(text: str) -> Any:
    """quay's ``tables``: ``tables.<name>`` as ``sa.table`` with every column the script
    names (``tables.t.c.<column>``, keys of rows passed to ``op.bulk_insert``)."""
    import sqlalchemy as sa

    columns: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "c"
            and isinstance(node.value.value, ast.Attribute)
            and isinstance(node.value.value.value, ast.Name)
            and node.value.value.value.id == "tables"
        ):
            columns.setdefault(node.value.value.attr, set()).add(node.attr)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            named = [a for a in node.args if isinstance(a, ast.Attribute)]
            keys = {
                k.value
                for d in ast.walk(node)
                if isinstance(d, ast.Dict)
                for k in d.keys
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            } | {k.arg for k in node.keywords if k.arg}
            for a in named:
                if isinstance(a.value, ast.Name) and a.value.id == "tables":
                    columns.setdefault(a.attr, set()).update(keys)

    made: dict[str, Any] = {}

    class Tables:
        def __getattr__(self, name: str) -> Any:
            if name not in made:
                made[name] = sa.table(name, *(sa.column(c) for c in sorted(columns.get(name, ()))))
            return made[name]

    return Tables()


def _merge(
    body: Body, emitted: list[tuple[int, str]], stopped: str | None, lines: list[str]
) -> Rendered:
    from migsafe.parse.postgres import SqlSyntaxError, parse

    items: list[list[Statement] | Unresolved] = []
    rendered = False
    for item in body.items:
        if not isinstance(item, Unresolved):
            items.append(item)
            continue
        sqls = [sql for line, sql in emitted if item.span.line <= line <= item.span.end_line]
        if not sqls:
            why = stopped or "it emitted no SQL when rendered (not reached offline)"
            items.append(replace(item, reason=f"{item.reason}; {why}"))
            continue
        try:
            statements = [st for sql in sqls for st in parse(sql)]
        except SqlSyntaxError as exc:
            items.append(
                replace(item, reason=f"{item.reason}; its rendered SQL does not parse: {exc}")
            )
            continue
        span = item.span

        def move(_old: Span, span: Span = span) -> Span:
            return span

        items.append(
            [
                Statement(
                    sql=st.sql,
                    span=span,
                    ops=tuple(respan(o, move) for o in st.ops),
                    ignores=call_ignores(lines, span.line, span.end_line),
                )
                for st in statements
            ]
        )
        rendered = True
    return Rendered(Body(body.name, body.params, items), rendered)
