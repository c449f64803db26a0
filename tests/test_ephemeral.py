"""Throwaway databases for ``migsafe trace``: each provider that can run here gives a working
database and leaves nothing behind, whether the block ends normally, by an exception, or by
SIGINT/SIGTERM (also in a separate process killed mid-run); with no provider the error names
the four ways to get one; passwords never reach a message."""

from __future__ import annotations

import importlib.util
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from migsafe.db import DatabaseError
from migsafe.db.ephemeral import Unavailable, mask, scratch_database

WAIT = 60.0  # seconds: the longest any single wait here may take

PROGRAM = """
import sys, time
from migsafe.db.ephemeral import scratch_database

announce = lambda line: print(line, file=sys.stderr, flush=True)
with scratch_database(sys.argv[1] or None, announce, provider=sys.argv[2]) as scratch:
    print(scratch.dsn, flush=True)
    time.sleep(120)
"""


def scratch_names(admin_dsn: str) -> set[str]:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'migsafe\\_trace\\_%'"
        ).fetchall()
    return {row[0] for row in rows}


def select_one(dsn: str) -> tuple[int, str, int]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT 1, current_database(), current_setting('server_version_num')::int"
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaps, as under a container's init, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def cluster_of(dsn: str) -> tuple[Path, int]:
    """The data directory (the socket directory) of a temporary cluster and its postmaster."""
    data = Path(str(conninfo.conninfo_to_dict(dsn)["host"]))
    return data, int((data / "postmaster.pid").read_text().split()[0])


def binary_version(binary: Path) -> str:
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    match = re.search(r"\(PostgreSQL\) (\d+\.\d+)", out)
    assert match, out
    return match.group(1)


def version_of(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temp directory, made new for one test so that what is left in it shows.
    Under /tmp and world-readable: as root the cluster runs as another user."""
    root = Path(tempfile.mkdtemp(prefix="migsafe-test-tmp-"))
    root.chmod(0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


# -- url --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_url_scratch_database_works_and_is_dropped(pg_server: str) -> None:
    lines: list[str] = []
    before = signal.getsignal(signal.SIGTERM)
    expected_version = select_one(pg_server)[2]
    with scratch_database(pg_server, lines.append) as scratch:
        one, name, version = select_one(scratch.dsn)
        assert (one, scratch.provider) == (1, "url")
        assert version == scratch.server_version_num == expected_version
        assert name.startswith("migsafe_trace_") and name in scratch_names(pg_server)
        assert signal.getsignal(signal.SIGTERM) is not before
    assert name not in scratch_names(pg_server)
    assert signal.getsignal(signal.SIGTERM) is before
    assert len(lines) == 1
    assert re.fullmatch(r"trace: PostgreSQL \d+\.\d+ at .* \(--database-url\)", lines[0])


@pytest.mark.postgres
def test_url_scratch_database_is_dropped_after_an_exception(pg_server: str) -> None:
    with pytest.raises(RuntimeError, match="boom"), scratch_database(pg_server) as scratch:
        name = select_one(scratch.dsn)[1]
        raise RuntimeError("boom")
    assert name not in scratch_names(pg_server)


@pytest.mark.postgres
def test_sigterm_in_process_unwinds_and_drops(pg_server: str) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_info, scratch_database(pg_server) as scratch:
        name = select_one(scratch.dsn)[1]
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(WAIT)  # interrupted by the handler
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert name not in scratch_names(pg_server)
    assert signal.getsignal(signal.SIGTERM) is before


def test_bad_url_errors_without_the_password() -> None:
    for url in (
        "postgresql://alice:s3cret@127.0.0.1:1/app",
        "postgresql://alice:s3cret@127.0.0.1:notaport/app",
    ):
        with pytest.raises(DatabaseError) as info, scratch_database(url):
            pass
        assert "s3cret" not in str(info.value)
        assert "127.0.0.1" in str(info.value) or "notaport" in str(info.value)


def test_mask_hides_passwords() -> None:
    text = "password=abc failed; see postgresql://bob:xyz@db/app and PASSWORD = 'q r'"
    masked = mask(text, "password=abc")
    assert "abc" not in masked and "xyz" not in masked and "q r" not in masked
    assert "bob" in masked and "db/app" in masked


REFUSED = (
    'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)


def test_mask_leaves_words_holding_a_short_password_alone() -> None:
    """A one-letter password is masked where it stands as a password, not inside words."""
    dsn = "postgresql://bob:p@127.0.0.1:1/app"
    assert mask(REFUSED, dsn) == REFUSED
    assert mask(f"{REFUSED}; password=p via {dsn}", dsn) == (
        f"{REFUSED}; password=*** via postgresql://bob:***@127.0.0.1:1/app"
    )


def test_mask_hides_a_long_password_wherever_it_appears() -> None:
    dsn = "postgresql://bob:s3cret@127.0.0.1:1/app"
    masked = mask(f"{REFUSED}; role bob with s3cret rejected", dsn)
    assert "s3cret" not in masked
    assert masked.startswith(REFUSED) and "with *** rejected" in masked


@pytest.mark.parametrize("password", ["p", "s3cret"])
def test_a_refused_connection_reads_plainly_and_hides_the_password(password: str) -> None:
    """libpq's own message for a port nothing listens on, through migsafe.db.connect."""
    from migsafe.db import DatabaseError, connect

    with pytest.raises(DatabaseError) as failed:
        connect(f"postgresql://bob:{password}@127.0.0.1:1/app")
    message = str(failed.value)
    assert "port 1 failed" in message and "accepting TCP/IP" in message
    assert "***ort" not in message and "acce***ting" not in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "provider", "message"),
    [
        (None, "url", "needs --database-url"),
        ("host=/nowhere", "initdb", "exclude each other"),
        (None, "sqlite", "unknown provider 'sqlite'"),
    ],
)
def test_contradictory_options_are_refused(url: str | None, provider: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message), scratch_database(url, provider=provider):
        pass


