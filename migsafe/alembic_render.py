"""Rendering the ``op.*`` calls the static reader could not read, by running the revision
in Alembic's offline ("--sql") mode: no database is involved, Alembic writes the SQL each
call would run, and every statement is tied to the line of the call that produced it by
looking up the revision's frame on the call stack.

This only works where the revision's imports succeed in the current environment (its
application installed). A revision that needs a live connection (``op.get_bind()``) cannot
be rendered offline; its calls stay unresolved with that reason (for
:mod:`migsafe.alembic_online`, when asked), as does anything that fails. Alembic and
SQLAlchemy are imported here only (the ``alembic`` extra).

quay-style revisions, ``upgrade(op, tables, tester)``, get ``tables.<name>`` as a
lightweight table with the columns the script names, and a ``tester`` that does nothing.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from migsafe import install_hint
from migsafe.ops import Span, Statement
from migsafe.parse.alembic import Body, Unresolved, call_ignores, respan
from migsafe.parse.text import source_text

NEEDS_CONNECTION = "it needs a live connection (op.get_bind())"


class _NeedsConnection(Exception):
    pass


class _NoConnection:
    def __getattr__(self, name: str) -> Any:
        raise _NeedsConnection


def needs_connection(body: Body) -> bool:
    """Offline rendering stopped at ``op.get_bind()``: only a database can render it."""
    return any(NEEDS_CONNECTION in u.reason for u in body.unresolved)


def function_of(path: Path, text: str, body: Body) -> Callable[..., Any] | str:
    """The revision's ``upgrade`` / ``downgrade`` function, or why it cannot be had."""
    try:
        module = _load(path, text)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        what = f"module {missing!r}" if missing else str(exc)
        return f"rendering it needs {what}, which is not installed here"
    except (Exception, SystemExit) as exc:  # the script's own code failed: report it
        return f"importing the revision for rendering failed: {brief(exc)}"
    function = getattr(module, body.name, None)
    if not callable(function):
        return f"the revision has no callable {body.name}()"
    return function  # type: ignore[no-any-return]


def render(path: Path, text: str, body: Body, dialect: str = "postgresql") -> Body:
    """``body`` with its unresolved calls replaced by what rendering them offline emitted;
    calls rendering could not reach keep their reason, extended with why."""
    try:
        from alembic.migration import MigrationContext
        from alembic.operations import Operations
    except ImportError:
        return explain(body, f"rendering it needs Alembic: {install_hint('alembic')}")
    function = function_of(path, text, body)
    if isinstance(function, str):
        return explain(body, function)
    emitted: list[tuple[int, str]] = []
    context = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "literal_binds": True}
    )
    impl = context.impl
    filename = str(path)

    def capture(text: str) -> None:
        line = caller_line(filename)
        sql = text.strip().removesuffix(";").strip()
        if sql and line is not None:
            emitted.append((line, sql))

    impl.static_output = capture  # type: ignore[method-assign]
    # op.get_bind() hands out this instead of Alembic's mock: using it means the script
    # needs a real database.
    impl.connection = _NoConnection()  # type: ignore[assignment]
    stopped: str | None = None
    try:
        with Operations.context(context) as operations, quiet():
            function(*arguments(body, operations, text))
    except _NeedsConnection:
        stopped = f"{NEEDS_CONNECTION}, which offline rendering does not give"
    except (Exception, SystemExit) as exc:  # the script's own code failed: report it
        stopped = f"rendering stopped: {brief(exc)}"
    return merge(body, emitted, stopped, text, live=False)


def explain(body: Body, why: str) -> Body:
    """``body`` with ``why`` added to the reason of each call still unresolved."""
    items = [
        replace(i, reason=f"{i.reason}; {why}") if isinstance(i, Unresolved) and not i.final else i
        for i in body.items
    ]
    return Body(body.name, body.params, items, body.rendered)


