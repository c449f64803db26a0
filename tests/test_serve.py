"""``migsafe serve`` over real HTTP: the command runs as a subprocess (uvicorn on a free
port) against a real PostgreSQL with a release ledger, and the tests talk to it the way
Argo Rollouts' web provider and Flagger's webhooks do."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from migsafe import ledger
from migsafe.cli import main
from migsafe.contracts import from_database
from migsafe.db.ephemeral import Server, scratch_on

pytestmark = pytest.mark.postgres

TOKEN = "s3cret-token-for-tests-0123456789"
DOWN_URL = "postgresql://app:hunter2@127.0.0.1:1/prod"
GATING = [
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
]
STARTUP_WAIT = 60.0  # seconds; a loaded CI machine may be slow to import and bind


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        doc = json.loads(self.body)
        assert isinstance(doc, dict)
        return doc


@dataclass
class Running:
    port: int
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = TOKEN,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def hook(self, hook: str, payload: object, token: str | None = TOKEN) -> Reply:
        body = json.dumps(payload).encode()
        return self.request(
            "POST", f"/v1/flagger/{hook}", body, {"Content-Type": "application/json"}, token
        )

    def logs(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()


def flagger_payload(release: str | None = "2.0.0", **metadata: str) -> dict[str, object]:
    """The body Flagger POSTs to a webhook: the canary, its phase, the checksum of its
    tracked configuration, and the webhook's metadata from the Canary spec."""
    meta = {"release": release, **metadata} if release is not None else dict(metadata)
    return {
        "name": "shop",
        "namespace": "shop",
        "phase": "Progressing",
        "checksum": "85d557f47b",
        "metadata": meta,
    }


@pytest.fixture(scope="module")
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    """Ledger: 0.9.0 (needed a `legacy` table, since dropped), 1.0.0 (users.id, name) and
    2.0.0, deploying (adds users.display_name), whose previous release is 1.0.0."""
    with scratch_on(pg_default_server_info, "migsafe_serve") as fresh:
        where = ledger.Location()
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL)")
            conn.execute("CREATE TABLE legacy (id bigint PRIMARY KEY)")
            ledger.record(conn, where, "0.9.0", from_database(fresh, "0.9.0"), status="live")
            conn.execute("DROP TABLE legacy")
            ledger.record(conn, where, "1.0.0", from_database(fresh, "1.0.0"), status="live")
            conn.execute("ALTER TABLE users ADD COLUMN display_name text")
            ledger.record(conn, where, "2.0.0", from_database(fresh, "2.0.0"))
        yield fresh


def start(tmp: Path, env: dict[str, str], *args: str) -> Running:
    stdout, stderr = tmp / "stdout.log", tmp / "stderr.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "migsafe", "serve", "--port", "0", *args],
        stdout=stdout.open("wb"),
        stderr=stderr.open("wb"),
        env=env,
    )
    deadline = time.monotonic() + STARTUP_WAIT
    while time.monotonic() < deadline:
        found = re.search(r"running on http://127\.0\.0\.1:(\d+)", stderr.read_text())
        if found:
            return Running(int(found.group(1)), process, stdout, stderr)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise AssertionError(f"migsafe serve did not start:\n{stderr.read_text()}")


def stop(running: Running) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()


