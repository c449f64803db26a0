"""Which release each migration ships in.

Expand → contract is a promise about releases: release N-1 keeps running on the schema
release N's migrations produce. So every migration is placed in a release, from one of:

- ``git``: release tags (``tag-pattern``, default ``v*``). A migration belongs to the first
  tag, in version order, whose tree contains its file; one ``git ls-tree`` per tag, not one
  call per file. Migrations no tag contains belong to the upcoming release.
- ``file``: a ``releases.toml`` mapping each version to its last migration
  (``"2.0.0" = "0007_drop_legacy"``); migrations after the last one are upcoming.
- ``annotations``: ``-- migsafe: release=2.1.0`` in each migration; unannotated ones are
  upcoming.

An annotation wins over git and the file for its migration. Versions are ordered as versions
(PEP 440, through ``packaging``: 1.10.0 after 1.9.0, 2.0.0rc1 before 2.0.0), never as text.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe.sources import Migration

if TYPE_CHECKING:
    from packaging.version import Version

    from migsafe.phases import Phase

UPCOMING = "upcoming"


class ReleaseError(Exception):
    """Releases cannot be determined: no repository, no tags, a bad version, a bad file."""


@dataclass(frozen=True)
class Release:
    """One release and the migrations (up and down, in apply order) that ship in it.
    ``version`` is None for the upcoming release: work not in any release yet."""

    version: str | None
    migrations: tuple[Migration, ...]

    @property
    def name(self) -> str:
        return self.version or UPCOMING


def version_key(text: str, what: str) -> Version:
    """``text`` as a comparable version; ``what`` says where it came from, for the error."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"{what}: {text!r} is not a version. Release versions are compared as versions "
            "(PEP 440: 1.9.0, 1.10.0, 2.0.0rc1), so each must read as one."
        ) from None


