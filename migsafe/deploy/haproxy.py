"""Blue/green and canary through HAProxy's Runtime API, over its UNIX socket.

Each server of one backend runs a known release (``servers``: server name → release, from
the config or the command line). Traffic moves by server weights: :meth:`HAProxy.set_weight`
gives a release's servers ``weight`` and the others ``100 - weight``
(``set server <backend>/<server> weight <n>``); an undo is a weight of 100 for the target.
The target is raised before the others are lowered, so at no moment is every server at
weight 0. ``show servers state <backend>`` reads the weights back.

Before any weight changes, every server that is to take traffic must be up: running, not in
maintenance or drain, and — when it has health checks — with its last check passed (a check
that has not run yet is waited for). Otherwise moving traffic onto it is an outage, so
nothing changes and the move is refused.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migsafe.deploy.base import Deployer, Revision
from migsafe.deploy.run import DeployError, DeployTimeout, Runner

RUNNING = 2  # srv_op_state
_CHECK_ENABLED = 0x2 | 0x4  # srv_check_state: CHK_ST_CONFIGURED | CHK_ST_ENABLED
_CHECK_PASSED = (3, 4)  # srv_check_result: CHK_RES_PASSED, CHK_RES_CONDPASS
_CHECK_UNKNOWN = 0  # srv_check_result before the first check has finished


@dataclass(frozen=True)
class ServerState:
    name: str
    weight: int  # srv_uweight: the weight as set by the user
    operational: int  # srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
    admin: int = 0  # srv_admin_state: maintenance and drain flags; 0 when none
    check_state: int = 0  # srv_check_state: flags; configured and enabled → health-checked
    check_result: int = 0  # srv_check_result: 0 unknown, 2 failed, 3 passed, 4 passed (cond.)

    @property
    def checked(self) -> bool:
        return self.check_state & _CHECK_ENABLED == _CHECK_ENABLED

    def why_down(self) -> str | None:
        """Why this server cannot take traffic now; None when it can."""
        if self.operational != RUNNING:
            return "is down" if self.operational == 0 else "is not running"
        if self.admin:
            return "is in maintenance or drain"
        if self.checked and self.check_result not in _CHECK_PASSED:
            if self.check_result == _CHECK_UNKNOWN:
                return "has no health check result yet"
            return "fails its health check"
        return None


def parse_servers_state(text: str, backend: str) -> dict[str, ServerState]:
    """The servers of ``backend`` from ``show servers state`` output: a format version
    line, a ``#`` header naming the fields, then one line per server."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line[1:].split() for line in lines if line.startswith("#")), None)
    if not lines or lines[0].strip() != "1" or header is None:
        raise DeployError(f"unexpected `show servers state` output: {text[:200]!r}")
    at = {field: i for i, field in enumerate(header)}
    servers: dict[str, ServerState] = {}
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        cols = line.split()
        if cols[at["be_name"]] != backend:
            continue
        name = cols[at["srv_name"]]
        try:
            servers[name] = ServerState(
                name,
                int(cols[at["srv_uweight"]]),
                int(cols[at["srv_op_state"]]),
                int(cols[at["srv_admin_state"]]) if "srv_admin_state" in at else 0,
                int(cols[at["srv_check_state"]]) if "srv_check_state" in at else 0,
                int(cols[at["srv_check_result"]]) if "srv_check_result" in at else 0,
            )
        except (IndexError, KeyError, ValueError):
            raise DeployError(f"unexpected `show servers state` line: {line[:200]!r}") from None
    return servers


