"""The pre-commit hook for real: a scratch git repository whose .pre-commit-config.yaml
names this repository (at its current commit) as the hook repository, with the real
``pre-commit`` package installing the hook and ``git commit`` running it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def head_of_this_repository() -> str | None:
    """The commit pre-commit will check out: the hook definitions must be committed."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


REV = head_of_this_repository()


@pytest.mark.skipif(
    REV is None, reason=f"{ROOT} is not a git checkout (pre-commit installs hooks from a commit)"
)
def test_hook_passes_a_safe_migration_and_blocks_an_unsafe_one(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (it is in [test])")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=600
        )

    repo = tmp_path / "app"
    migrations = repo / "db" / "migrations"
    migrations.mkdir(parents=True)
    assert run("git", "init", "-q", "-b", "main").returncode == 0
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {REV}\n    hooks:\n      - id: migsafe\n",
        encoding="utf-8",
    )
    installed = run(sys.executable, "-m", "pre_commit", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    (migrations / "0001_users.up.sql").write_text(
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n", encoding="utf-8"
    )
    run("git", "add", ".")
    safe = run("git", "commit", "-m", "users")
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "migsafe (SQL migrations)" in safe.stdout + safe.stderr
    assert "Passed" in safe.stdout + safe.stderr

    (migrations / "0002_index.up.sql").write_text(
        "CREATE INDEX users_name ON users (name);\n", encoding="utf-8"
    )
    run("git", "add", ".")
    unsafe = run("git", "commit", "-m", "index")
    output = unsafe.stdout + unsafe.stderr
    assert unsafe.returncode != 0, output
    assert "Failed" in output
    assert "db/migrations/0002_index.up.sql:1:1: error[require-concurrent-index]" in output
    # The earlier, committed migration is context, not reported again.
    assert "0001_users" not in output
    log = run("git", "log", "--oneline")
    assert len(log.stdout.splitlines()) == 1
