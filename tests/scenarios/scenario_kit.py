"""Running a multi-release story both ways and holding the two answers equal.

A story is a list of releases, each a git tag and the migrations it ships. :func:`run`
builds the story's repository (one commit and one tag per release, ``releases = "git"`` and
the retired objects in its ``pyproject.toml``), captures each release's contract from the
migrations right after tagging it (as a project would, committing the file), then:

- statically: ``migsafe lint`` over the migrations folder (the release rules' findings are
  kept), and ``migsafe check --against <previous release> --at <migration>`` after every
  migration of every release but the first;
- live: applies the same migrations, in order, to a fresh PostgreSQL database and runs
  ``migsafe check --against <previous release> --database-url`` after each one.

After every migration the two checks must give the same exit code and print the same
problems, and :func:`migsafe.compat.compat` must find the same (object, kind) pairs on the
replayed and on the introspected schema; after each release's last migration, the contract
captured from the migrations must equal the one the live database gives (minus the same
retired objects). A disagreement fails the story where it happens.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from click.testing import CliRunner

from migsafe import compat
from migsafe.cli import main
from migsafe.contracts import from_schema, load, path_for, retired_for
from migsafe.db.ephemeral import Server, scratch_on
from migsafe.db.introspect import introspect
from migsafe.sources.sqlfiles import discover

RELEASE_RULES = frozenset({"contract-before-retirement", "breaks-previous-release"})
_CAUSE = re.compile(r" \(caused by [^()]*\)$")


@dataclass(frozen=True)
class Release:
    """A tag (``v2.0.0``) and the migrations it ships: (file name, SQL)."""

    tag: str
    migrations: tuple[tuple[str, str], ...]

    @property
    def version(self) -> str:
        return self.tag.removeprefix("v")


@dataclass(frozen=True)
class Finding:
    rule: str
    migration: str  # file name
    message: str


@dataclass(frozen=True)
class Check:
    """One ``migsafe check`` after ``migration`` against ``against``: the exit code, the
    problems as printed (without the cause, which only a replay knows) and their
    (object, kind) pairs."""

    migration: str
    against: str
    exit_code: int
    printed: frozenset[str]
    problems: frozenset[tuple[str, str]]
    output: str


@dataclass
class Outcome:
    repo: Path
    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # static; the live ones are equal

    def check_after(self, migration: str) -> Check:
        [found] = [c for c in self.checks if c.migration == migration]
        return found


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def invoke(repo: Path, args: Sequence[str]) -> tuple[int, str]:
    with contextlib.chdir(repo):
        done = CliRunner().invoke(main, list(args))
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, done.output


def build(
    root: Path,
    releases: Sequence[Release],
    retired: Mapping[str, Sequence[str]],
    folder: str = "migrations",
) -> Path:
    """The story's repository, with each release's contract captured at its tag; the
    migrations live in ``folder`` (a ``mariadb`` folder makes them MariaDB's)."""
    repo = root / "app"
    (repo / folder).mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Story Teller")
    git(repo, "config", "user.email", "stories@example.com")
    config = '[tool.migsafe]\nreleases = "git"\n\n[tool.migsafe.retired]\n'
    config += "".join(f'"{v}" = {json.dumps(list(objs))}\n' for v, objs in retired.items())
    (repo / "pyproject.toml").write_text(config, encoding="utf-8")
    for release in releases:
        for name, sql in release.migrations:
            (repo / folder / name).write_text(sql, encoding="utf-8")
        (repo / "VERSION").write_text(release.version + "\n", encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"release {release.version}")
        git(repo, "tag", release.tag)
        code, output = invoke(
            repo,
            [
                "contract",
                "capture",
                "--release",
                release.version,
                "--from-migrations",
                folder,
            ],
        )
        assert code == 0, output
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "contracts")
    return repo


def lint(repo: Path) -> list[Finding]:
    """The release rules' findings of ``migsafe lint`` (other rules may find things too:
    these stories are about releases, not locks)."""
    code, output = invoke(repo, ["lint", "migrations", "--format", "json"])
    assert code in (0, 1), output
    doc = json.loads(output)
    assert doc["errors"] == [], doc["errors"]
    return [
        Finding(f["rule"], Path(f["path"]).name, f["message"])
        for f in doc["findings"]
        if f["rule"] in RELEASE_RULES
    ]


def printed(output: str) -> frozenset[str]:
    lines = [line for line in output.splitlines() if not line.startswith("release ")]
    return frozenset(_CAUSE.sub("", line) for line in lines)


def pairs(problems: Sequence[compat.Problem]) -> frozenset[tuple[str, str]]:
    return frozenset((p.object, p.kind) for p in problems)


def apply(dsn: str, sql: str) -> None:
    """A migration as its tool runs it: the file's statements in one transaction."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute(sql)


def run(
    root: Path,
    server: Server,
    releases: Sequence[Release],
    retired: Mapping[str, Sequence[str]] | None = None,
) -> Outcome:
    """Build, lint, and check after every migration both ways (see the module docstring),
    on a fresh database of ``server`` made for the story and dropped after it."""
    with scratch_on(server, "migsafe_story") as dsn:
        return _run(root, dsn, releases, retired or {})


def _run(
    root: Path, dsn: str, releases: Sequence[Release], retired: Mapping[str, Sequence[str]]
) -> Outcome:
    repo = build(root, releases, retired)
    outcome = Outcome(repo, lint(repo))
    migrations = {m.path.name: m for m in discover([repo / "migrations"])}
    done: list[str] = []
    previous: Release | None = None
    for release in releases:
        for name, sql in release.migrations:
            apply(dsn, sql)
            done.append(name)
            if previous is None:
                continue
            against = previous.version
            contract = load(path_for(against, repo))
            static_code, static_out = invoke(
                repo, ["check", "--against", against, "--at", name, "migrations"]
            )
            live_code, live_out = invoke(
                repo, ["check", "--against", against, "--database-url", dsn]
            )
            replayed = compat.replay(migrations[n] for n in done)
            static = pairs(compat.compat(replayed.schema, contract, replayed.provenance))
            live = pairs(compat.compat(introspect(dsn), contract))
            where = f"after {name}, against {against}:\nstatic:\n{static_out}\nlive:\n{live_out}"
            assert static_code == live_code, where
            assert printed(static_out) == printed(live_out), where
            assert static == live, where
            assert static_code == (3 if static else 0), where
            outcome.checks.append(
                Check(name, against, static_code, printed(static_out), static, static_out)
            )
        # The release's contract, captured from the migrations, is the one its database gives.
        live_contract = from_schema(
            introspect(dsn), release.version, retired=retired_for(release.version, retired)
        )
        captured = load(path_for(release.version, repo))
        assert (live_contract.tables, live_contract.enums) == (captured.tables, captured.enums), (
            f"contract of {release.version}: live and captured differ"
        )
        previous = release
    return outcome