# -- temporary clusters -------------------------------------------------------------------------


@pytest.mark.postgres
def test_initdb_cluster_works_and_is_removed(private_tmp: Path) -> None:
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.skip("no initdb on PATH")
    lines: list[str] = []
    with scratch_database(None, lines.append, provider="initdb") as scratch:
        one, _name, version = select_one(scratch.dsn)
        data, pid = cluster_of(scratch.dsn)
        assert one == 1 and scratch.provider == "initdb" and alive(pid)
        assert data.is_relative_to(private_tmp)
        assert version_of(version) == binary_version(Path(initdb))
    wait_until(lambda: not alive(pid), "the postmaster to exit")
    assert not data.exists() and list(private_tmp.iterdir()) == []
    bindir = Path(initdb).resolve().parent
    pattern = rf"trace: temporary PostgreSQL {version_of(version)} cluster from {bindir} \(initdb\)"
    assert lines and re.fullmatch(pattern, lines[0]), lines


@pytest.mark.postgres
def test_pgserver_cluster_works_and_is_removed(private_tmp: Path) -> None:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pgserver is not installed")
    postgres = Path(next(iter(spec.submodule_search_locations))) / "pginstall/bin/postgres"
    lines: list[str] = []
    with scratch_database(None, lines.append, provider="pgserver") as scratch:
        one, _name, version = select_one(scratch.dsn)
        data, pid = cluster_of(scratch.dsn)
        assert one == 1 and scratch.provider == "pgserver" and alive(pid)
        assert version_of(version) == binary_version(postgres)
    wait_until(lambda: not alive(pid), "the postmaster to exit")
    # the cluster, and as root the mirror of the wheel's binaries, are gone
    assert not data.exists() and list(private_tmp.iterdir()) == []
    assert lines == [f"trace: temporary PostgreSQL {version_of(version)} cluster from the "
                     "pgserver wheel (pgserver)"]  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs another user to run PostgreSQL")
