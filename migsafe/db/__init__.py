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
