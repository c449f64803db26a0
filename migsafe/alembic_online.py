"""Rendering revisions that need a live connection (``op.get_bind()``), by running their
``upgrade()`` in a scratch database, and only there.

The database is made for the run by :func:`migsafe.db.ephemeral.scratch_database`: a
throwaway server (``initdb``, the ``pgserver`` wheel, Docker), or a new database on the
server ``--database-url`` names, dropped afterwards. The project's own ``sqlalchemy.url``
is never read. The history before each such revision is replayed there from the statements
migsafe already read, so the revision sees the schema it expects; every statement it sends
is captured with the line of the script that sent it, and linted like any other. A
downgrade runs right after its upgrade, in a transaction rolled back afterwards
(PostgreSQL's DDL is transactional), so the history goes on from the upgraded schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from migsafe import install_hint, ops
from migsafe.alembic_render import (
    arguments,
    brief,
    caller_line,
    explain,
    function_of,
    merge,
    needs_connection,
    quiet,
)
from migsafe.parse.alembic import Body


def render_online(
    revisions: Sequence[tuple[Path, str, Body | None, Body | None]],
    database_url: str | None,
    announce: Callable[[str], None],
) -> None:
    """Render, in place, each upgrade and downgrade that needs a connection; the
    revisions (path, text, upgrade, downgrade) come in dependency order. Online rendering
    was asked for: no scratch database to do it in is a :class:`SourceError` naming the
    first revision that needed one."""
    from migsafe.db import DatabaseError
    from migsafe.db.ephemeral import scratch_database
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import _display

    first = next(path for path, _, *pair in revisions for b in pair if b and needs_connection(b))
    why = "needs a live connection (op.get_bind()) to be rendered, and --render-online"
    try:
        with scratch_database(
            database_url, lambda m: announce(m.replace("trace: ", "rendering online on ", 1))
        ) as scratch:
            problems: list[str] = []
            for path, text, up, down in revisions:
                if up is not None and needs_connection(up):
                    _live(path, text, up, scratch.dsn, problems, keep=True)
                elif up is not None:
                    _replay(path, up, scratch.dsn, problems)
                if down is not None and needs_connection(down):
                    _live(path, text, down, scratch.dsn, problems, keep=False)
    except DatabaseError as exc:
        message = " ".join(str(exc).split())
        raise SourceError(
            _display(first), f"{why} could not get a scratch database ({message})"
        ) from None
    except ImportError as exc:
        raise SourceError(
            _display(first), f"{why} needs {install_hint('alembic,db')} ({exc})"
        ) from None


def _update(body: Body, new: Body) -> None:
    body.items, body.rendered = new.items, new.rendered


def _replay(path: Path, body: Body, dsn: str, problems: list[str]) -> None:
    """Apply what was read of an upgrade, so later revisions find their schema."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for st in body.statements():
            if all(isinstance(o, ops.Transaction) for o in st.ops):
                continue
            try:
                conn.execute(st.sql.encode())
            except psycopg.Error as exc:
                problems.append(f"{path.name}:{st.span.line}: {brief(exc)}")


def _live(path: Path, text: str, body: Body, dsn: str, problems: list[str], *, keep: bool) -> None:
    """Run ``body`` with a connection, capturing what it sends; ``keep``: commit (an
    upgrade the history goes on from), else roll back (a downgrade)."""
    try:
        import psycopg
        import sqlalchemy as sa
        from alembic.migration import MigrationContext
        from alembic.operations import Operations
    except ImportError:
        _update(body, explain(body, f"rendering it needs {install_hint('alembic,db')}"))
        return
    function = function_of(path, text, body)
    if isinstance(function, str):
        _update(body, explain(body, function))
        return
    filename = str(path)
    emitted: list[tuple[int, str]] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        line = caller_line(filename)
        if line is not None:
            values = parameters[0] if many and parameters else parameters
            sql = psycopg.ClientCursor(cursor.connection).mogrify(statement, values or None)
            emitted.append((line, sql))

    engine = sa.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), poolclass=sa.pool.NullPool
    )
    stopped: str | None = None
    try:
        with engine.connect() as conn:
            sa.event.listen(conn, "before_cursor_execute", before)
            context = MigrationContext.configure(connection=conn)
            if keep:
                with (
                    context.begin_transaction(),
                    Operations.context(context) as operations,
                    quiet(),
                ):
                    function(*arguments(body, operations, text))
            else:
                with conn.begin() as transaction, Operations.context(context) as operations:
                    with quiet():
                        function(*arguments(body, operations, text))
                    transaction.rollback()
    except (Exception, SystemExit) as exc:  # the script's own code failed: report it
        history = f" (replaying the revisions before it: {problems[0]})" if problems else ""
        stopped = f"rendering it in the scratch database stopped: {brief(exc)}{history}"
    finally:
        engine.dispose()
    _update(body, merge(body, emitted, stopped, text, live=True))
