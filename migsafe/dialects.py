"""Which SQL dialect a migration is written in, and which server it targets.

PostgreSQL is the default. ``--dialect`` (or the ``dialect`` config key) decides for every
file when given. Without it, a folder on the file's path called ``mysql`` or ``mariadb``
decides — the layout projects that ship migrations for several databases use
(``migrations/mysql/…``), so one run reads each folder in its own dialect — and only for a
file with no such folder does a ``--server-version`` naming a MySQL or MariaDB server make it
MySQL or MariaDB.

Only folders inside the project count (the folder of the config file, else the current
one), and the file's own folder: so ``cd db/mysql && migsafe lint .`` reads MySQL, and a
checkout under ``/home/mysql/`` does not. For a file outside the project, the folders below
the one it shares with the project count. Both sides are resolved first, so the answer does
not depend on how the path was spelled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migsafe.online import Server
    from migsafe.ops import Statement
    from migsafe.schema import Schema
    from migsafe.sources import Migration

DIALECTS = ("postgresql", "mysql", "mariadb")
MYSQL_FAMILY = frozenset({"mysql", "mariadb"})


def project_root() -> Path:
    """The folder of the config file found from the current folder, else the current
    folder (what the command line passes as :attr:`Settings.root`)."""
    from migsafe import config

    cwd = Path.cwd()
    try:
        found = config.find(cwd)
    except config.ConfigError:
        found = None  # the command reports a broken config; the dialect needs none
    return found[0].parent if found is not None else cwd


def from_path(path: Path, root: Path) -> str | None:
    """``mysql`` or ``mariadb`` when the file's folder, or a folder between it and the
    project ``root``, is named so (the nearest one wins). For a file outside the project,
    the folders below the deepest one it shares with the project count."""
    folder = path.resolve().parent
    top = Path(os.path.commonpath([folder, root.resolve()]))
    names = folder.relative_to(top).parts
    for part in (folder.name, *reversed(names)):
        if part.lower() in MYSQL_FAMILY:
            return part.lower()
    return None


def of(
    migration: Migration,
    setting: str | None,
    server_version: str | None = None,
    root: Path | None = None,
) -> str:
    """The dialect of one migration: the setting when given, else its path's inside the
    project ``root`` (None: :func:`project_root`), else the family of the server version."""
    if setting is not None:
        return setting
    path = from_path(migration.path, root if root is not None else project_root())
    return path or family_of(server_version) or "postgresql"


def statements(migration: Migration, dialect: str, schema: Schema) -> list[Statement]:
    """What the migration runs, its SQL read in ``dialect`` (as :func:`of` gives it):
    one place decides the parser, so no command reads a MySQL file as PostgreSQL. ``schema``
    is the model before the migration (MySQL statements are resolved against a copy of it).
    Raises :class:`migsafe.parse.postgres.SqlSyntaxError` for SQL the dialect rejects, and
    ModuleNotFoundError when the MySQL parser's extra is not installed."""
    if migration.prepared is not None or dialect not in MYSQL_FAMILY:
        return migration.statements()
    from migsafe.parse import mysql

    return mysql.resolve(mysql.parse(migration.text), schema.copy())


def family_of(server_version: str | None) -> str | None:
    """``mysql`` or ``mariadb`` for a server version naming one, None otherwise."""
    if server_version is None:
        return None
    head = server_version.strip().lower().split("-", 1)[0]
    return head if head in MYSQL_FAMILY else None


def server(dialect: str, server_version: str | None) -> Server | None:
    """The MySQL/MariaDB server to judge a migration against; None for PostgreSQL. A server
    version of the other family (``--server-version mysql-8.0`` on a ``mariadb`` folder)
    gives way to the dialect's default."""
    if dialect not in MYSQL_FAMILY:
        return None
    from migsafe import online

    if server_version is not None and family_of(server_version) == dialect:
        return online.server(server_version)
    return online.server(online.DEFAULT_SERVER["mysql" if dialect == "mysql" else "mariadb"])


def check_server_version(value: str, where: str) -> str:
    """Validate a ``server-version``; raises ValueError naming ``where`` and the spellings."""
    from migsafe import online

    if value.strip().lower().startswith(("postgresql-", "postgres-")):
        from migsafe import locks

        major = value.rsplit("-", 1)[1]
        versions = locks.SUPPORTED_VERSIONS
        if not major.isdigit() or int(major) not in versions:
            raise ValueError(
                f"{where}: expected postgresql-MAJOR with MAJOR {versions.start} to "
                f"{versions.stop - 1} (e.g. postgresql-16), got {value!r}"
            )
        return value
    try:
        online.server(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return value


def pg_version_of(server_version: str | None) -> int | None:
    """The PostgreSQL major a ``postgresql-16`` server version names."""
    if server_version is None or family_of(server_version) is not None:
        return None
    tail = server_version.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def introspector(url: str) -> Callable[[str], Schema]:
    """What reads the schema model from a live database: MySQL/MariaDB for a ``mysql://``
    or ``mariadb://`` URL, PostgreSQL otherwise."""
    if url.partition("://")[0] in MYSQL_FAMILY:
        from migsafe.db import mariadb

        return mariadb.introspect
    from migsafe.db import introspect

    return introspect.introspect
