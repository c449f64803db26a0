"""Alembic projects: their revision scripts, in the order Alembic applies them.

A project is found by its ``alembic.ini`` (``script_location``, with ``%(here)s`` and the
``package:path`` form, and ``version_locations``), or is a bare versions folder whose
``.py`` files assign ``revision`` and ``down_revision`` at module level. The order comes
from those names (and ``depends_on``), read with ``ast``: nothing of the project is
imported and its ``env.py`` never runs.

Each revision becomes two migrations, its ``upgrade()`` then its ``downgrade()`` (linted
against the schema its upgrade left), with the statements
:mod:`migsafe.parse.alembic` read and, for calls it could not read,
:mod:`migsafe.alembic_render` rendered. Calls neither could handle come back as
:class:`Note` with the reason. Alembic runs a PostgreSQL migration inside a transaction
(transactional DDL), so the migrations are ``in_transaction``.

Revision files named one by one (a pre-commit hook passes the changed files) are linted
with the earlier history of their folder as the schema they change; only they are reported.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe.findings import InputError
from migsafe.ops import Statement
from migsafe.sources import Migration, SourceError
from migsafe.sources.sqlfiles import _display, _read, natural_key

if TYPE_CHECKING:
    from migsafe.analysis import Result
    from migsafe.parse import alembic as reader


@dataclass(frozen=True)
class Note:
    """An ``op.*`` call migsafe could not analyse, and why."""

    path: str
    line: int
    column: int
    call: str
    reason: str
    down: bool = False

    @property
    def message(self) -> str:
        down = " in downgrade()" if self.down else ""
        return f"{self.call}(){down} not analysed: {self.reason}"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass
class Found:
    """What discovery read: migrations in order, calls left unanalysed, input errors, and
    the files to report on (None: all of them)."""

    migrations: list[Migration] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    only: set[str] | None = None
    # How each revision was read: "static", "rendered" (some calls by execution) or
    # "reported" (some calls left unanalysed), by file.
    modes: dict[str, str] = field(default_factory=dict)
    # Files named on the command line that are not revision scripts (a helper module in
    # versions/, say): left out, with a note saying so.
    skipped: list[str] = field(default_factory=list)
    # Revision files named on the command line that the config's ``exclude`` leaves out.
    excluded: list[str] = field(default_factory=list)


@dataclass
class _Revision:
    path: Path
    display: str
    text: str
    script: reader.Script
    tree: ast.Module


# -- finding the project ------------------------------------------------------------------------


def script_locations(ini: Path) -> list[Path]:
    """The folders holding revision scripts, from an ``alembic.ini``."""
    import configparser  # only a run that reads an alembic.ini needs it

    parser = configparser.ConfigParser(defaults={"here": str(ini.resolve().parent)})
    try:
        with ini.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise SourceError(str(ini), "no such file") from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise SourceError(str(ini), f"cannot read it as an Alembic config: {exc}") from None
    if not parser.has_section("alembic"):
        raise SourceError(str(ini), "has no [alembic] section")
    try:
        location = parser.get("alembic", "script_location", fallback=None)
        versions = parser.get("alembic", "version_locations", fallback=None)
        separator = parser.get("alembic", "version_path_separator", fallback=None)
    except configparser.Error as exc:
        raise SourceError(str(ini), f"cannot read [alembic]: {exc}") from None
    if not location:
        raise SourceError(str(ini), "[alembic] has no script_location")
    base = _resolve(location, ini.resolve().parent)
    if versions:
        splitter = {"space": " ", "newline": "\n", "colon": ":", "semicolon": ";"}.get(
            separator or "", os.pathsep if separator == "os" else None
        )
        parts = versions.split(splitter) if splitter else versions.replace(",", " ").split()
        return [_resolve(p.strip(), ini.resolve().parent) for p in parts if p.strip()]
    return [base / "versions"]


def _resolve(location: str, here: Path) -> Path:
    """A location as Alembic reads it: ``package:path`` is inside an importable package
    (found without importing it), anything else is relative to the config's folder."""
    if ":" in location and not Path(location).is_absolute() and location[1:2] != ":":
        package, _, sub = location.partition(":")
        from importlib.util import find_spec

        top, _, rest = package.partition(".")
        try:
            spec = find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)))
        else:
            root = here / top
        return root.joinpath(*rest.split(".") if rest else (), sub)
    path = Path(location)
    return path if path.is_absolute() else here / path


