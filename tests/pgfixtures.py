"""Finding a PostgreSQL server for the tests, without being told where one is.

The default server, in order of preference:

1. ``MIGSAFE_TEST_DSN`` if set (a DSN to an admin database on a server the tests may create
   and drop databases on);
2. a server answering on 127.0.0.1:5432 as user ``postgres`` (trust or ``PGPASSWORD``);
3. ``initdb``/``pg_ctl`` on ``PATH``: a throwaway cluster in a temporary directory;
4. the ``pgserver`` wheel (embedded PostgreSQL 16).

A second server, PostgreSQL from the ``pgserver`` wheel, lets the lock model be checked on
two major versions. ``pgserver.get_server()`` run as root creates an OS user (``useradd
pgserver``) and makes every parent directory of its data directory *and of its own install
directory* (``/root`` included) world-readable. The tests do not do that to the machine: as
root they run the wheel's own ``initdb``/``pg_ctl`` from a hard-linked mirror of its
``pginstall`` tree in a temporary directory, as the unprivileged ``postgres`` (or ``nobody``)
user through ``runuser``. As any other user ``pgserver.get_server()`` is used as documented.

Every function here returns a :class:`Server` or raises :class:`Unavailable` with a reason
that the fixtures turn into a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

CONNECT_TIMEOUT = 3
Conn = psycopg.Connection[Any]
START_TIMEOUT = 60


class Unavailable(Exception):
    """No server of this kind can be had here; the message says why."""


@dataclass
class Server:
    label: str
    dsn: str  # to an admin database (CREATE/DROP DATABASE allowed)
    version_num: int
    data_directory: str | None = None
    stop: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def dsn_for(self, dbname: str) -> str:
        return conninfo.make_conninfo(self.dsn, dbname=dbname)

    def is_local(self) -> bool:
        host = conninfo.conninfo_to_dict(self.dsn).get("host") or ""
        return host in ("", "localhost", "127.0.0.1", "::1") or str(host).startswith("/")

    def close(self) -> None:
        if self.stop is not None:
            stop, self.stop = self.stop, None
            stop()


def connect(dsn: str, *, autocommit: bool = False) -> Conn:
    return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=autocommit)


def probe(dsn: str, label: str, stop: Callable[[], None] | None = None) -> Server:
    """Connect once, learn the version and data directory."""
    try:
        with connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT current_setting('server_version_num')::int,"
                " CASE WHEN pg_has_role('pg_read_all_settings', 'USAGE')"
                " THEN current_setting('data_directory') END"
            ).fetchone()
    except psycopg.Error as exc:
        if stop is not None:
            stop()
        raise Unavailable(f"{label}: cannot connect ({str(exc).strip()})") from None
    assert row is not None
    return Server(label, dsn, int(row[0]), row[1], stop)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise Unavailable("running as root and no unprivileged 'postgres' or 'nobody' user to run it")


def temp_cluster(bindir: Path, label: str, base: Path | None = None) -> Server:
    """initdb + pg_ctl start a throwaway cluster listening on 127.0.0.1:<free port>. As root,
    the server runs as an unprivileged user (PostgreSQL refuses to run as root)."""
    initdb, pg_ctl = bindir / "initdb", bindir / "pg_ctl"
    if not (initdb.exists() and pg_ctl.exists()):
        raise Unavailable(f"{label}: no initdb/pg_ctl in {bindir}")
    root = Path(tempfile.mkdtemp(prefix="migsafe-pg-", dir=base))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = _unprivileged_user()
        if not shutil.which("runuser"):
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable(f"{label}: running as root and `runuser` is not available")
        prefix = ["runuser", "-u", user, "--"]
        entry = pwd.getpwnam(user)
        root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if prefix:
        os.chown(data, entry.pw_uid, entry.pw_gid)
    data.chmod(0o700)

    def run(args: list[str]) -> None:
        done = subprocess.run(
            prefix + args, capture_output=True, text=True, timeout=START_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise Unavailable(f"{label}: {Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")

    def stop() -> None:
        with contextlib.suppress(Exception):
            subprocess.run(
                [*prefix, str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=30,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)

    port = _free_port()
    options = (
        f"-p {port} -h 127.0.0.1 -k {data} -c fsync=off -c full_page_writes=off"
        " -c synchronous_commit=off -c autovacuum=off -c max_connections=40"
    )
    try:
        run([str(initdb), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
             "--no-sync", "--no-instructions"])  # fmt: skip
        run([str(pg_ctl), "-D", str(data), "-w", "-t", str(START_TIMEOUT), "-l",
             str(data / "server.log"), "-o", options, "start"])  # fmt: skip
    except (Unavailable, subprocess.TimeoutExpired) as exc:
        stop()
        raise Unavailable(str(exc)) from None
    atexit.register(stop)
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    return probe(dsn, label, stop)


def default_server(base: Path | None = None) -> Server:
    reasons: list[str] = []
    dsn = os.environ.get("MIGSAFE_TEST_DSN")
    if dsn:
        return probe(dsn, "MIGSAFE_TEST_DSN")
    try:
        return probe("host=127.0.0.1 port=5432 user=postgres dbname=postgres", "127.0.0.1:5432")
    except Unavailable as exc:
        reasons.append(str(exc))
    initdb = shutil.which("initdb")
    if initdb:
        try:
            return temp_cluster(Path(initdb).resolve().parent, "initdb on PATH", base)
        except Unavailable as exc:
            reasons.append(str(exc))
    else:
        reasons.append("no initdb on PATH")
    try:
        return pgserver_server(base)
    except Unavailable as exc:
        reasons.append(str(exc))
    raise Unavailable("no PostgreSQL found: " + "; ".join(reasons))


def pgserver_server(base: Path | None = None) -> Server:
    """PostgreSQL from the ``pgserver`` wheel (see the module docstring for root)."""
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver import _commands
    except ImportError:
        raise Unavailable("the pgserver wheel is not installed") from None
    if os.geteuid() != 0:
        pgdata = Path(tempfile.mkdtemp(prefix="migsafe-pgserver-", dir=base))
        try:
            handle = pgserver.get_server(  # type: ignore[attr-defined]
                pgdata, cleanup_mode="delete"
            )
        except Exception as exc:
            shutil.rmtree(pgdata, ignore_errors=True)
            raise Unavailable(f"pgserver: {exc}") from None
        return probe(handle.get_uri(), "pgserver", handle.cleanup)
    # Root: mirror the wheel's binaries (hard links, or a copy across file systems) where the
    # unprivileged user can reach them; the binaries find their libraries relatively
    # (bin/../../../pgserver.libs) and their share/lib directories relative to themselves.
    install = Path(_commands.POSTGRES_BIN_PATH).parent  # .../site-packages/pgserver/pginstall
    libs = install.parent.parent / "pgserver.libs"
    mirror = Path(tempfile.mkdtemp(prefix="migsafe-pgserver-bin-", dir=base))
    atexit.register(shutil.rmtree, mirror, True)
    try:
        (mirror / "pgserver").mkdir()
        _mirror(install, mirror / "pgserver" / "pginstall")
        if libs.is_dir():
            _mirror(libs, mirror / "pgserver.libs")
        for d in [mirror, *(p for p in mirror.rglob("*") if p.is_dir())]:
            d.chmod(0o755)
    except OSError as exc:
        raise Unavailable(
            f"pgserver: cannot stage its binaries for a non-root user: {exc}"
        ) from None
    server = temp_cluster(mirror / "pgserver" / "pginstall" / "bin", "pgserver", base)
    inner = server.stop

    def stop() -> None:
        if inner is not None:
            inner()
        shutil.rmtree(mirror, ignore_errors=True)

    server.stop = stop
    return server


def _mirror(src: Path, dst: Path) -> None:
    try:
        shutil.copytree(src, dst, copy_function=os.link, symlinks=True)
    except (OSError, shutil.Error):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)


@contextlib.contextmanager
def fresh_database(server: Server, prefix: str = "migsafe_test") -> Iterator[str]:
    """CREATE DATABASE with a unique name; yields its DSN; drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with connect(server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.dsn_for(name)
    finally:
        with connect(server.dsn, autocommit=True) as conn:
            drop = (
                "DROP DATABASE IF EXISTS {} WITH (FORCE)"
                if server.major >= 13
                else ("DROP DATABASE IF EXISTS {}")
            )
            conn.execute(sql.SQL(drop).format(sql.Identifier(name)))


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