def brief(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


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
        with quiet():
            exec(code, module.__dict__)
    finally:
        if added:
            sys.path.remove("")
    return module


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """A script that prints (progress, logging to stdout) must not corrupt JSON output, nor
    its deprecation warnings bury the findings."""
    import io
    import warnings

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def caller_line(filename: str) -> int | None:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


def arguments(body: Body, operations: Any, text: str) -> list[Any]:
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


_READ = re.compile(r"^\s*(SELECT|SHOW)\b", re.I)


def merge(
    body: Body, emitted: list[tuple[int, str]], stopped: str | None, text: str, *, live: bool
) -> Body:
    """Put each emitted statement in place of the unresolved call on whose lines it was
    emitted. Run live, statements from other lines (``conn.execute(...)`` through the
    connection ``op.get_bind()`` gave) join at their own line, reads left out, and the
    ``op.get_bind()`` calls count as read."""
    lines = text.split("\n")
    items: list[tuple[int, list[Statement] | Unresolved]] = []
    covered: set[int] = set()
    rendered = body.rendered
    for item in body.items:
        spans = [item.span] if isinstance(item, Unresolved) else [st.span for st in item]
        for span in spans:
            covered.update(range(span.line, span.end_line + 1))
    for item in body.items:
        if not isinstance(item, Unresolved):
            items.append((item[0].span.line if item else 0, item))
            continue
        if item.final:
            items.append((item.span.line, item))
            continue
        first, last = item.span.line, item.span.end_line
        sqls = [sql for line, sql in emitted if first <= line <= last]
        if live and stopped is None and item.call == "op.get_bind":
            # What ran through the connection was captured: on this line, or on its own.
            rendered = True
            sqls = [sql for sql in sqls if not _READ.match(sql)]
            if not sqls:
                continue
        if live:  # what offline rendering said is superseded
            item = replace(item, reason=item.reason.split(f"; {NEEDS_CONNECTION}")[0])
        if not sqls:
            why = stopped or (
                "it was not reached when run in the scratch database, whose tables are empty"
                if live
                else "it emitted no SQL when rendered (not reached)"
            )
            items.append((first, replace(item, reason=f"{item.reason}; {why}")))
            continue
        made = _statements(sqls, item.span, call_ignores(lines, first, last))
        if isinstance(made, str):
            items.append((first, replace(item, reason=f"{item.reason}; {made}")))
            continue
        items.append((first, made))
        rendered = True
    if live and stopped is None:
        for number in sorted({line for line, _ in emitted if line not in covered}):
            sqls = [s for line, s in emitted if line == number and not _READ.match(s)]
            if not sqls:
                continue
            span = _line_span(text, lines, number)
            made = _statements(sqls, span, call_ignores(lines, number, number))
            extra: list[Statement] | Unresolved
            if isinstance(made, str):
                extra = Unresolved(span, "op.get_bind", f"the SQL run here: {made}")
            else:
                extra, rendered = made, True
            # Before the first call below it; the calls themselves keep their order.
            at = next((i for i, (line, _) in enumerate(items) if line > number), len(items))
            items.insert(at, (number, extra))
    return Body(body.name, body.params, [item for _, item in items], rendered)


def _line_span(text: str, lines: list[str], number: int) -> Span:
    """Line ``number`` without its indentation and trailing blanks."""
    source = source_text(text)
    start_of_line = sum(len(line) + 1 for line in lines[: number - 1])
    raw = lines[number - 1]
    start = start_of_line + len(raw) - len(raw.lstrip())
    return source.span(start, start_of_line + len(raw.rstrip()))


def _statements(sqls: list[str], span: Span, ignores: frozenset[str]) -> list[Statement] | str:
    """Emitted SQL as statements at ``span``, or why it cannot be read."""
    from migsafe.parse.postgres import SqlSyntaxError, parse

    try:
        parsed = [st for sql in sqls for st in parse(sql)]
    except SqlSyntaxError as exc:
        return f"its rendered SQL does not parse: {exc}"

    def move(_old: Span) -> Span:
        return span

    return [
        Statement(st.sql, span, tuple(respan(o, move) for o in st.ops), ignores) for st in parsed
    ]
