"""The haproxy deployer against a real HAProxy with health checks: it moves traffic only
onto servers that are up — a rollback to a release whose servers are down, failing their
checks or in maintenance is refused with every weight left as it was."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migsafe.deploy.haproxy import HAProxy
from migsafe.deploy.run import DeployError, Runner

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
SERVERS = {"blue": "1.0.0", "green": "2.0.0"}
READY_WITHIN = 30.0

pytestmark = pytest.mark.skipif(
    HAPROXY is None, reason="HAProxy is not installed (.ci/run installs it)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[tuple[HAProxy, socket.socket, int]]:
    """HAProxy with blue (1.0.0, listening, weight 100) and green (2.0.0, nothing listening
    on its port yet, weight 0), both health-checked; green's check has failed."""
    blue = socket.socket()
    blue.bind(("127.0.0.1", 0))
    blue.listen(64)
    green_port = free_port()
    sock = tmp_path / "haproxy.sock"
    (tmp_path / "haproxy.cfg").write_text(
        f"global\n    stats socket {sock} mode 600 level admin\n"
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n"
        "    timeout server 5s\n"
        f"listen app\n    bind 127.0.0.1:{free_port()}\n"
        f"    server blue 127.0.0.1:{blue.getsockname()[1]} weight 100 check inter 200ms "
        "rise 1 fall 1\n"
        f"    server green 127.0.0.1:{green_port} weight 0 check inter 200ms rise 1 fall 1\n",
        encoding="utf-8",
    )
    log = (tmp_path / "haproxy.log").open("wb")
    proc = subprocess.Popen(
        [HAPROXY or "haproxy", "-f", str(tmp_path / "haproxy.cfg"), "-db"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deployer = HAProxy(sock, "app", SERVERS, Runner(10), poll=0.05)
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:  # a readiness wait: blue's check passed, green's failed
            try:
                state = deployer.state()
                if state["blue"].why_down() is None and state["green"].why_down() == "is down":
                    break
            except DeployError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"HAProxy's checks did not settle within {READY_WITHIN:g} s")
            time.sleep(0.05)
        yield deployer, blue, green_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        blue.close()


def weights(deployer: HAProxy) -> dict[str, int]:
    return {name: s.weight for name, s in deployer.state().items()}


def test_no_traffic_moves_onto_servers_that_are_down(
    haproxy: tuple[HAProxy, socket.socket, int],
) -> None:
    deployer, _, green_port = haproxy
    with pytest.raises(DeployError) as refused:
        deployer.undo("2.0.0")
    assert "green (2.0.0) is down" in str(refused.value)
    assert "no weight was changed" in str(refused.value)
    assert weights(deployer) == {"blue": 100, "green": 0}
    with pytest.raises(DeployError, match=r"green \(2\.0\.0\) is down"):
        deployer.set_weight("2.0.0", 10)
    assert weights(deployer) == {"blue": 100, "green": 0}

    # Green comes up: its check passes, and the rollback goes through.
    with socket.socket() as green:
        green.bind(("127.0.0.1", green_port))
        green.listen(64)
        deadline = time.monotonic() + READY_WITHIN
        while deployer.state()["green"].why_down() is not None:
            assert time.monotonic() < deadline, "green's check never passed"
            time.sleep(0.05)
        deployer.undo("2.0.0")
        deployer.wait()
        assert weights(deployer) == {"blue": 0, "green": 100}


def test_no_traffic_moves_onto_a_server_in_maintenance(
    haproxy: tuple[HAProxy, socket.socket, int],
) -> None:
    deployer, _, _ = haproxy
    assert deployer.command("set server app/blue state maint").strip() == ""
    with pytest.raises(DeployError, match=r"blue \(1\.0\.0\) is (in maintenance|down)"):
        deployer.set_weight("2.0.0", 0)
    assert weights(deployer) == {"blue": 100, "green": 0}
