"""The blue/green story of ``examples/bluegreen`` end to end, on this machine: a real
PostgreSQL, a real HAProxy, and the example app's two releases as real processes.

Release 1.0.0 live → release 2.0.0's expand migration, ``migsafe gate`` passes → canary
weights 10 → 50 → 100 through the haproxy adapter while a client loop sends requests → an
error spike → ``migsafe rollback --previous`` passes the check and shifts the traffic back
to 1.0.0, and no request failed because of the switch → 2.0.0 back, and a premature
contract migration dropping ``users.name`` → ``migsafe rollback --to 1.0.0`` is refused with
exit 3, naming the column and the migration, and HAProxy's weights are unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from migsafe.db.ephemeral import Server, scratch_on
from migsafe.deploy.haproxy import HAProxy
from migsafe.deploy.run import Runner

pytestmark = pytest.mark.postgres
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "bluegreen"
MIGRATIONS = EXAMPLE / "migrations"
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
SERVERS = {"blue": "1.0.0", "green": "2.0.0"}
READY_WITHIN = 30.0  # seconds a process may take to start listening


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(ready: object, what: str) -> None:
    """Poll ``ready()`` until true; a process that never comes up fails the test, saying
    which (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + READY_WITHIN
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up within {READY_WITHIN:g} s")
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def apply(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute((MIGRATIONS / name).read_text(encoding="utf-8"))


@dataclass
class Result:
    status: int | None  # None: no HTTP answer at all
    release: str | None
    after_rollback: bool
    error: str = ""


class ClientLoop:
    """Sends GET /users through HAProxy, one connection per request, until stopped."""

    def __init__(self, url: str) -> None:
        self.url, self.results = url, list[Result]()
        self.rolled_back, self.stop = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            after = self.rolled_back.is_set()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    self.results.append(Result(r.status, r.headers.get("X-Release"), after))
            except urllib.error.HTTPError as exc:
                self.results.append(Result(exc.code, exc.headers.get("X-Release"), after))
            except OSError as exc:
                self.results.append(Result(None, None, after, str(exc)))

    def more(self, n: int) -> None:
        """Wait for ``n`` more answers."""
        target = len(self.results) + n
        wait_until(lambda: len(self.results) >= target, f"{n} more client requests")


def migsafe(*args: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIGSAFE_DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "migsafe", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def process(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    with scratch_on(pg_default_server_info, "migsafe_bluegreen") as fresh:
        yield fresh


@pytest.mark.skipif(HAPROXY is None, reason="HAProxy is not installed (.ci/run installs it)")
def test_the_bluegreen_story(dsn: str, tmp_path: Path) -> None:
    ports = {k: free_port() for k in ("front", "blue", "green")}
    sock = tmp_path / "haproxy.sock"
    config = (EXAMPLE / "haproxy.cfg.template").read_text(encoding="utf-8")
    (tmp_path / "haproxy.cfg").write_text(
        config.format(
            socket=sock, port=ports["front"], blue_port=ports["blue"], green_port=ports["green"]
        ),
        encoding="utf-8",
    )
    deployer = ["--deployer", "haproxy", "--name", "app", "--socket", str(sock)]
    deployer += [f"--server={s}={r}" for s, r in SERVERS.items()]
    app = [sys.executable, "-X", "utf8"]
    front = f"http://127.0.0.1:{ports['front']}"
    incidents = tmp_path / "incidents.jsonl"

    def weights() -> dict[str, int]:
        state = HAProxy(sock, "app", SERVERS, Runner(10)).state()
        return {name: s.weight for name, s in state.items()}

    apply(dsn, "0001_create_users.up.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (name) VALUES ('ada'), ('grace')")
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            process(
                [
                    *app,
                    str(EXAMPLE / "app_v1.py"),
                    "--port",
                    str(ports["blue"]),
                    "--database-url",
                    dsn,
                ],
                tmp_path / "blue.log",
            )
        )
        stack.enter_context(
            process(
                [HAPROXY or "haproxy", "-f", str(tmp_path / "haproxy.cfg"), "-db"],
                tmp_path / "haproxy.log",
            )
        )
        wait_until(lambda: answers(f"http://127.0.0.1:{ports['blue']}/health"), "release 1.0.0")
        wait_until(sock.exists, "HAProxy's socket")
        wait_until(lambda: answers(f"{front}/users"), "HAProxy")

        # Release 1.0.0 is live.
        done = migsafe(
            "deploy",
            "record",
            "--release",
            "1.0.0",
            "--status",
            "live",
            "--last-migration",
            "0001_create_users",
            dsn=dsn,
        )
        assert done.returncode == 0, done.stderr

        # Release 2.0.0: expand migration, its processes, the gate.
        apply(dsn, "0002_add_display_name.up.sql")
        stack.enter_context(
            process(
                [
                    *app,
                    str(EXAMPLE / "app_v2.py"),
                    "--port",
                    str(ports["green"]),
                    "--database-url",
                    dsn,
                ],
                tmp_path / "green.log",
            )
        )
        wait_until(lambda: answers(f"http://127.0.0.1:{ports['green']}/health"), "2.0.0")
        wait_until(
            lambda: HAProxy(sock, "app", SERVERS, Runner(10)).state()["green"].why_down() is None,
            "release 2.0.0's health check in HAProxy",
        )
        done = migsafe(
            "deploy",
            "record",
            "--release",
            "2.0.0",
            "--last-migration",
            "0002_add_display_name",
            dsn=dsn,
        )
        assert done.returncode == 0, done.stderr
        gate = migsafe("gate", "--release", "2.0.0", "--format", "json", dsn=dsn)
        assert gate.returncode == 0, gate.stdout + gate.stderr
        assert json.loads(gate.stdout)["decision"] == "pass"
        assert json.loads(gate.stdout)["previous"] == "1.0.0"

        # Canary 10 → 50 → 100 while the client loop runs.
        client = ClientLoop(f"{front}/users")
        client.thread.start()
        client.more(20)
        for weight in (10, 50, 100):
            # Every canary step asks the gate first.
            step = migsafe("gate", "--release", "2.0.0", dsn=dsn)
            assert step.returncode == 0, step.stdout + step.stderr
            done = migsafe(
                "deploy",
                "weight",
                "--release",
                "2.0.0",
                "--weight",
                str(weight),
                *deployer,
                dsn=dsn,
            )
            assert done.returncode == 0, done.stderr
            assert weights() == {"green": weight, "blue": 100 - weight}
            client.more(40)
        assert {r.release for r in client.results} == {"1.0.0", "2.0.0"}
        done = migsafe("deploy", "record", "--release", "2.0.0", "--status", "live", dsn=dsn)
        assert done.returncode == 0, done.stderr

        # The error spike, then the rollback.
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{ports['green']}/admin/break", b"")
        ).close()
        client.more(20)
        assert any(r.status == 500 and r.release == "2.0.0" for r in client.results)
        rolled = migsafe(
            "rollback",
            "--previous",
            "--migrations",
            "migrations",
            "--format",
            "json",
            "--incident-log",
            str(incidents),
            *deployer,
            dsn=dsn,
        )
        client.rolled_back.set()
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        incident = json.loads(rolled.stdout)
        assert (incident["from"], incident["to"], incident["status"]) == (
            "2.0.0",
            "1.0.0",
            "rolled-back",
        )
        assert (incident["decision"], incident["after"], incident["problems"]) == (
            "pass",
            "pass",
            [],
        )
        assert any("set server app/blue weight 100" in c["argv"] for c in incident["commands"])
        assert json.loads(incidents.read_text(encoding="utf-8").splitlines()[0]) == incident
        assert weights() == {"blue": 100, "green": 0}
        client.more(40)
        client.stop.set()
        client.thread.join()

        results = client.results
        # No request failed because of the switch: every answer came from a release, and
        # every failure was release 2.0.0's own bug.
        assert [r for r in results if r.status is None or r.release is None] == []
        assert [r for r in results if r.status != 200 and r.release != "2.0.0"] == []
        late = [r for r in results if r.after_rollback]
        assert late and {(r.status, r.release) for r in late} == {(200, "1.0.0")}
        status = migsafe("deploy", "status", "--format", "json", dsn=dsn)
        assert [(r["release"], r["status"]) for r in json.loads(status.stdout)["releases"]] == [
            ("1.0.0", "live"),
            ("2.0.0", "rolled_back"),
        ]

        # 2.0.0 again, mended; then the premature contract migration.
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{ports['green']}/admin/mend", b"")
        ).close()
        done = migsafe(
            "deploy", "weight", "--release", "2.0.0", "--weight", "100", *deployer, dsn=dsn
        )
        assert done.returncode == 0, done.stderr
        done = migsafe("deploy", "record", "--release", "2.0.0", "--status", "live", dsn=dsn)
        assert done.returncode == 0, done.stderr
        apply(dsn, "0003_drop_name.up.sql")
        refused = migsafe(
            "rollback",
            "--to",
            "1.0.0",
            "--migrations",
            "migrations",
            "--incident-log",
            str(incidents),
            *deployer,
            dsn=dsn,
        )
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "refused: release 1.0.0 does not work on the live schema" in refused.stdout
        assert "users.name: expects column name (text); the schema has no such column" in (
            refused.stdout
        )
        assert "caused by migrations/0003_drop_name.up.sql" in refused.stdout
        assert weights() == {"blue": 0, "green": 100}
        last = json.loads(incidents.read_text(encoding="utf-8").splitlines()[-1])
        assert (last["status"], last["decision"]) == ("refused", "fail")
        assert [(p["object"], p["release"]) for p in last["problems"]] == [("users.name", "1.0.0")]
        status = migsafe("deploy", "status", "--format", "json", dsn=dsn)
        assert [(r["release"], r["status"]) for r in json.loads(status.stdout)["releases"]] == [
            ("1.0.0", "live"),
            ("2.0.0", "live"),
        ]


def test_the_example_contracts_are_what_its_migrations_give(tmp_path: Path) -> None:
    """The committed contracts cannot drift from the migrations they were captured from."""
    for release in ("1.0.0", "2.0.0"):
        out = tmp_path / f"{release}.json"
        done = subprocess.run(
            [sys.executable, "-m", "migsafe", "contract", "capture", "--release", release,
             "--from-migrations", "migrations", "-o", str(out)],
            cwd=EXAMPLE, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        committed = EXAMPLE / ".migsafe" / "contracts" / f"{release}.json"
        assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
            committed.read_text(encoding="utf-8")
        )