def migration_id(m: Migration) -> str:
    """The name a releases file uses for a migration: the folder of a diesel or Prisma
    migration, the file name without ``.up.sql`` / ``.down.sql`` / ``.sql`` otherwise."""
    if m.layout in ("diesel", "prisma"):
        return m.path.parent.name
    name = m.path.name
    for suffix in (".up.sql", ".down.sql", ".sql"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return m.path.stem


def assign(
    migrations: Sequence[Migration],
    source: str,
    *,
    tag_pattern: str = "v*",
    releases_file: Path = Path("releases.toml"),
) -> list[Release]:
    """The releases in version order, the upcoming one last (only when it has migrations),
    each with its migrations. ``source`` is ``"git"``, ``"file"`` or ``"annotations"``."""
    # Every known release, keyed by version: a release that shipped no migration is still
    # a release whose application runs on the schema.
    known: dict[Version, str]
    versions: list[str | None]
    if source == "git":
        known, versions = _from_git(migrations, tag_pattern)
    elif source == "file":
        known, versions = _from_file(migrations, releases_file)
    else:
        known, versions = {}, [None] * len(migrations)
    for i, m in enumerate(migrations):
        declared = _declared_release(m)
        if declared is not None:
            key = version_key(declared, f"{m.display}: -- migsafe: release=")
            # Versions equal as versions (2.0 and 2.0.0) are one release.
            versions[i] = known.setdefault(key, declared)
    order = {name: key for key, name in known.items()}
    grouped: dict[str | None, list[Migration]] = {known[k]: [] for k in sorted(known)}
    for m, v in zip(migrations, versions, strict=True):
        grouped.setdefault(known[order[v]] if v else None, []).append(m)
    return [Release(version, tuple(ms)) for version, ms in grouped.items()]


def _declared_release(m: Migration) -> str | None:
    """The migration's release annotation; a malformed annotation stops the command, since
    guessing would put the migration in the wrong release."""
    from migsafe import declarations

    parsed = declarations.parse(m.text)
    if parsed.problems:
        p = parsed.problems[0]
        raise ReleaseError(f"{m.display}:{p.line}:{p.column}: {p.message}")
    return parsed.release


# -- git ---------------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> str:
    from migsafe import gitrepo

    missing = (
        'releases = "git" needs the git command, which is not installed here; install '
        'git, or set releases = "file" with a releases.toml.'
    )
    return gitrepo.output(root, args, ReleaseError, missing)


def _repository(migrations: Sequence[Migration]) -> Path:
    folder = migrations[0].path.resolve().parent
    try:
        return Path(_git(folder, "rev-parse", "--show-toplevel").strip()).resolve()
    except ReleaseError:
        raise ReleaseError(
            f'{folder} is not inside a git repository, so releases = "git" has no tags to '
            "read. Run migsafe on a clone of the repository (in CI, fetch the tags too: "
            'git fetch --tags), or set releases = "file" with a releases.toml.'
        ) from None


def _tag_version(tag: str, pattern: str) -> str:
    """The version a tag names: the tag without the literal prefix of the pattern
    (``v`` of ``v*``, ``release-`` of ``release-*``)."""
    prefix = pattern
    for i, ch in enumerate(pattern):
        if ch in "*?[":
            prefix = pattern[:i]
            break
    return tag[len(prefix) :] if tag.startswith(prefix) and tag != prefix else tag


def _from_git(
    migrations: Sequence[Migration], pattern: str
) -> tuple[dict[Version, str], list[str | None]]:
    if not migrations:
        return {}, []
    root = _repository(migrations)
    paths: list[str] = []
    for m in migrations:
        try:
            paths.append(m.path.resolve().relative_to(root).as_posix())
        except ValueError:
            raise ReleaseError(
                f"{m.display} is outside the git repository at {root}; lint the migrations "
                "of one repository at a time."
            ) from None
    tags = _git(root, "tag", "--list", pattern).split()
    if not tags:
        raise ReleaseError(
            f"no git tag in {root} matches tag-pattern {pattern!r}, so no migration can be "
            "placed in a release. Tag your releases (git tag v1.0.0), fetch the tags in CI "
            "(git fetch --tags), or set tag-pattern to the pattern your tags follow."
        )
    known: dict[Version, str] = {}
    by_version: list[tuple[Version, str]] = []
    for tag in tags:
        name = _tag_version(tag, pattern)
        key = version_key(name, f"git tag {tag!r} (tag-pattern {pattern!r})")
        by_version.append((key, tag))
        known.setdefault(key, name)
    by_version.sort()
    folders = sorted({p.rpartition("/")[0] or "." for p in paths})
    versions: list[str | None] = [None] * len(migrations)
    for key, tag in by_version:
        if all(v is not None for v in versions):
            break
        tree = set(
            _git(
                root, "ls-tree", "-r", "--name-only", f"refs/tags/{tag}", "--", *folders
            ).splitlines()
        )
        for i, path in enumerate(paths):
            if versions[i] is None and path in tree:
                versions[i] = known[key]
    return known, versions


# -- releases.toml ----------------------------------------------------------------------------


def _from_file(
    migrations: Sequence[Migration], path: Path
) -> tuple[dict[Version, str], list[str | None]]:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(
            f'{path}: releases file not found; releases = "file" reads it (each release '
            'version = its last migration, e.g. "2.0.0" = "0007_drop_legacy"), or set '
            "releases-file to where it is."
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReleaseError(f"{path}: cannot read the releases file: {exc}") from None
    last: dict[str, int] = {}
    for i, m in enumerate(migrations):
        last[migration_id(m)] = i
        last[m.path.name] = i
    bounds: list[tuple[Version, str, int]] = []
    for version, ends in data.items():
        if not isinstance(ends, str):
            raise ReleaseError(
                f"{path}: {version!r} must name its release's last migration as a string, "
                f"got {ends!r}"
            )
        if ends not in last:
            raise ReleaseError(
                f"{path}: release {version}'s last migration {ends!r} is not among the "
                "migrations found; use its id (the file name without .sql, or the folder "
                "name for diesel and Prisma)."
            )
        bounds.append((version_key(version, f"{path}: release"), version, last[ends]))
    bounds.sort()
    for (_, earlier, a), (_, later, b) in itertools.pairwise(bounds):
        if b < a:
            raise ReleaseError(
                f"{path}: release {later} ends at an earlier migration than {earlier}; "
                "each release must end at or after the one before it."
            )
    versions: list[str | None] = [None] * len(migrations)
    start = 0
    for _, version, end in bounds:
        for i in range(start, end + 1):
            versions[i] = version
        start = max(start, end + 1)
    known: dict[Version, str] = {}
    for key, version, _ in bounds:
        known.setdefault(key, version)
    return known, versions


# -- phases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """An up migration with its phase, and whether the migration declared it."""

    migration: Migration
    phase: Phase | None
    declared: bool


def entries(
    migrations: Sequence[Migration],
    dialect: str | None = None,
    server_version: str | None = None,
    root: Path | None = None,
) -> dict[int, Entry]:
    """Phases of the up migrations, keyed by index in ``migrations``: declared where the
    migration says, inferred from its ops otherwise, replaying the schema from the first
    migration so a type change is judged against the column's real type. Each file is read
    in its dialect (``dialect``, ``server_version`` and ``root`` as in
    :func:`migsafe.dialects.of`). A migration that does not parse, or whose parser is not
    installed, has no inferred phase (``migsafe lint`` reports why)."""
    from migsafe import dialects
    from migsafe.parse.postgres import SqlSyntaxError
    from migsafe.phases import combined, statement_phases
    from migsafe.schema import Schema

    schema = Schema()
    result: dict[int, Entry] = {}
    for i, m in enumerate(migrations):
        if m.direction != "up":
            continue
        try:
            dialect_of = dialects.of(m, dialect, server_version, root)
            statements = dialects.statements(m, dialect_of, schema)
        except (SqlSyntaxError, ModuleNotFoundError):
            statements = []
        inferred = combined(p for st in statement_phases(statements, schema) for p in st)
        for st in statements:
            for op in st.ops:
                schema.apply(op)
        declared = m.declared_phase
        result[i] = Entry(m, declared or inferred, declared is not None)
    return result