@pytest.mark.parametrize("provider", ["initdb", "pgserver"])
def test_root_without_a_server_user_is_refused(
    provider: str, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_user(name: str) -> object:
        raise KeyError(name)

    monkeypatch.setattr("pwd.getpwnam", no_such_user)
    refused = pytest.raises(DatabaseError, match="no 'postgres' or 'nobody' user")
    with refused, scratch_database(None, provider=provider):
        pass
    assert list(private_tmp.iterdir()) == []


# -- docker, and nothing at all -----------------------------------------------------------------


@pytest.mark.usefixtures("no_docker")
def test_docker_without_an_engine_is_skipped_before_testcontainers_loads() -> None:
    skipped = pytest.raises(Unavailable, match="no Docker engine at")
    with skipped, scratch_database(None, provider="docker"):
        pass
    assert "testcontainers" not in sys.modules


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
            r"docker extra \(pip install '/path/to/migsafe-checkout\[docker\]'",
        ),
        (b"SSH-2.0-OpenSSH\r\n", "does not answer a ping"),
    ],
)
def test_docker_engine_is_pinged_before_testcontainers(
    reply: bytes, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docker.sock"
    requests: list[bytes] = []
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)

        def engine() -> None:
            conn, _ = server.accept()
            with conn:
                requests.append(conn.recv(1024))
                conn.sendall(reply)

        thread = threading.Thread(target=engine, daemon=True)
        thread.start()
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        monkeypatch.setitem(sys.modules, "testcontainers", None)  # as if not installed
        with pytest.raises(Unavailable, match=message), scratch_database(None, provider="docker"):
            pass
        thread.join(WAIT)
    assert requests and requests[0].startswith(b"GET /_ping ")


@pytest.mark.usefixtures("no_docker")
def test_no_provider_names_the_four_ways(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no initdb, no pg_config
    monkeypatch.setitem(sys.modules, "pgserver", None)  # as if not installed
    with pytest.raises(DatabaseError) as info, scratch_database(None):
        pass
    message = str(info.value)
    assert type(info.value) is DatabaseError and "\n" not in message
    for way in ("--database-url URL", "initdb and pg_ctl are on PATH", "pg_config --bindir",
                "embedded extra", "docker extra", "migsafe-checkout[embedded]'"):  # fmt: skip
        assert way in message
    for reason in ("no initdb on PATH", "pgserver: not installed", "docker: no Docker engine"):
        assert reason in message


# -- killed mid-run -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("provider", ["url", "initdb"])
def test_killed_mid_run_leaves_nothing_behind(
    provider: str, signum: int, pg_server: str, private_tmp: Path
) -> None:
    if provider == "initdb" and shutil.which("initdb") is None:
        pytest.skip("no initdb on PATH")
    url = pg_server if provider == "url" else ""
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, url, provider],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # signals go to this process alone
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        ready, _, _ = select.select([proc.stdout], [], [], WAIT)
        assert ready, "the scratch database did not come up in time"
        dsn = proc.stdout.readline().strip()
        assert dsn, proc.stderr.read()
        name = str(conninfo.conninfo_to_dict(dsn)["dbname"])
        if provider == "url":
            assert name in scratch_names(pg_server)
        else:
            data, pid = cluster_of(dsn)
            assert alive(pid) and name in scratch_names(
                conninfo.make_conninfo(dsn, dbname="postgres")
            )
        proc.send_signal(signum)
        returncode = proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
    # an uncaught KeyboardInterrupt ends Python by SIGINT; SIGTERM becomes SystemExit(143)
    assert returncode == (-signal.SIGINT if signum == signal.SIGINT else 128 + signal.SIGTERM)
    assert proc.stderr.read().startswith("trace: ")
    if provider == "url":
        assert name not in scratch_names(pg_server)
    else:
        wait_until(lambda: not alive(pid), "the postmaster to exit")
        assert not data.exists()
    assert list(private_tmp.iterdir()) == []
