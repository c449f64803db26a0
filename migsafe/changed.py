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
from migsafe.sources.sqlfiles import FOLDER_FILES, discover, is_excluded

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
    paths: Iterable[Path],
    exclude: Sequence[str],
    errors: list[SourceError],
    note: Callable[[str], None],
) -> Selection:
    """Migrations for ``migsafe lint PATHS``. A folder is linted whole, as before; a file
    that belongs to an ordered migrations folder is linted after the earlier migrations of
    that folder, which are replayed for their schema but not reported. Files of one folder
    are linted in the folder's order; other files keep the order they were given in.
    A named file the config excludes is skipped with a ``note`` (pre-commit passes every
    staged file, excluded or not); the others keep their context."""
    kept: list[Path] = []
    for path in paths:
        if path.is_file() and is_excluded(path, exclude):
            note(f"{path}: not linted, the config's exclude leaves it out")
        else:
            kept.append(path)
    folders = {p: migrations_folder(p) for p in kept if p.is_file()}
    if not any(folders.values()):
        return Selection(discover(kept, exclude, errors))
    out: list[Migration] = []
    reported: set[str] = set()
    done: set[Path] = set()
    problems: list[SourceError] = []

    def alone(path: Path) -> None:
        found = discover([path], exclude, problems)
        out.extend(found)
        reported.update(m.display for m in found)

    for path in kept:
        folder = folders.get(path)
        if folder is None:
            alone(path)
            continue
        if folder in done:
            continue
        done.add(folder)
        given = {_where(p) for p, f in folders.items() if f == folder}
        walked: list[SourceError] = []
        sequence = _up_to_last(discover([folder], exclude, walked), given, _where)
        # A sibling that cannot be read is not linted here, as --changed does not lint it.
        problems += [e for e in walked if _where(Path(e.path)) in given]
        out.extend(sequence)
        reported.update(m.display for m in sequence if _where(m.path) in given)
        seen = {_where(m.path) for m in sequence} | {_where(Path(e.path)) for e in walked}
        # Not in the folder's walk (a hidden name, say): linted as given, alone.
        for p in kept:
            if folders.get(p) == folder and _where(p) not in seen:
                alone(p)
    errors += problems
    return Selection(out, frozenset(reported))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    from migsafe import gitrepo

    return gitrepo.run(
        cwd, args, ChangedError, "--changed needs git, and git is not installed here"
    )


def merge_base(base: str | None, cwd: Path) -> tuple[str, str]:
    """The ref compared with and the commit to compare with: the merge base of HEAD and
    ``base``, else of HEAD and the first of origin/HEAD, main, master that exists."""
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
    return ref, found.stdout.strip()


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


def touched(base: str | None, cwd: Path, note: Callable[[str], None]) -> set[str]:
    """The files ``--changed`` reports: :func:`changed_files` since :func:`merge_base`.
    When that base is HEAD itself (a clone of this branch alone, whose origin/HEAD is this
    branch; or --base naming a commit HEAD contains) only uncommitted files count, which
    is a real answer but rarely the one meant, so ``note`` says so."""
    ref, commit = merge_base(base, cwd)
    if commit == _git(["rev-parse", "HEAD"], cwd).stdout.strip():
        note(
            f"--changed compared with {ref}, whose merge base with HEAD is HEAD itself, so "
            "only uncommitted files count as changed; name the branch this one forked from "
            "with --base REF"
        )
    return changed_files(commit, cwd)


def is_touched(migration: Migration, files: set[str]) -> bool:
    """Whether ``migration``'s file is among ``files`` (from :func:`changed_files`)."""
    return _real(migration.path) in files


def changed(
    paths: Iterable[Path],
    files: set[str],
    exclude: Sequence[str],
    errors: list[SourceError],
    note: Callable[[str], None],
) -> Selection:
    """Migrations for ``migsafe lint --changed``: those of :func:`with_context` up to the
    last changed one, reporting the changed ones (``files``, from :func:`touched`) among
    those it reports."""
    paths = list(paths)
    found: list[SourceError] = []
    selection = with_context(paths, exclude, found, note)
    named = selection.reported
    wanted = [
        i
        for i, m in enumerate(selection.migrations)
        if _real(m.path) in files and (named is None or m.display in named)
    ]
    sequence = selection.migrations[: max(wanted, default=-1) + 1]
    # A file that cannot be read is reported when it is a changed one; a named path that
    # does not exist, or a folder with nothing to lint, always: the command line is wrong.
    kept = files | {_real(p) for p in paths if not p.is_file()}
    errors += [e for e in found if _real(Path(e.path)) in kept]
    reported = frozenset(selection.migrations[i].display for i in wanted)
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
