"""A scratch database on the MariaDB server the MySQL tests judge the online-DDL model
against: ``MIGSAFE_MARIADB_URL`` (``mysql://user:password@host:port``) or root without a
password on 127.0.0.1:3306. When no server answers, the tests that need one skip, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

URL = os.environ.get("MIGSAFE_MARIADB_URL", "mysql://root@127.0.0.1:3306")


def connect(database: str | None = None) -> Any:
    pymysql = pytest.importorskip("pymysql", reason="PyMySQL is in the test extra")
    url = urlsplit(URL)
    return pymysql.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=database,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="session")
def mariadb() -> Iterator[Any]:
    """A cursor on a scratch database made for this test session, dropped after it."""
    pymysql = pytest.importorskip("pymysql", reason="PyMySQL is in the test extra")
    try:
        conn = connect()
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"no MariaDB server at {URL} ({exc.args[-1]}); set MIGSAFE_MARIADB_URL")
    name = f"migsafe_{uuid.uuid4().hex[:12]}"
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    version = cur.fetchone()[0]
    if "MariaDB" not in version:
        pytest.skip(f"the server at {URL} is not MariaDB but {version}")
    cur.execute(f"CREATE DATABASE {name}")
    cur.execute(f"USE {name}")
    try:
        yield cur
    finally:
        cur.execute(f"DROP DATABASE {name}")
        conn.close()
