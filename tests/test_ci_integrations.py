"""The CI integrations: the GitHub composite action and the GitLab CI template parse, have
the shape their runners expect, and their shell steps, run for real with bash and git in a
scratch clone set up like a pull request, produce annotations / a Code Quality report for
the changed migration only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "integrations" / "github" / "action.yml"
GITLAB = ROOT / "integrations" / "gitlab" / "migsafe.gitlab-ci.yml"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
needs_tools = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("bash") is None, reason="needs git and bash"
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A clone on a feature branch that adds one unsafe migration to main's two."""
    upstream = tmp_path / "upstream"
    m = upstream / "db" / "migrations"
    m.mkdir(parents=True)
    git(upstream, "init", "-q", "-b", "main")
    (m / "0001_users.up.sql").write_text("CREATE TABLE users (id bigint, name text);\n")
    (m / "0002_old.up.sql").write_text("CREATE INDEX old ON users (name);\n")
    git(upstream, "add", ".")
    git(upstream, "commit", "-q", "-m", "base")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    new = clone / "db" / "migrations" / "0003_email.up.sql"
    new.write_text("ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX e ON users (email);\n")
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "email")
    return clone


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, "PATH": path, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_action_is_a_composite_action_with_the_documented_inputs() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"paths", "changed-only", "base", "sarif", "fail-on"}
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert all("shell" in s for s in steps if "run" in s)
    (upload,) = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/")]
    assert upload["with"]["sarif_file"] == "migsafe.sarif"
    lint = next(s for s in steps if s.get("id") == "lint")
    assert "migsafe lint --format github" in lint["run"] and "--changed" in lint["run"]
    assert "${{" not in lint["run"]  # inputs reach the script as variables, never as code


@needs_tools
@pytest.mark.parametrize("sarif", ["false", "true"])
def test_action_lint_step_annotates_the_changed_migration(
    pull_request: Path, tmp_path: Path, sarif: str
) -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    lint = next(s for s in action["runs"]["steps"] if s.get("id") == "lint")
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    env = {
        key: inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for key, value in lint["env"].items()
    }
    env |= {"MIGSAFE_PATHS": "db/migrations", "MIGSAFE_SARIF": sarif}
    output = tmp_path / "github_output"
    env |= {"GITHUB_OUTPUT": str(output), "GITHUB_BASE_REF": "main"}
    done = run_script(lint["run"], pull_request, env)
    assert done.returncode == 0, done.stderr
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert annotations, done.stdout + done.stderr
    assert all("file=db/migrations/0003_email.up.sql," in a for a in annotations)
    assert any(a.startswith("::error ") and "require-concurrent-index" in a for a in annotations)
    assert output.read_text().strip() == "exit-code=1"
    report = pull_request / "migsafe.sarif"
    assert report.exists() == (sarif == "true")
    if sarif == "true":
        results = json.loads(report.read_text())["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert uris == {"db/migrations/0003_email.up.sql"}


def test_gitlab_template_publishes_a_code_quality_report() -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["migsafe"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert job["artifacts"]["when"] == "always"
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert "--format gitlab" in "\n".join(job["script"])


@needs_tools
def test_gitlab_template_refuses_to_guess_the_package(tmp_path: Path) -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["migsafe"]
    env = {k: str(v) for k, v in job["variables"].items()}
    done = run_script(job["before_script"][0], tmp_path, env)
    assert done.returncode == 2
    assert "MIGSAFE_PACKAGE" in done.stderr and "another project" in done.stderr


@needs_tools
def test_gitlab_script_reports_the_merge_request_s_migrations(pull_request: Path) -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["migsafe"]
    script = "\n".join(job["script"])
    env = {k: str(v) for k, v in job["variables"].items()} | {"MIGSAFE_PATHS": "db/migrations"}
    base = git(pull_request, "merge-base", "origin/main", "HEAD")
    done = run_script(script, pull_request, env | {"CI_MERGE_REQUEST_DIFF_BASE_SHA": base})
    assert done.returncode == 1, done.stderr  # findings fail the job; the report is kept
    report = json.loads((pull_request / "gl-code-quality-report.json").read_text())
    assert {i["location"]["path"] for i in report} == {"db/migrations/0003_email.up.sql"}
    # On the default branch (no merge request) every migration is linted.
    done = run_script(script, pull_request, env)
    report = json.loads((pull_request / "gl-code-quality-report.json").read_text())
    assert "db/migrations/0002_old.up.sql" in {i["location"]["path"] for i in report}
