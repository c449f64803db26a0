"""Running a deployer's commands: argument lists (no shell), a time limit on each, and a
record of what ran and what it said, for the incident record.

Nothing secret may reach that record or the terminal: every argument, output and error
passes through :func:`redact`, which hides the values it was told are secret, passwords in
URLs, and the values of options and ``key=value`` pairs whose name says token, password or
secret.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

KEEP = 4000  # characters of each output kept in the record: the end, where errors are
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
_SECRET_NAME = r"(?:[\w-]*(?:token|password|passwd|secret|api[-_]?key|credentials?)[\w-]*)"
_SECRET_PAIR = re.compile(rf"(?i)(--?{_SECRET_NAME}[= ]|\b{_SECRET_NAME}\s*[=:]\s*)[^\s,;&]+")
_SECRET_FLAG = re.compile(rf"(?i)^--?{_SECRET_NAME}$")


class DeployError(Exception):
    """A deployer command failed or could not run; the message says which and why."""


class DeployTimeout(DeployError):
    """A deployer command did not finish within its time limit."""


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _SECRET_PAIR.sub(r"\1***", text)


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

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> str:
        """Run ``argv`` and return its standard output; a non-zero exit, a missing program or
        the time limit is a :class:`DeployError` quoting the end of its error output."""
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
        self.note(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        if done.returncode != 0:
            detail = " ".join(redact(done.stderr or done.stdout, self.secrets).split())
            raise DeployError(
                f"`{shown}` failed with exit code {done.returncode}: {detail[-600:] or 'no output'}"
            )
        return done.stdout