def server_env(database_url: str, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGSAFE_SERVE_TOKEN")}
    env["MIGSAFE_DATABASE_URL"] = database_url
    if token is not None:
        env["MIGSAFE_SERVE_TOKEN"] = token
    return env


@pytest.fixture(scope="module")
def server(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start(
        tmp_path_factory.mktemp("serve"), server_env(dsn), "--max-body", "4096", "--cache-ttl", "30"
    )
    yield running
    stop(running)


@pytest.fixture(scope="module")
def down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A server whose database is a closed port, with a password that must never show."""
    running = start(tmp_path_factory.mktemp("serve-down"), server_env(DOWN_URL))
    yield running
    stop(running)


@pytest.fixture
def canary_broken(dsn: str) -> Iterator[None]:
    """The schema as a premature contract migration leaves it: 2.0.0's users.display_name
    renamed away, while 1.0.0 still works."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE users RENAME COLUMN display_name TO shown_name")
    try:
        yield
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ALTER TABLE users RENAME COLUMN shown_name TO display_name")


# -- the endpoints -------------------------------------------------------------------------


def test_healthz_answers_without_a_token(server: Running) -> None:
    reply = server.request("GET", "/healthz", token=None)
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def test_gate_passes_with_the_previous_release_from_the_ledger(server: Running) -> None:
    for path in ("/v1/gate?release=2.0.0", "/v1/gate?release=2.0.0&previous="):
        reply = server.request("GET", path)
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        assert reply.json() == {
            "decision": "pass",
            "release": "2.0.0",
            "previous": "1.0.0",
            "problems": [],
            "reason": None,
        }


def test_gate_fails_with_each_problem_and_its_release(server: Running, canary_broken: None) -> None:
    reply = server.request("GET", "/v1/gate?release=2.0.0&previous=1.0.0")
    doc = reply.json()
    assert (reply.status, doc["decision"]) == (200, "fail")
    assert [(p["release"], p["object"], p["kind"]) for p in doc["problems"]] == [  # type: ignore[index,union-attr]
        ("2.0.0", "users.display_name", "missing-column")
    ]


def test_gate_answers_again_once_the_schema_changes_back(server: Running, dsn: str) -> None:
    """The cache is keyed by the schema fingerprint: the decision cached for the broken
    schema (30 s TTL on this server) is not served for the repaired one."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE users RENAME COLUMN display_name TO shown_name")
        assert server.request("GET", "/v1/gate?release=2.0.0").json()["decision"] == "fail"
        conn.execute("ALTER TABLE users RENAME COLUMN shown_name TO display_name")
    assert server.request("GET", "/v1/gate?release=2.0.0").json()["decision"] == "pass"


def test_gate_is_inconclusive_with_http_200_for_an_unknown_release(server: Running) -> None:
    reply = server.request("GET", "/v1/gate?release=9.9.9")
    doc = reply.json()
    assert (reply.status, doc["decision"]) == (200, "inconclusive")
    assert "no contract for release 9.9.9" in str(doc["reason"])


def test_gate_checks_an_explicit_previous_release(server: Running) -> None:
    doc = server.request("GET", "/v1/gate?release=2.0.0&previous=0.9.0").json()
    assert (doc["decision"], doc["previous"]) == ("fail", "0.9.0")
    assert [(p["release"], p["object"]) for p in doc["problems"]] == [("0.9.0", "legacy")]  # type: ignore[index,union-attr]


@pytest.mark.parametrize("hook", GATING)
def test_gating_hooks_proceed_on_pass_and_hold_on_fail(
    hook: str, server: Running, dsn: str
) -> None:
    passed = server.hook(hook, flagger_payload())
    assert passed.status == 200
    assert {k: passed.json()[k] for k in ("hook", "decision", "action")} == {
        "hook": hook,
        "decision": "pass",
        "action": "proceed",
    }
    held = server.hook(hook, flagger_payload(previous="0.9.0"))
    assert (held.status, held.json()["decision"], held.json()["action"]) == (409, "fail", "hold")
    unknown = server.hook(hook, flagger_payload("9.9.9"))
    assert (unknown.status, unknown.json()["decision"]) == (409, "inconclusive")


@pytest.mark.parametrize("hook", GATING)
def test_gating_hooks_hold_when_the_canary_breaks(
    hook: str, server: Running, canary_broken: None
) -> None:
    reply = server.hook(hook, flagger_payload())
    assert (reply.status, reply.json()["decision"]) == (409, "fail")


def test_rollback_hook_answers_200_only_when_the_canary_is_unsafe(
    server: Running, dsn: str
) -> None:
    safe = server.hook("rollback", flagger_payload())
    assert (safe.status, safe.json()["action"]) == (409, "keep the canary")
    # Only the previous release is broken: routing traffic back to it would not help.
    old_broken = server.hook("rollback", flagger_payload(previous="0.9.0"))
    assert (old_broken.status, old_broken.json()["decision"]) == (409, "fail")
    unknown = server.hook("rollback", flagger_payload("9.9.9"))
    assert (unknown.status, unknown.json()["decision"]) == (409, "inconclusive")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE users RENAME COLUMN display_name TO shown_name")
        try:
            unsafe = server.hook("rollback", flagger_payload())
        finally:
            conn.execute("ALTER TABLE users RENAME COLUMN shown_name TO display_name")
    assert (unsafe.status, unsafe.json()["action"]) == (200, "roll back")


def test_metrics_count_decisions_by_outcome(server: Running) -> None:
    server.request("GET", "/v1/gate?release=2.0.0")
    reply = server.request("GET", "/metrics", token=None)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")
    text = reply.body.decode()
    passes = re.search(
        r'^migsafe_gate_decisions_total\{decision="pass",endpoint="gate"\} (\d+)', text, re.M
    )
    assert passes and float(passes.group(1)) >= 1
    assert re.search(
        r'^migsafe_http_request_duration_seconds_bucket\{le="0.1",route="/v1/gate"\}', text, re.M
    )
    assert 'migsafe_gate_cache_total{result="hit"}' in text


# -- authentication and bad input ------------------------------------------------------------


def test_missing_and_wrong_tokens_are_refused(server: Running) -> None:
    for token in (None, "wrong"):
        reply = server.request("GET", "/v1/gate?release=2.0.0", token=token)
        assert reply.status == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert "token" in str(reply.json()["error"])
        assert server.hook("pre-rollout", flagger_payload(), token=token).status == 401


def test_flagger_may_send_the_token_in_metadata(server: Running) -> None:
    """Flagger cannot set headers: the token comes in the webhook's metadata instead."""
    reply = server.hook("pre-rollout", flagger_payload(token=TOKEN), token=None)
    assert (reply.status, reply.json()["decision"]) == (200, "pass")
    wrong = server.hook("pre-rollout", flagger_payload(token="guess"), token=None)
    assert wrong.status == 401
    # A header, when sent, is the token that counts.
    assert server.hook("pre-rollout", flagger_payload(token=TOKEN), token="guess").status == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps(flagger_payload(None)).encode(), "metadata.release must be"),
        (json.dumps({**flagger_payload(), "name": 3}).encode(), "name must be"),
        (json.dumps({**flagger_payload(), "metadata": ["release"]}).encode(), "object of strings"),
        (
            json.dumps({**flagger_payload(), "metadata": {"release": 2}}).encode(),
            "object of strings",
        ),
    ],
)
def test_malformed_flagger_bodies_get_a_json_400(
    server: Running, body: bytes, message: str
) -> None:
    reply = server.request("POST", "/v1/flagger/pre-rollout", body)
    assert reply.status == 400
    assert message in str(reply.json()["error"])


