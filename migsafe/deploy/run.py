"""Running a deployer's commands: argument lists (no shell), a time limit on each, and a
record of what ran and what it said, for the incident record.

Nothing secret may reach that record or the terminal: every argument, output and error
passes through :func:`redact`, which hides the values it was told are secret, passwords in
URLs, ``Authorization`` credentials of any scheme, the values of options, ``key=value``
pairs and JSON keys whose name says token, password or secret, and the values of
Kubernetes environment entries whose name says password, secret, token, key or credential.
Output that is all objects — ``kubectl get -o json`` — is not kept at all (``keep=False``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

KEEP = 4000  # characters of each output kept in the record: the end, where errors are
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
_SECRET_NAME = r"(?:[\w-]*(?:token|password|passwd|secret|api[-_]?key|credentials?)[\w-]*)"
_SECRET_PAIR = re.compile(rf"(?i)(--?{_SECRET_NAME}[= ]|\b{_SECRET_NAME}\s*[=:]\s*)[^\s,;&]+")
_SECRET_FLAG = re.compile(rf"(?i)^--?{_SECRET_NAME}$")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+")
_AUTHORIZATION = re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(\w+)\s+)?[^\s\"',;]+")
_JSON_SECRET = re.compile(rf'(?i)("{_SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"')
_ENV_NAME = r"[\w.-]*(?:password|passwd|secret|token|key|credential)[\w.-]*"
# {"name": "DB_PASSWORD", "value": "…"} in either order, and its YAML form.
_ENV_JSON = re.compile(
    rf'(?i)("name"\s*:\s*"{_ENV_NAME}"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*"'
    rf'|("value"\s*:\s*)"(?:[^"\\]|\\.)*"(\s*,\s*"name"\s*:\s*"{_ENV_NAME}")'
)
_ENV_YAML = re.compile(rf"(?im)(\bname:\s*[\"']?{_ENV_NAME}[\"']?\s*\n\s*value:\s*)\S.*$")


class DeployError(Exception):
    """A deployer command failed or could not run; the message says which and why."""


class DeployTimeout(DeployError):
    """A deployer command did not finish within its time limit."""


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _AUTHORIZATION.sub(
        lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + "***", text
    )
    text = _BEARER.sub(r"\1 ***", text)
    text = _ENV_JSON.sub(
        lambda m: f'{m.group(1)}"***"' if m.group(1) else f'{m.group(2)}"***"{m.group(3)}', text
    )
    text = _ENV_YAML.sub(r"\1***", text)
    text = _JSON_SECRET.sub(r'\1"***"', text)
    return _SECRET_PAIR.sub(r"\1***", text)


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Output that parsed but is not shaped as expected (a missing key, a revision that is
    not a number) becomes a :class:`DeployError` naming the command, not a traceback."""
    try:
        yield
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        detail = f"no {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise DeployError(f"`{what}` printed output migsafe cannot read: {detail}") from None


def redact_argv(argv: Sequence[str], secrets: Sequence[str] = ()) -> tuple[str, ...]:
    """``argv`` with secrets hidden, including the value after ``--token`` and the like."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        out.append("***" if hide_next else redact(arg, secrets))
        hide_next = bool(_SECRET_FLAG.match(arg))
    return tuple(out)


@dataclass(frozen=True)
class CommandRecord:
    """One command as it ran, redacted: ``exit_code`` None when it timed out or could not
    start."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "seconds": round(self.seconds, 3),
        }


def _tail(text: str) -> str:
    return text if len(text) <= KEEP else "…" + text[-KEEP:]


@dataclass
class Runner:
    """Runs commands for one deployer and keeps their records."""

    timeout: float = 300.0
    secrets: tuple[str, ...] = ()
    records: list[CommandRecord] = field(default_factory=list)

    def note(
        self, argv: Sequence[str], exit_code: int | None, out: str, err: str, t: float
    ) -> None:
        """Keep the record of something done without a subprocess (a socket command)."""
        self.records.append(
            CommandRecord(
                redact_argv(argv, self.secrets),
                exit_code,
                _tail(redact(out, self.secrets)),
                _tail(redact(err, self.secrets)),
                t,
            )
        )

    def run(self, argv: Sequence[str], *, timeout: float | None = None, keep: bool = True) -> str:
        """Run ``argv`` and return its standard output; a non-zero exit, a missing program or
        the time limit is a :class:`DeployError` quoting the end of its error output.
        ``keep=False``: the record holds only the size of the output (whole objects, such
        as a Deployment with its environment, have no place in an incident log)."""
        import subprocess

        limit = self.timeout if timeout is None else timeout
        shown = " ".join(redact_argv(argv, self.secrets))
        started = time.monotonic()
        try:
            done = subprocess.run(
                list(argv), capture_output=True, text=True, timeout=limit, check=False
            )
        except FileNotFoundError:
            self.note(argv, None, "", f"{argv[0]}: not found", time.monotonic() - started)
            raise DeployError(
                f"`{shown}` cannot run: {argv[0]} is not installed or not on PATH"
            ) from None
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
            err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            self.note(argv, None, out, err, time.monotonic() - started)
            raise DeployTimeout(
                f"`{shown}` did not finish within {limit:g} s and was stopped"
            ) from None
        kept = done.stdout if keep else f"({len(done.stdout)} characters, not kept)"
        self.note(argv, done.returncode, kept, done.stderr, time.monotonic() - started)
        if done.returncode != 0:
            detail = " ".join(redact(done.stderr or done.stdout, self.secrets).split())
            raise DeployError(
                f"`{shown}` failed with exit code {done.returncode}: {detail[-600:] or 'no output'}"
            )
        return done.stdout
