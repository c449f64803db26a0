"""Throwaway databases for ``migsafe trace``: made for one run, always removed afterwards.

Providers, tried in order (the first that works is used, and its name printed):

1. ``url``: ``--database-url URL`` names a server; a uniquely named scratch database is made
   there and dropped afterwards. Nothing is ever run in the database the URL names, and only
   a database made here is ever dropped. When a URL is given no other provider is tried: the
   user said where to run.
2. ``initdb``: ``initdb``/``pg_ctl`` on PATH or in ``pg_config --bindir`` make a temporary
   cluster in a temporary directory, reachable only through a Unix socket there.
3. ``pgserver``: the same with the binaries of the ``pgserver`` wheel
   (the ``embedded`` extra).
4. ``docker``: a PostgreSQL container through testcontainers (``pip install
   'migsafe[docker]'``), only when a Docker engine answers.

PostgreSQL refuses to run as root, so as root the temporary clusters run as the unprivileged
``postgres`` (or ``nobody``) user through ``runuser``; with neither, those providers refuse.
``pgserver.get_server()`` is not used: as root it runs ``useradd`` and makes every parent of
its install directory (``/root`` included) world-readable. Its binaries are run directly
instead, as root from a hard-linked mirror in a temporary directory the server user can read.

Whatever happens (normal exit, an exception, Ctrl-C, SIGTERM) the scratch database is
dropped, the cluster stopped and its directory removed: everything is a ``with`` block, and
for the life of a scratch database SIGTERM raises in the main thread so those blocks unwind.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from migsafe import install_hint
from migsafe.db import DatabaseError, require_psycopg

PROVIDERS = ("url", "initdb", "pgserver", "docker")
CONNECT_TIMEOUT = 5  # seconds; a server that does not answer must not hang trace
START_TIMEOUT = 60  # seconds for initdb and for the server to accept connections
DOCKER_IMAGE = "postgres:16-alpine"
SCRATCH_PREFIX = "migsafe_trace"
NO_PROVIDER = (
    "no PostgreSQL to run on. Any one of these gives one: pass --database-url URL (a server "
    "where that user may CREATE DATABASE; a scratch database is made there and dropped "
    "afterwards); install PostgreSQL so that initdb and pg_ctl are on PATH or found by "
    "pg_config --bindir (a temporary cluster); migsafe's embedded extra (PostgreSQL from the "
    "pgserver wheel); or its docker extra with a running Docker engine ("
    + install_hint("embedded")
    + ")."
)

ServerFactory = Callable[[], AbstractContextManager["Server"]]


class Unavailable(DatabaseError):
    """This provider cannot give a server here; the message says why. When choosing
    automatically the next provider is tried, and all the reasons end up in the error."""


@dataclass(frozen=True)
class Server:
    """A running PostgreSQL that scratch databases can be made on."""

    provider: str  # one of PROVIDERS
    label: str  # what the user is told: no password in it
    dsn: str = field(repr=False)  # to an admin database (CREATE/DROP DATABASE allowed)
    version_num: int
    data_directory: str | None = None  # when this user may read it

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def dsn_for(self, dbname: str) -> str:
        from psycopg import conninfo

        return conninfo.make_conninfo(self.dsn, dbname=dbname)

    def is_local(self) -> bool:
        """On this machine (loopback or Unix socket): its files are reachable from here."""
        from psycopg import conninfo

        host = str(conninfo.conninfo_to_dict(self.dsn).get("host") or "")
        return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")


@dataclass(frozen=True)
class Scratch:
    """A database made for one run; ``provider`` is one of :data:`PROVIDERS`."""

    dsn: str = field(repr=False)  # may hold a password
    provider: str
    server_version_num: int

    @property
    def major(self) -> int:
        return self.server_version_num // 10000


# -- passwords stay out of messages ------------------------------------------------------------

MIN_MASKED = 4  # characters a password needs before its plain occurrences are masked
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def display_dsn(dsn: str) -> str:
    """``dsn`` rebuilt without its password, to name a server in messages."""
    psycopg = require_psycopg()
    conninfo = psycopg.conninfo
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(
            "not a valid PostgreSQL connection string or postgresql:// URL: "
            + mask(str(exc).strip(), dsn)
        ) from None
    params.pop("password", None)
    return str(conninfo.make_conninfo("", **params))


def mask(text: str, dsn: str) -> str:
    """``text`` (a libpq message, say) with anything shaped like a password in a URL or
    ``password=`` pair replaced by ``***``, and the password of ``dsn`` wherever else it
    appears when it is long enough to tell apart from ordinary words (a password ``p``
    replaced everywhere would turn ``port`` into ``***ort``)."""
    from psycopg import conninfo

    with contextlib.suppress(Exception):
        password = str(conninfo.conninfo_to_dict(dsn).get("password") or "")
        if len(password) >= MIN_MASKED:
            text = text.replace(password, "***")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


# -- cleanup that cannot be skipped ------------------------------------------------------------


@contextlib.contextmanager
def _cleanup(undo: Callable[[], None]) -> Iterator[None]:
    """Runs ``undo`` on the way out of the block, however it is left; registered with atexit
    meanwhile as a backstop for a block that is never left (a context entered by hand, or a
    generator that is never closed)."""
    atexit.register(undo)
    try:
        yield
    finally:
        atexit.unregister(undo)
        undo()


class _SignalsUnwind:
    """For the life of a scratch database, SIGTERM raises ``SystemExit(143)`` and SIGINT
    ``KeyboardInterrupt`` in the main thread, so every ``with`` block unwinds and removes what
    it made: the default SIGTERM kills the process and would leave the database or cluster
    behind. Once cleanup has begun (:meth:`hold`), a signal no longer interrupts it: a repeat
    of one already raised is dropped, any other is delivered to the previous handler once it
    is back. Outside the main thread Python cannot set handlers, and nothing is changed."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.holding = False
        self.raised = False
        self.pending: int | None = None
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.holding:
            if not self.raised:
                self.pending = signum
            return
        self.holding = self.raised = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def hold(self) -> None:
        self.holding = True

    def __enter__(self) -> _SignalsUnwind:
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self.previous.items():
            # None: the previous handler was not set from Python; the default is the best guess.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if self.pending is not None:
            signal.raise_signal(self.pending)