class HAProxy(Deployer):
    kind = "haproxy"

    def __init__(
        self,
        socket_path: Path,
        backend: str,
        servers: Mapping[str, str],
        runner: Runner,
        *,
        poll: float = 0.1,
    ) -> None:
        super().__init__(runner)
        if not servers:
            raise DeployError(
                "the haproxy deployer needs the release of each server: --server NAME=RELEASE"
            )
        self.socket_path, self.backend, self.servers = socket_path, backend, dict(servers)
        self.poll = poll
        self.expected: dict[str, int] | None = None

    def command(self, line: str) -> str:
        """Send one Runtime API command and return the answer."""
        started = time.monotonic()
        argv = [f"socket:{self.socket_path}", line]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(min(self.runner.timeout, 10.0))
                sock.connect(str(self.socket_path))
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            self.runner.note(argv, None, "", str(exc), time.monotonic() - started)
            raise DeployError(
                f"cannot talk to HAProxy's Runtime API at {self.socket_path}: {exc}; check the "
                "`stats socket` line of its config and that HAProxy is running"
            ) from None
        answer = b"".join(chunks).decode(errors="replace")
        self.runner.note(argv, 0, answer, "", time.monotonic() - started)
        return answer

    def state(self) -> dict[str, ServerState]:
        found = parse_servers_state(
            self.command(f"show servers state {self.backend}"), self.backend
        )
        missing = sorted(set(self.servers) - set(found))
        if missing:
            raise DeployError(
                f"backend {self.backend} has no server {', '.join(missing)} "
                f"(it has {', '.join(sorted(found)) or 'none'})"
            )
        return found

    def weights(self) -> dict[str, int]:
        """Each release's share of the weight of the configured servers, in percent."""
        state = self.state()
        total = sum(state[s].weight for s in self.servers)
        shares: dict[str, int] = {}
        for server, release in self.servers.items():
            shares[release] = shares.get(release, 0) + state[server].weight
        return {r: round(100 * w / total) if total else 0 for r, w in shares.items()}

    def current(self) -> str | None:
        shares = self.weights()
        best = max(shares.values(), default=0)
        return next((r for r, w in shares.items() if w == best), None) if best else None

    def history(self) -> list[Revision]:
        now = self.current()
        releases = list(dict.fromkeys(self.servers.values()))
        return [Revision(r, r, r == now) for r in releases]

    def set_weight(self, release: str, weight: int) -> None:
        if release not in self.servers.values():
            raise DeployError(
                f"no server of backend {self.backend} runs release {release} (servers: "
                + ", ".join(f"{s}={r}" for s, r in self.servers.items())
                + ")"
            )
        if not 0 <= weight <= 100:
            raise DeployError(f"a traffic weight is a percentage, 0 to 100, got {weight}")
        target = {s: (weight if r == release else 100 - weight) for s, r in self.servers.items()}
        # every configured server exists, and the ones to take traffic are up, before
        # anything changes
        self._require_up([s for s, w in target.items() if w > 0])
        ordered = sorted(target, key=lambda s: self.servers[s] != release)
        for server in ordered:
            answer = self.command(f"set server {self.backend}/{server} weight {target[server]}")
            if answer.strip():
                raise DeployError(
                    f"HAProxy refused `set server {self.backend}/{server} weight "
                    f"{target[server]}`: {answer.strip()}"
                )
        self.expected = target

    def _require_up(self, servers: list[str]) -> None:
        """:class:`DeployError` naming each of ``servers`` that cannot take traffic; a health
        check that has not run yet is waited for (up to the time limit)."""
        deadline = time.monotonic() + self.runner.timeout
        while True:
            state = self.state()
            down = {s: state[s].why_down() for s in servers}
            pending = [s for s, why in down.items() if why == "has no health check result yet"]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(self.poll)
        problems = [f"{s} ({self.servers[s]}) {why}" for s, why in down.items() if why]
        if problems:
            raise DeployError(
                f"HAProxy backend {self.backend}: " + "; ".join(problems) + ". Moving traffic "
                "onto it would be an outage, so no weight was changed; bring the server up "
                "first"
            )

    def undo(self, to: str) -> None:
        self.set_weight(to, 100)

    def wait(self) -> None:
        """Until HAProxy reports the weights last set (and the servers taking traffic are
        running)."""
        if self.expected is None:
            return
        deadline = time.monotonic() + self.runner.timeout
        while True:
            state = self.state()
            if all(
                state[s].weight == w and (w == 0 or state[s].operational == 2)
                for s, w in self.expected.items()
            ):
                return
            if time.monotonic() > deadline:
                raise DeployTimeout(
                    f"HAProxy backend {self.backend} did not reach the weights "
                    f"{self.expected} within {self.runner.timeout:g} s"
                )
            time.sleep(self.poll)
