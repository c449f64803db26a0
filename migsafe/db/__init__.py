"""Talking to a live PostgreSQL: throwaway databases, and observing what statements do.

psycopg is imported only here and only when a command needs a database, so linting never
pays for it; it comes with the ``db`` extra.
"""

from __future__ import annotations

from typing import Any

from migsafe import install_hint


class DatabaseError(Exception):
    """A database the user pointed at cannot be used; the message says why and what to do."""


def require_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(
            f"this command talks to PostgreSQL and needs psycopg: {install_hint('db')}"
        ) from None
    return psycopg


def database_problem(dsn: str, exc: Exception, doing: str = "use the database") -> str:
    """A failure on the user's database as one paragraph naming the server without its
    password: no traceback, no secret. ``doing`` says what could not be done."""
    from migsafe.db.ephemeral import display_dsn, mask

    try:
        where = display_dsn(dsn)
    except Exception:  # an unparsable URL: the masked message says why
        where = "the database URL given"
    detail = " ".join(mask(str(exc), dsn).split())
    return (
        f"cannot {doing} at {where}: {detail}. Check that the server is running and "
        "reachable and that the URL, user and database name are right."
    )


def connect(dsn: str) -> Any:
    """An autocommit connection to the user's database, or a :class:`DatabaseError` saying
    why not in one paragraph (callers turn it into their own error type)."""
    psycopg = require_psycopg()
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except Exception as exc:  # psycopg's connection errors, whatever their class
        raise DatabaseError(database_problem(dsn, exc)) from None