# -- providers ---------------------------------------------------------------------------------


def connect(dsn: str) -> Any:
    """An autocommit connection that gives up after :data:`CONNECT_TIMEOUT`."""
    psycopg = require_psycopg()
    return psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def _probe(dsn: str, provider: str, describe: Callable[[str], str]) -> Server:
    """Connect once to learn the version (and the data directory when this user may read it);
    ``describe`` turns the version ("15.20") into the server's label."""
    psycopg = require_psycopg()
    try:
        with connect(dsn) as conn:
            row = conn.execute(
                "SELECT current_setting('server_version_num')::int,"
                " current_setting('server_version'),"
                " CASE WHEN pg_has_role('pg_read_all_settings', 'USAGE')"
                " THEN current_setting('data_directory') END"
            ).fetchone()
    except psycopg.Error as exc:
        raise Unavailable(
            f"{provider}: cannot connect to {display_dsn(dsn)}: {mask(str(exc).strip(), dsn)}"
        ) from None
    version_num, version, data_directory = row
    return Server(provider, describe(version.split()[0]), dsn, version_num, data_directory)


@contextlib.contextmanager
def existing_server(dsn: str) -> Iterator[Server]:
    """The server at ``dsn``, which somebody else runs: left as it is on the way out."""
    shown = display_dsn(dsn)
    yield _probe(dsn, "url", lambda version: f"PostgreSQL {version} at {shown} (--database-url)")


