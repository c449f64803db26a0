"""Linting some migrations in the context of the others.

A migration's findings depend on the schema the migrations before it left (a table created
two files earlier is not new; an index added last week exists), so linting only the files a
change touches must still replay the files before them. Two callers need that: pre-commit,
which passes the staged files one by one, and ``migsafe lint --changed``, which asks git
which migration files differ from the merge base. Both produce a :class:`Selection`: the
migrations to analyse, in their tool's order up to the last one reported, and which of
them to report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe.sources import Migration, SourceError
from migsafe.sources.sqlfiles import FOLDER_FILES, discover

if TYPE_CHECKING:
    import subprocess

    from migsafe.analysis import Result

DEFAULT_BASES = ("origin/HEAD", "main", "master")
_ORDERED = re.compile(r"^(?:\d|[VU]\d|R__)|\.(?:up|down)\.sql$", re.I)


class ChangedError(Exception):
    """git cannot say what changed: not a repository, no base, history too shallow."""


@dataclass(frozen=True)
class Selection:
    migrations: list[Migration]
    # Display paths whose findings are reported; None: every migration's.
    reported: frozenset[str] | None = None


def migrations_folder(path: Path) -> Path | None:
    """The folder a migration file's tool orders it in, when its name says it is one of an
    ordered set (numbered, Flyway, golang-migrate, diesel, Prisma, dbmate); None for a lone
    script. Only the name is read: the hook path must stay cheap."""
    name = path.name
    if name.lower() in FOLDER_FILES and path.parent.name:
        return path.parent.parent
    if _ORDERED.search(name):
        return path.parent
    return None


def _where(path: Path) -> str:
    """The path as a key: absolute, spelled as walked (no symlinks resolved, no syscall)."""
    return os.path.abspath(path)


def _up_to_last(
    migrations: list[Migration], wanted: set[str], where: Callable[[Path], str]
) -> list[Migration]:
    keys = [where(m.path) for m in migrations]
    last = max((i for i, k in enumerate(keys) if k in wanted), default=-1)
    return migrations[: last + 1]


def with_context(
    paths: Iterable[Path], exclude: Sequence[str], errors: list[SourceError]
) -> Selection:
    """Migrations for ``migsafe lint PATHS``. A folder is linted whole, as before; a file
    that belongs to an ordered migrations folder is linted after the earlier migrations of
    that folder, which are replayed for their schema but not reported. Files of one folder
    are linted in the folder's order; other files keep the order they were given in."""
    paths = list(paths)
    folders = {p: migrations_folder(p) for p in paths if p.is_file()}
    if not any(folders.values()):
        return Selection(discover(paths, exclude, errors))
    out: list[Migration] = []
    reported: set[str] = set()
    done: set[Path] = set()
    problems: list[SourceError] = []
    for path in paths:
        folder = folders.get(path)
        if folder is None:
            found = discover([path], exclude, problems)
            out.extend(found)
            reported.update(m.display for m in found)
            continue
        if folder in done:
            continue
        done.add(folder)
        given = {_where(p) for p, f in folders.items() if f == folder}
        walked: list[SourceError] = []
        sequence = _up_to_last(discover([folder], exclude, walked), given, _where)
        missing = given - {_where(m.path) for m in sequence}
        if missing:
            # Excluded by the config, or in a hidden folder: lint them as given, alone.
            return Selection(discover(paths, exclude, errors))
        # A sibling that cannot be read is not linted here, as --changed does not lint it.
        problems += [e for e in walked if _where(Path(e.path)) in given]
        out.extend(sequence)
        reported.update(m.display for m in sequence if _where(m.path) in given)
    errors += problems
    return Selection(out, frozenset(reported))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import subprocess

    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ChangedError("--changed needs git, and git is not installed here") from None


def merge_base(base: str | None, cwd: Path) -> str:
    """The commit to compare with: the merge base of HEAD and ``base``, else of HEAD and
    the first of origin/HEAD, main, master that exists."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise ChangedError(f"--changed compares with git, but {cwd} is not in a git repository")
    candidates = (base,) if base else DEFAULT_BASES
    ref = next(
        (
            c
            for c in candidates
            if _git(["rev-parse", "--verify", "--quiet", f"{c}^{{commit}}"], cwd).returncode == 0
        ),
        None,
    )
    shallow = _git(["rev-parse", "--is-shallow-repository"], cwd).stdout.strip() == "true"
    hint = (
        " This clone is shallow: fetch the base branch and enough history to reach the "
        "common commit (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout, "
        "or `GIT_DEPTH: 0` in GitLab CI)."
        if shallow
        else ""
    )
    if ref is None:
        wanted = f"--base {base} is not" if base else "none of " + ", ".join(DEFAULT_BASES) + " is"
        raise ChangedError(
            f"--changed: cannot find the base to compare with ({wanted} a commit here); "
            f"name an existing branch or commit with --base REF.{hint}"
        )
    found = _git(["merge-base", ref, "HEAD"], cwd)
    if found.returncode != 0:
        hint = hint or " Check that --base names the branch this one forked from."
        raise ChangedError(
            f"--changed: {ref} and HEAD have no common commit in this clone, so the changed "
            f"files cannot be told apart.{hint}"
        )
    return found.stdout.strip()


def _real(path: Path) -> str:
    """The path as a key, symlinks resolved: git reports the repository's real path."""
    return os.path.realpath(path)


def changed_files(commit: str, cwd: Path) -> set[str]:
    """Files added or modified since ``commit`` (committed, staged, in the working tree,
    or new and untracked), as absolute paths. A renamed file counts as added."""
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).stdout.strip())
    diff = _git(["diff", "--name-only", "--no-renames", "--diff-filter=AM", "-z", commit], cwd)
    if diff.returncode != 0:
        raise ChangedError(f"--changed: git diff failed: {diff.stderr.strip()}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", "--full-name"], top)
    names = [n for n in (diff.stdout + untracked.stdout).split("\0") if n]
    return {_real(top / n) for n in names}


def is_touched(migration: Migration, files: set[str]) -> bool:
    """Whether ``migration``'s file is among ``files`` (from :func:`changed_files`)."""
    return _real(migration.path) in files


def changed(
    paths: Iterable[Path],
    base: str | None,
    exclude: Sequence[str],
    errors: list[SourceError],
    cwd: Path,
) -> Selection:
    """Migrations for ``migsafe lint --changed``: every migration under PATHS up to the last
    changed one, reporting the changed ones only."""
    touched = changed_files(merge_base(base, cwd), cwd)
    migrations = discover(paths, exclude, errors)
    sequence = _up_to_last(migrations, touched, _real)
    # Files that cannot be read are reported when they are among the changed ones.
    errors[:] = [e for e in errors if _real(Path(e.path)) in touched]
    reported = frozenset(m.display for m in sequence if _real(m.path) in touched)
    return Selection(sequence, reported)


def restrict(result: Result, selection: Selection) -> Result:
    """The result for the reported migrations only. Errors are kept unless they are about a
    migration replayed only for context: an unreadable file has no migration to match."""
    reported = selection.reported
    if reported is None:
        return result
    context = {m.display for m in selection.migrations} - reported
    return replace(
        result,
        statements=[s for s in result.statements if s.migration.display in reported],
        findings=[f for f in result.findings if f.path in reported],
        errors=[e for e in result.errors if e.path not in context],
        files=[f for f in result.files if f in reported],
    )