def test_bad_queries_paths_and_methods_get_json_errors(server: Running) -> None:
    cases = [
        ("GET", "/v1/gate", 400, "release is required"),
        ("GET", "/v1/gate?release=%20", 400, "release is required"),
        ("GET", "/v1/gate?release=" + "9" * 300, 400, "at most 200"),
        ("POST", "/v1/flagger/post-rollout", 404, "no Flagger hook 'post-rollout'"),
        ("GET", "/v1/flagger/pre-rollout", 405, "Method Not Allowed"),
        ("GET", "/nowhere", 404, "Not Found"),
    ]
    for method, path, status, message in cases:
        reply = server.request(method, path, b"{}" if method == "POST" else None)
        assert (reply.status, reply.headers["content-type"]) == (status, "application/json")
        assert message in str(reply.json()["error"]), (path, reply.body)


def test_oversized_bodies_are_refused_with_413(server: Running) -> None:
    big = json.dumps(flagger_payload(padding="x" * 8000)).encode()
    reply = server.request("POST", "/v1/flagger/pre-rollout", big)
    assert (reply.status, reply.json()["limit"]) == (413, 4096)
    # Without a Content-Length (chunked), the limit holds while the body streams in.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/v1/flagger/pre-rollout",
            body=iter([big[:3000], big[3000:]]),
            headers={"Authorization": f"Bearer {TOKEN}"},
            encode_chunked=True,
        )
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())["limit"]) == (413, 4096)
    finally:
        conn.close()