def _server_user() -> pwd.struct_passwd | None:
    """Who runs a temporary cluster's programs: None for this user, or as root the first of
    ``postgres``/``nobody`` (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise Unavailable(
            "running as root, and `runuser` (to run PostgreSQL as another user) is missing"
        )
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise Unavailable(
        "running as root, PostgreSQL will not run as root, and there is no 'postgres' or "
        "'nobody' user to run it as: create one (useradd --system postgres) or run migsafe as "
        "an ordinary user"
    )


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-5:])
    return ""


@contextlib.contextmanager
def temp_cluster(bindir: Path, provider: str, origin: str) -> Iterator[Server]:
    """initdb + pg_ctl: a cluster in a new temporary directory, listening only on a Unix socket
    there, with durability off since it is thrown away; stopped and deleted on the way out.
    ``origin`` says where the binaries come from, for the label."""
    initdb, pg_ctl = bindir / "initdb", bindir / "pg_ctl"
    if not (initdb.is_file() and pg_ctl.is_file()):
        raise Unavailable(f"{provider}: no initdb and pg_ctl in {bindir}")
    user = _server_user()
    as_user = [] if user is None else ["runuser", "-u", user.pw_name, "--"]
    root = Path(tempfile.mkdtemp(prefix="migsafe-pg-"))
    data = root / "data"

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
            cwd=root,  # as another user, the caller's directory may be out of reach
        )

    def remove() -> None:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                run(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    with _cleanup(remove):
        data.mkdir(mode=0o700)
        if user is not None:
            root.chmod(0o755)
            os.chown(data, user.pw_uid, user.pw_gid)
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(data),
            "port": "5432",  # only names the socket file, in a directory of its own
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "autovacuum": "off",  # it would take locks that trace would report
            "max_connections": "40",
        }
        steps = (
            (initdb, "-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
             "--no-sync"),
            (pg_ctl, "-D", data, "-w", "-t", START_TIMEOUT, "-l", data / "server.log", "start"),
        )  # fmt: skip
        for step in steps:
            try:
                done = run(*step)
            except subprocess.TimeoutExpired:
                raise Unavailable(f"{provider}: {Path(step[0]).name} timed out") from None
            if done.returncode != 0:
                detail = (done.stderr.strip() + " " + _tail(data / "server.log")).strip()
                raise Unavailable(f"{provider}: {Path(step[0]).name} failed: {detail[-600:]}")
            if step[0] == initdb:
                with (data / "postgresql.conf").open("a") as conf:
                    for key, value in settings.items():
                        quoted = value.replace("'", "''")
                        conf.write(f"{key} = '{quoted}'\n")
        from psycopg import conninfo

        dsn = conninfo.make_conninfo(host=str(data), user="postgres", dbname="postgres")
        yield _probe(
            dsn, provider, lambda version: f"temporary PostgreSQL {version} cluster {origin}"
        )


def find_bindir() -> Path:
    """The directory of ``initdb``: the one on PATH, else ``pg_config --bindir``'s."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
            bindir = Path(done.stdout.strip())
            if done.returncode == 0 and (bindir / "initdb").is_file():
                return bindir
    raise Unavailable("initdb: no initdb on PATH, and no pg_config --bindir that has one")


def initdb_cluster() -> AbstractContextManager[Server]:
    """A temporary cluster from the PostgreSQL installed on this machine."""
    bindir = find_bindir()
    return temp_cluster(bindir, "initdb", f"from {bindir} (initdb)")


@contextlib.contextmanager
def _mirrored(package: Path) -> Iterator[Path]:
    """The wheel's ``pgserver`` package directory as a tree of hard links (copies across file
    systems) that any user can read, removed on the way out. Its binaries find their libraries
    and share files relative to themselves, so the mirror works where the original sits in a
    directory only root may enter."""
    root = Path(tempfile.mkdtemp(prefix="migsafe-pgserver-bin-"))
    with _cleanup(lambda: shutil.rmtree(root, ignore_errors=True)):
        try:
            _link_tree(package / "pginstall", root / "pgserver" / "pginstall")
            libs = package.parent / "pgserver.libs"
            if libs.is_dir():
                _link_tree(libs, root / "pgserver.libs")
            for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
                directory.chmod(0o755)
        except OSError as exc:
            raise Unavailable(
                f"pgserver: cannot stage its binaries for another user: {exc}"
            ) from None
        yield root / "pgserver"


def _link_tree(src: Path, dst: Path) -> None:
    try:
        shutil.copytree(src, dst, copy_function=os.link, symlinks=True)
    except (OSError, shutil.Error):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)


@contextlib.contextmanager
def pgserver_cluster() -> Iterator[Server]:
    """A temporary cluster from the ``pgserver`` wheel's binaries (found, not imported: its
    import only warns about XDG directories, and ``get_server`` is not wanted, see above)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"pgserver: not installed ({install_hint('embedded')})")
    package = Path(next(iter(spec.submodule_search_locations)))
    with contextlib.ExitStack() as stack:
        if os.geteuid() == 0:
            _server_user()  # refuse before staging anything
            package = stack.enter_context(_mirrored(package))
        origin = "from the pgserver wheel (pgserver)"
        yield stack.enter_context(temp_cluster(package / "pginstall" / "bin", "pgserver", origin))


def docker_engine_silence() -> str | None:
    """Why no Docker engine answers, or None when one does. A Unix socket gets one HTTP ping
    with a short timeout, so that machines without Docker skip this provider in milliseconds
    instead of importing testcontainers and waiting out the Docker client's retries. Other
    ``DOCKER_HOST`` schemes (tcp with TLS, ssh) are left to the Docker client to judge."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"no Docker engine at {path} ({exc.strerror or exc})"
    if re.match(rb"HTTP/1\.[01] 200 ", reply) is None:
        return f"the Docker engine at {path} does not answer a ping"
    return None


