"""Shared fixtures. Tests needing PostgreSQL are marked ``@pytest.mark.postgres`` and use:

- ``pg_server``: DSN to an admin database on the default server (session);
- ``pg_database``: DSN to a fresh database on it, dropped after the module;
- ``any_pg_server`` / ``any_pg_database``: the same, parametrized over every server available
  here (``default`` and ``pgserver``, the embedded PostgreSQL 16 wheel).

Servers are found by :mod:`pgfixtures` (next to this file) with the providers of
``migsafe trace``; when none can be had, the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pgfixtures
import pytest

from migsafe.db.ephemeral import Server, Unavailable, pgserver_cluster, scratch_on

SERVER_KINDS = ("default", "pgserver")


@dataclass(frozen=True)
class Database:
    dsn: str
    server: Server


def _start(kind: str) -> AbstractContextManager[Server]:
    # Clusters live under the system temp directory, not pytest's tmp_path: as root the
    # server runs as another user, who cannot enter /tmp/pytest-of-root (mode 0700).
    if kind == "default":
        return pgfixtures.default_server()
    return pgserver_cluster()


def _server_fixture(kind: str) -> object:
    @pytest.fixture(scope="session", name=f"pg_{kind}_server_info")
    def fixture() -> Iterator[Server]:
        with contextlib.ExitStack() as stack:
            try:
                server = stack.enter_context(_start(kind))
            except Unavailable as exc:
                pytest.skip(f"PostgreSQL ({kind}) not available: {exc}")
            yield server

    return fixture


pg_default_server_info = _server_fixture("default")
pg_pgserver_server_info = _server_fixture("pgserver")


@pytest.fixture(scope="session")
def pg_server(pg_default_server_info: Server) -> str:
    """DSN to an admin database on the default server."""
    return pg_default_server_info.dsn


@pytest.fixture(scope="module")
def pg_database(pg_default_server_info: Server) -> Iterator[str]:
    """DSN to a fresh database on the default server, dropped after the module."""
    with scratch_on(pg_default_server_info, "migsafe_test") as dsn:
        yield dsn


@pytest.fixture(scope="session", params=SERVER_KINDS)
def any_pg_server(request: pytest.FixtureRequest) -> Server:
    """Each available server in turn (tests on an unavailable one skip)."""
    server: Server = request.getfixturevalue(f"pg_{request.param}_server_info")
    return server


@pytest.fixture(scope="module")
def any_pg_database(any_pg_server: Server) -> Iterator[Database]:
    with scratch_on(any_pg_server, "migsafe_test") as dsn:
        yield Database(dsn, any_pg_server)