# -- database down, load, logs -------------------------------------------------------------


def test_database_down_answers_503_inconclusive_and_stays_healthy(down: Running) -> None:
    reply = down.request("GET", "/v1/gate?release=2.0.0")
    doc = reply.json()
    assert (reply.status, doc["decision"]) == (503, "inconclusive")
    assert "cannot use the database at" in str(doc["reason"])
    for hook in [*GATING, "rollback"]:
        hooked = down.hook(hook, flagger_payload())
        assert (hooked.status, hooked.json()["decision"]) == (503, "inconclusive"), hook
    assert down.request("GET", "/healthz", token=None).status == 200
    out, err = down.logs()
    assert "hunter2" not in out + err + reply.body.decode()


def test_a_database_that_never_answers_gets_503_at_the_deadline(tmp_path: Path) -> None:
    """A server that accepts connections and then says nothing (a hung host): the answer
    comes at --deadline, not after Flagger has given up. DATABASE_URL is read too."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    env = server_env("", token=TOKEN)
    del env["MIGSAFE_DATABASE_URL"]
    env["DATABASE_URL"] = f"postgresql://app@127.0.0.1:{silent.getsockname()[1]}/prod"
    running = start(tmp_path, env, "--deadline", "1")
    try:
        reply = running.request("GET", "/v1/gate?release=2.0.0")
        doc = reply.json()
        assert (reply.status, doc["decision"]) == (503, "inconclusive")
        assert doc["reason"] == "no answer from the database within 1 s; the gate cannot decide"
        hooked = running.hook("confirm-promotion", flagger_payload())
        assert (hooked.status, hooked.json()["action"]) == (503, "hold")
    finally:
        stop(running)
        silent.close()


def test_200_concurrent_gate_requests_all_pass(server: Running) -> None:
    replies: list[Reply | BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(200)

    def ask() -> None:
        barrier.wait()
        try:
            reply: Reply | BaseException = server.request("GET", "/v1/gate?release=2.0.0")
        except BaseException as exc:
            reply = exc
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=ask) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r for r in replies if not isinstance(r, Reply)]
    assert errors == []
    assert len(replies) == 200
    assert {(r.status, r.json()["decision"]) for r in replies if isinstance(r, Reply)} == {
        (200, "pass")
    }


def test_access_log_is_json_lines_without_secrets(server: Running) -> None:
    server.hook("pre-rollout", flagger_payload(token=TOKEN), token=None)
    server.request("GET", "/v1/gate?release=2.0.0", token="wrong-token-value")
    out, err = server.logs()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(
        {"time", "method", "path", "status", "duration_ms"} <= set(x) for x in lines
    )
    hooked = [x for x in lines if x["path"] == "/v1/flagger/pre-rollout" and x["status"] == 200]
    assert hooked and hooked[-1]["canary"] == "shop/shop" and hooked[-1]["decision"] == "pass"
    assert any(x["status"] == 401 for x in lines)
    assert TOKEN not in out + err
    assert "wrong-token-value" not in out + err


# -- starting up -----------------------------------------------------------------------------


def test_serve_refuses_to_start_without_a_token_or_a_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MIGSAFE_SERVE_TOKEN", "MIGSAFE_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    done = CliRunner().invoke(main, ["serve"])
    assert done.exit_code == 2
    assert "MIGSAFE_DATABASE_URL" in done.output
    monkeypatch.setenv("DATABASE_URL", DOWN_URL)
    done = CliRunner().invoke(main, ["serve"])
    assert done.exit_code == 2
    assert "MIGSAFE_SERVE_TOKEN is not set" in done.output
    assert "--insecure-no-auth" in done.output


def test_insecure_no_auth_serves_without_a_token(dsn: str, tmp_path: Path) -> None:
    running = start(tmp_path, server_env(dsn, token=None), "--insecure-no-auth")
    try:
        reply = running.request("GET", "/v1/gate?release=2.0.0", token=None)
        assert (reply.status, reply.json()["decision"]) == (200, "pass")
    finally:
        stop(running)


def test_lint_does_not_import_the_web_stack() -> None:
    code = (
        "import sys, migsafe.cli; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'prometheus_client', 'yaml') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
