"""Finding a PostgreSQL server for the tests, without being told where one is.

The default server, in order of preference:

1. ``MIGSAFE_TEST_DSN`` if set (a DSN to an admin database on a server the tests may create
   and drop databases on);
2. a server answering on 127.0.0.1:5432 as user ``postgres`` (trust or ``PGPASSWORD``);
3. a temporary cluster from ``initdb``/``pg_ctl`` (the ``initdb`` provider of ``migsafe
   trace``);
4. a temporary cluster from the ``pgserver`` wheel (embedded PostgreSQL 16).

A second server, PostgreSQL from the ``pgserver`` wheel, lets the lock model be checked on
two major versions. Servers are made by the providers of :mod:`migsafe.db.ephemeral` (which
also explains what they do as root); each function here is a context manager that yields a
:class:`Server` and stops what it started, or raises :class:`Unavailable` with a reason that
the fixtures turn into a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from migsafe.db.ephemeral import (
    CONNECT_TIMEOUT,
    Server,
    existing_server,
    first_server,
    initdb_cluster,
    pgserver_cluster,
)

Conn = psycopg.Connection[Any]
LOCAL_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def connect(dsn: str, *, autocommit: bool = False) -> Conn:
    return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=autocommit)


def default_server() -> AbstractContextManager[Server]:
    dsn = os.environ.get("MIGSAFE_TEST_DSN")
    if dsn:
        return existing_server(dsn)
    return first_server([lambda: existing_server(LOCAL_DSN), initdb_cluster, pgserver_cluster])


@contextlib.contextmanager
def temp_tablespace(server: Server) -> Iterator[str | None]:
    """A tablespace in a fresh directory owned by the server's OS user, or None when that
    cannot be arranged (remote server, unknown data directory, not root nor its owner)."""
    if not server.is_local() or not server.data_directory:
        yield None
        return
    try:
        owner = os.stat(server.data_directory).st_uid
    except OSError:
        yield None
        return
    if os.geteuid() not in (0, owner):
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="migsafe-ts-"))
    root.chmod(0o755)
    location = root / "ts"
    location.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(location, owner, pwd.getpwuid(owner).pw_gid)
    name = f"migsafe_ts_{uuid.uuid4().hex[:10]}"
    try:
        with connect(server.dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
                    sql.Identifier(name), sql.Literal(str(location))
                )
            )
    except psycopg.Error:
        shutil.rmtree(root, ignore_errors=True)
        yield None
        return
    try:
        yield name
    finally:
        with contextlib.suppress(psycopg.Error), connect(server.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(name)))
        shutil.rmtree(root, ignore_errors=True)
