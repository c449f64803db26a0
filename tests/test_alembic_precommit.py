"""The ``migsafe-alembic`` pre-commit hook, run by the real ``pre-commit`` from this
repository at its HEAD commit, in the isolated environment pre-commit builds: a revision
importing an application that is not installed there still gets its findings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git"),
    pytest.mark.skipif(
        not (ROOT / ".git").exists(), reason="the hook repository must be a git checkout"
    ),
]

REVISION = """\
import sqlalchemy as sa
from alembic import op

from shopapp.models import Order  # the application: not installed in the hook's env

revision = "{rev}"
down_revision = {down!r}


def upgrade():
    {body}
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_hook_lints_revisions_without_the_application(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit", reason="the test extra installs pre-commit")
    head = git(ROOT, "rev-parse", "HEAD")
    hooks = git(ROOT, "show", f"{head}:.pre-commit-hooks.yaml")
    assert "id: migsafe-alembic" in hooks
    repo = tmp_path / "app"
    versions = repo / "db" / "versions"
    versions.mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head}\n  hooks:\n  - id: migsafe-alembic\n",
        encoding="utf-8",
    )
    (versions / "a1_orders.py").write_text(
        REVISION.format(
            rev="a1",
            down=None,
            body='op.create_table("orders", sa.Column("id", sa.BigInteger(), primary_key=True))',
        ),
        encoding="utf-8",
    )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def run_hook(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "migsafe-alembic", "--files", *files],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    safe = run_hook("db/versions/a1_orders.py")
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "Passed" in safe.stdout

    (versions / "b2_drop.py").write_text(
        REVISION.format(rev="b2", down="a1", body='op.drop_column("orders", "id")'),
        encoding="utf-8",
    )
    unsafe = run_hook("db/versions/b2_drop.py")
    assert unsafe.returncode == 1, unsafe.stdout + unsafe.stderr
    assert "db/versions/b2_drop.py:11:5: error[drop-column]" in unsafe.stdout
    assert "Failed" in unsafe.stdout