@contextlib.contextmanager
def docker_container() -> Iterator[Server]:
    """A PostgreSQL container started by testcontainers, removed on the way out."""
    silence = docker_engine_silence()
    if silence is not None:
        raise Unavailable(f"docker: {silence}")
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:  # testcontainers before 4.15
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            raise Unavailable(
                f"docker: testcontainers is not installed ({install_hint('docker')})"
            ) from None
    with contextlib.ExitStack() as stack:
        try:
            container = stack.enter_context(PostgresContainer(DOCKER_IMAGE, driver=None))
        except Exception as exc:
            raise Unavailable(f"docker: cannot start {DOCKER_IMAGE}: {exc}") from None
        dsn = str(container.get_connection_url())
        yield _probe(
            dsn,
            "docker",
            lambda version: (
                f"PostgreSQL {version} in a temporary {DOCKER_IMAGE} container (docker)"
            ),
        )


PROVIDER_FACTORIES: dict[str, ServerFactory] = {
    "initdb": initdb_cluster,
    "pgserver": pgserver_cluster,
    "docker": docker_container,
}


@contextlib.contextmanager
def first_server(factories: Sequence[ServerFactory]) -> Iterator[Server]:
    """The server of the first factory that can give one; :class:`Unavailable` with every
    reason when none can."""
    reasons: list[str] = []
    with contextlib.ExitStack() as stack:
        for factory in factories:
            try:
                server = stack.enter_context(factory())
            except Unavailable as exc:
                reasons.append(str(exc))
                continue
            yield server
            return
    raise Unavailable("; ".join(reasons))


@contextlib.contextmanager
def open_server(database_url: str | None, provider: str | None = None) -> Iterator[Server]:
    """The server :func:`scratch_database` works on (see the module docstring for the order)."""
    if provider is not None and provider not in PROVIDERS:
        raise DatabaseError(f"unknown provider {provider!r}: one of {', '.join(PROVIDERS)}")
    if database_url is not None and provider not in (None, "url"):
        raise DatabaseError(f"--database-url and the {provider} provider exclude each other")
    if provider == "url" and database_url is None:
        raise DatabaseError("the url provider needs --database-url URL")
    with contextlib.ExitStack() as stack:
        if database_url is not None:
            server = stack.enter_context(existing_server(database_url))
        elif provider is not None:
            server = stack.enter_context(PROVIDER_FACTORIES[provider]())
        else:
            try:
                server = stack.enter_context(first_server(list(PROVIDER_FACTORIES.values())))
            except Unavailable as exc:
                raise DatabaseError(f"{NO_PROVIDER} (Tried: {exc}.)") from None
        yield server


@contextlib.contextmanager
def scratch_on(server: Server, prefix: str = SCRATCH_PREFIX) -> Iterator[str]:
    """A new database with a unique name on ``server`` (from template0, so it starts empty
    whatever template1 holds, and creating it never waits for template1's users); yields its
    DSN and drops it, connections and all, on the way out. Only the database made here is
    ever dropped; the one ``server.dsn`` names only serves to issue CREATE/DROP DATABASE."""
    psycopg = require_psycopg()
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    force = " WITH (FORCE)" if server.major >= 13 else ""

    def admin(statement: str, doing: str) -> None:
        try:
            with connect(server.dsn) as conn:
                conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            raise DatabaseError(
                f"cannot {doing} on {server.label}: its user lacks the CREATEDB privilege"
            ) from None
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot {doing} on {server.label}: {mask(str(exc).strip(), server.dsn)}"
            ) from None

    admin("CREATE DATABASE {} TEMPLATE template0", f"create the scratch database {name}")
    with _cleanup(lambda: admin("DROP DATABASE IF EXISTS {}" + force, f"drop {name}")):
        yield server.dsn_for(name)


@contextlib.contextmanager
def scratch_database(
    database_url: str | None,
    announce: Callable[[str], None] = lambda _: None,
    provider: str | None = None,
) -> Iterator[Scratch]:
    """A throwaway database from ``provider`` (None: the first that works, see the module
    docstring), its choice told through ``announce`` in one line; removed with everything
    made for it when the block is left, on Ctrl-C and SIGTERM included.

    Raises :class:`DatabaseError` (the CLI's exit 2) when no provider can give one."""
    with contextlib.ExitStack() as stack:
        signals = stack.enter_context(_SignalsUnwind())
        server = stack.enter_context(open_server(database_url, provider))
        dsn = stack.enter_context(scratch_on(server))
        stack.callback(signals.hold)  # runs first on the way out: cleanup is not interrupted
        announce(f"trace: {server.label}")
        yield Scratch(dsn, server.provider, server.version_num)