def is_revision(text: str) -> bool:
    """A Python file Alembic would take as a revision: it assigns ``revision`` and
    ``down_revision`` at module level. A cheap text check first, ``ast`` to be sure."""
    if "revision" not in text or "down_revision" not in text:
        return False
    try:
        from migsafe.parse import alembic as reader

        tree = reader.parse_tree(text)
    except reader.ScriptSyntaxError:
        # Still a revision (reported with its syntax error) when the names start lines.
        lines = "\n" + text
        return "\nrevision" in lines and "\ndown_revision" in lines
    return {"revision", "down_revision"} <= reader.assigned_names(tree)


def looks_like_versions(folder: Path) -> bool:
    """A folder holding at least one revision script (and no SQL migrations)."""
    for p in sorted(folder.glob("*.py")):
        try:
            if is_revision(p.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def project_ini(path: Path) -> Path | None:
    """The ``alembic.ini`` a path names or holds."""
    if path.is_file() and path.suffix == ".ini":
        return path
    if path.is_dir() and (path / "alembic.ini").is_file():
        return path / "alembic.ini"
    return None


def _script_directory(path: Path) -> bool:
    """Alembic's script directory (``env.py`` beside ``versions/``), named without its ini."""
    return (path / "env.py").is_file() and (path / "versions").is_dir()


def split(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Command-line paths as (Alembic, SQL): an ``alembic.ini`` or a folder holding one,
    Alembic's script directory, a folder of revision scripts, or a ``.py`` file are
    Alembic; the rest is SQL."""
    alembic: list[Path] = []
    sql: list[Path] = []
    for path in paths:
        if (
            project_ini(path) is not None
            or path.suffix == ".py"
            or (path.is_dir() and _script_directory(path))
            or (path.is_dir() and not any(path.rglob("*.sql")) and looks_like_versions(path))
        ):
            alembic.append(path)
        else:
            sql.append(path)
    return alembic, sql


def finish(
    found: Found,
    result: Result,
    *,
    strict: bool | None,
    dialect: str | None = None,
) -> list[str]:
    """Fold discovery into a lint result: its input errors, its unanalysed calls (input
    errors under ``strict``, otherwise notes returned for the caller to show; None: the
    caller has no ``--strict`` to offer), and, for revision files named one by one, only
    those files' findings. ``dialect``: the one asked for; revisions are read as
    PostgreSQL whatever it is, and SQL that does not parse says so."""
    result.errors[:0] = found.errors
    notes = [
        f"{path}: not an Alembic revision (no module-level revision and down_revision); not linted"
        for path in found.skipped
    ] + [f"{path}: excluded by the config (exclude); not linted" for path in found.excluded]
    from migsafe.parse.alembic_sql import NOT_POSTGRESQL

    for n in found.notes:
        if dialect in ("mysql", "mariadb") and NOT_POSTGRESQL in n.reason:
            n = replace(
                n,
                reason=f"{n.reason} (migsafe reads Alembic revisions as PostgreSQL only; "
                f"--dialect {dialect} applies to SQL files)",
            )
        if strict:
            result.errors.append(InputError(n.path, n.line, n.column, n.message))
        else:
            notes.append(f"{n} (--strict makes this an error)" if strict is False else str(n))
    if found.only is not None:
        keep = found.only
        # Only revisions are narrowed: SQL files linted in the same run keep theirs.
        drop = {m.display for m in found.migrations} - keep
        result.findings[:] = [f for f in result.findings if f.path not in drop]
        result.errors[:] = [e for e in result.errors if e.path not in drop]
        result.files[:] = [f for f in result.files if f not in drop]
        result.statements[:] = [s for s in result.statements if s.migration.display not in drop]
        notes = [n for n in notes if n.split(":", 1)[0] in keep]
    return notes


# -- reading ------------------------------------------------------------------------------------


def discover(
    ini: Path | None = None,
    paths: Sequence[Path] = (),
    exclude: Iterable[str] = (),
    *,
    render: bool = True,
    online: Online | None = None,
) -> Found:
    """Revisions of the project ``ini``, of versions folders, or of single revision files
    (with their folder's history as context), in dependency order. ``render``: try the
    calls the static reader cannot read in Alembic's offline mode; ``online``: render the
    upgrades and downgrades that need a live connection in a scratch database (see
    :class:`Online`)."""
    found = Found()
    folders: list[Path] = []
    named: list[Path] = []
    if ini is not None:
        folders.extend(script_locations(ini))
    for path in paths:
        if path.is_dir() and project_ini(path) is None and _script_directory(path):
            folders.append(path / "versions")
        elif path.is_dir() and project_ini(path) is None:
            folders.append(path)
        elif (ini_path := project_ini(path)) is not None:
            folders.extend(script_locations(ini_path))
        else:
            named.append(path)
    for f in named:
        if not f.exists():
            raise SourceError(str(f), "no such file or directory")
        folders.append(f.parent)
    if named and not any(p.is_dir() or project_ini(p) for p in paths):
        # Files named alone (with --alembic saying where their project is): only they are
        # reported.
        found.only = {_display(f) for f in named}
    revisions: list[_Revision] = []
    for folder in _distinct(folders):
        if not folder.is_dir():
            raise SourceError(_display(folder), "no such folder (from the Alembic config)")
        revisions.extend(_read_folder(folder, tuple(exclude), found))
    ordered = order(revisions, found)
    read = {rev.display for rev in revisions}
    from migsafe.sources.sqlfiles import _excluded

    unread = sorted(
        d for d in found.only or () if d not in read and not any(e.path == d for e in found.errors)
    )
    found.excluded = [d for d in unread if _excluded(Path(d), tuple(exclude))]
    found.skipped = [d for d in unread if d not in found.excluded]
    if found.only is not None:
        # Revisions after the last one named cannot change what it is linted against.
        named_at = [i for i, rev in enumerate(ordered) if rev.display in found.only]
        ordered = ordered[: max(named_at) + 1] if named_at else ordered
    from migsafe.parse import alembic as reader

    for rev in ordered:
        reader.read_bodies(rev.script, rev.text, rev.tree)
    bodies = [_rendered(rev, render) for rev in ordered]
    if online is not None:
        from migsafe import alembic_online, alembic_render

        if any(alembic_render.needs_connection(b) for pair in bodies for b in pair if b):
            alembic_online.render_online(
                [(rev.path, rev.text, *pair) for rev, pair in zip(ordered, bodies, strict=True)],
                online.database_url,
                online.announce,
            )
    for index, (rev, (up, down)) in enumerate(zip(ordered, bodies, strict=True)):
        _migrations(rev, index, found, up, down)
    return found


def _distinct(folders: list[Path]) -> list[Path]:
    """Each folder once, however it was reached: a named file's relative folder and the
    absolute one an ``alembic.ini`` gives hold the same revisions."""
    seen: set[Path] = set()
    out = []
    for folder in folders:
        resolved = folder.resolve()
        if resolved not in seen:
            seen.add(resolved)
            out.append(folder)
    return out


@dataclass(frozen=True)
class Online:
    """Render revisions that need a live connection in a scratch database: made on the
    server ``database_url`` names, or (None) on a throwaway server from the providers of
    ``migsafe trace``. Never the project's own database (``sqlalchemy.url`` is not read)."""

    database_url: str | None = None
    announce: Callable[[str], None] = print


def _rendered(rev: _Revision, render: bool) -> tuple[reader.Body | None, reader.Body | None]:
    """The revision's two bodies, with what offline rendering could add."""
    out: list[reader.Body | None] = []
    for body in (rev.script.upgrade, rev.script.downgrade):
        if body is not None and body.renderable and render:
            from migsafe import alembic_render

            body = alembic_render.render(rev.path, rev.text, body)
        out.append(body)
    return out[0], out[1]


def _read_folder(folder: Path, exclude: tuple[str, ...], found: Found) -> list[_Revision]:
    from migsafe.parse import alembic as reader
    from migsafe.sources.sqlfiles import _excluded

    result = []
    for p in sorted(folder.glob("*.py"), key=lambda p: natural_key(p.name)):
        if p.name.startswith(".") or p.name == "__init__.py" or _excluded(p, exclude):
            continue
        display = _display(p)
        try:
            text = _read(p)
        except SourceError as exc:
            found.errors.append(exc.as_input_error())
            continue
        if not is_revision(text):
            continue
        try:
            tree = reader.parse_tree(text, display)
        except reader.ScriptSyntaxError as exc:
            found.errors.append(InputError(display, exc.line, exc.column, exc.message))
            continue
        script = reader.header(tree)
        for line, column, message in script.problems:
            found.errors.append(InputError(display, line, column, message))
        result.append(_Revision(p, display, text, script, tree))
    return result


def order(revisions: list[_Revision], found: Found) -> list[_Revision]:
    """Dependency order: every revision after its ``down_revision`` and ``depends_on``
    (which may name a revision, or a branch label); among revisions free to go, the one
    whose file sorts first. A cycle or a missing parent is an input error."""
    by_id: dict[str, _Revision] = {}
    for rev in revisions:
        rid = rev.script.revision
        if rid is None:
            continue
        if rid in by_id:
            found.errors.append(
                InputError(
                    rev.display,
                    None,
                    None,
                    f"revision {rid!r} is also declared by {by_id[rid].display}",
                )
            )
            continue
        by_id[rid] = rev
    labels = {label: rev for rev in by_id.values() for label in rev.script.branch_labels}
    parents: dict[str, set[str]] = {}
    for rid, rev in by_id.items():
        needs = set()
        for parent in (*rev.script.down_revision, *rev.script.depends_on):
            target = by_id.get(parent) or labels.get(parent) or _prefix(parent, by_id)
            if target is None:
                found.errors.append(
                    InputError(
                        rev.display,
                        None,
                        None,
                        f"revision {rid!r} needs {parent!r}, which no revision script here "
                        "declares",
                    )
                )
                continue
            if target.script.revision != rid:
                needs.add(str(target.script.revision))
        parents[rid] = needs
    done: list[_Revision] = []
    placed: set[str] = set()
    remaining = sorted(by_id, key=lambda r: natural_key(by_id[r].path.name))
    while remaining:
        ready = [r for r in remaining if parents[r] <= placed]
        if not ready:
            names = ", ".join(remaining)
            found.errors.append(
                InputError(
                    by_id[remaining[0]].display,
                    None,
                    None,
                    f"revisions depend on each other in a cycle: {names}",
                )
            )
            break
        # Depth first along a branch keeps each revision next to its parent.
        pick = ready[0]
        if done:
            last = str(done[-1].script.revision)
            pick = next((r for r in ready if last in parents[r]), pick)
        done.append(by_id[pick])
        placed.add(pick)
        remaining.remove(pick)
    return done


def _prefix(partial: str, by_id: dict[str, _Revision]) -> _Revision | None:
    """Alembic accepts a unique prefix of a revision id."""
    matches = [rev for rid, rev in by_id.items() if rid.startswith(partial)]
    return matches[0] if len(matches) == 1 else None


def _migrations(
    rev: _Revision,
    index: int,
    found: Found,
    up: reader.Body | None,
    down_body: reader.Body | None,
) -> None:
    script = rev.script
    known = _rule_ids()
    from migsafe.parse import alembic as reader

    for line, column, rule_id in reader.ignore_mentions(rev.text) + [
        (0, 0, i) for i in sorted(script.ignore)
    ]:
        if rule_id not in known:
            found.errors.append(
                InputError(
                    rev.display,
                    line or None,
                    column or None,
                    f"unknown rule id {rule_id!r} in migsafe:ignore; `migsafe rules` lists them",
                )
            )
    mode = "static"
    for position, body in enumerate((up, down_body)):
        if body is None:
            continue
        down = position == 1
        if body.rendered and mode == "static":
            mode = "rendered"
        for u in body.unresolved:
            mode = "reported"
            found.notes.append(
                Note(rev.display, u.span.line, u.span.column, u.call, u.reason, down)
            )
        statements = tuple(
            st if not script.ignore else _with_ignores(st, script.ignore)
            for st in body.statements()
        )
        found.migrations.append(
            Migration(
                path=rev.path,
                display=rev.display,
                text=rev.text,
                direction="down" if down else "up",
                layout="alembic",
                in_transaction=True,
                key=(index, position),
                prepared=statements,
            )
        )
    found.modes[rev.display] = mode


def _with_ignores(st: Statement, ids: frozenset[str]) -> Statement:
    return replace(st, ignores=st.ignores | ids)


def _rule_ids() -> frozenset[str]:
    from migsafe.rules import all_rules

    return frozenset(all_rules())
