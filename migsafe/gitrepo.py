"""Running git for the commands that read history (``lint --changed``, ``releases``): each
names its own error type and what to say when git is not installed, so the message fits the
option the user gave."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def run(
    cwd: Path, args: Sequence[str], error: type[Exception], missing: str
) -> subprocess.CompletedProcess[str]:
    """``git -C cwd args``, whatever its exit status. Raises ``error(missing)`` when git is
    not installed."""
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise error(missing) from None


def output(cwd: Path, args: Sequence[str], error: type[Exception], missing: str) -> str:
    """What ``git -C cwd args`` prints. Raises ``error`` with git's own message when it
    fails, and ``error(missing)`` when git is not installed."""
    done = run(cwd, args, error, missing)
    if done.returncode != 0:
        raise error(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout
