"""Plain SQL migration folders, in the order their tool applies them.

Layouts, recognised per file, and how their tool runs a migration:

============  =========================================  ==================================
layout        names                                      transaction
============  =========================================  ==================================
flyway        ``V1_2__name.sql``, ``U1_2__name.sql``     wrapped (``executeInTransaction``
              (undo), ``R__name.sql`` (repeatable,       in ``<file>.conf`` opts out)
              applied last, by name)
golang        ``0001_name.up.sql`` / ``.down.sql``       the file is sent as one query
dbmate        one file with ``-- migrate:up`` /          wrapped (``transaction:false``
              ``-- migrate:down`` sections               on the marker opts out)
diesel        ``<stamp>_name/up.sql`` / ``down.sql``     wrapped (``run_in_transaction =
                                                         false`` in metadata.toml opts out)
prisma        ``<stamp>_name/migration.sql``             the file is sent as one query
plain         any other ``*.sql``, natural sort          none
============  =========================================  ==================================

PostgreSQL runs a query string holding several statements as one implicit transaction, so
for the "one query" layouts a multi-statement file is atomic and CONCURRENTLY fails in it.

A down migration sorts right after its up, so it is linted against the schema its up left.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePath

from migsafe.sources import Direction, Migration, SourceError

_FLYWAY = re.compile(r"^(?P<prefix>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<desc>.+)\.sql$", re.I)
_FLYWAY_REPEATABLE = re.compile(r"^R__(?P<desc>.+)\.sql$", re.I)
_UPDOWN = re.compile(r"^(?P<stem>.+)\.(?P<dir>up|down)\.sql$", re.I)
_DBMATE_MARK = re.compile(r"^--\s*migrate:(up|down)\b(.*)$", re.M)
_DIGITS = re.compile(r"(\d+)")

FOLDER_FILES = {"up.sql": "up", "down.sql": "down", "migration.sql": "up"}


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key where digit runs compare as numbers: ``v1.10`` after ``v1.9``.

    ``re.split`` with a capturing group puts the digit runs at odd indexes, so keys always
    alternate text and number and two keys never compare a number with a string. (Testing
    each part with ``str.isdigit`` would call ``int`` on text such as ``²``.)
    """
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(_DIGITS.split(text)))


def _read(path: Path) -> str:
    """The file's text. A UTF-8 byte order mark (left by some Windows editors) is dropped:
    PostgreSQL's parser would read it as part of the first word, and editors do not count
    it as a column. Line endings are kept as they are, so fixes can use the file's own."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SourceError(str(path), "no such file or directory") from None
    except IsADirectoryError:
        raise SourceError(str(path), "is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        before = exc.object[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SourceError(
            str(path),
            f"not UTF-8 text: byte 0x{bad:02x} at offset {exc.start} "
            f"(line {line}, column {column}); save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise SourceError(str(path), exc.strerror or str(exc)) from None


def _blank(text: str, keep: Iterable[tuple[int, int]]) -> str:
    """Blank everything outside the kept ranges, preserving newlines (and so positions)."""
    out = [ch if ch == "\n" else " " for ch in text]
    for start, end in keep:
        out[start:end] = text[start:end]
    return "".join(out)


def _dbmate(path: Path, display: str, text: str, key: tuple[object, ...]) -> list[Migration]:
    marks = list(_DBMATE_MARK.finditer(text))
    result: list[Migration] = []
    for i, m in enumerate(marks):
        start = m.end()
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        direction: Direction = "up" if m.group(1) == "up" else "down"
        options = m.group(2)
        result.append(
            Migration(
                path=path,
                display=display,
                text=_blank(text, [(start, end)]),
                direction=direction,
                layout="dbmate",
                in_transaction="transaction:false" not in options.replace(" ", ""),
                key=(*key, 0 if direction == "up" else 1),
            )
        )
    return result


def _diesel_in_transaction(folder: Path) -> bool:
    meta = folder / "metadata.toml"
    if not meta.is_file():
        return True
    import tomllib

    try:
        data = tomllib.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return bool(data.get("run_in_transaction", True))


def _flyway_in_transaction(path: Path) -> bool:
    conf = path.with_name(path.name + ".conf")
    if not conf.is_file():
        return True
    try:
        lines = conf.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise SourceError(str(conf), exc.strerror or str(exc)) from None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "executeInTransaction":
            return value.strip().lower() != "false"
    return True


def classify(path: Path, display: str, base_key: tuple[object, ...] = ()) -> list[Migration]:
    """The migrations one SQL file holds: two for a dbmate file, one otherwise."""
    return split(path, display, _read(path), base_key)


def split(
    path: Path, display: str, text: str, base_key: tuple[object, ...] = ()
) -> list[Migration]:
    """The migrations in ``text``, the contents of the file at ``path`` (``migsafe lint
    --fix`` re-reads its edited text this way before writing it)."""
    if _DBMATE_MARK.search(text):
        key = (*base_key, 1, natural_key(str(path.parent)), natural_key(path.name))
        return _dbmate(path, display, text, key)
    layout, direction, key, in_transaction = _layout(path)
    return [
        Migration(
            path=path,
            display=display,
            text=text,
            direction=direction,
            layout=layout,
            in_transaction=in_transaction,
            single_query=layout in ("golang", "prisma"),
            key=(*base_key, *key),
        )
    ]


def _layout(path: Path) -> tuple[str, Direction, tuple[object, ...], bool]:
    """Layout, direction, sort key and whether the tool wraps the file in a transaction,
    from the file's name and folder."""
    name = path.name
    parent_key = natural_key(str(path.parent))
    key: tuple[object, ...]
    if (m := _FLYWAY.match(name)) is not None:
        version = tuple(int(p) for p in re.split(r"[._]", m.group("version")))
        direction: Direction = "up" if m.group("prefix").upper() == "V" else "down"
        # Flyway scans a location recursively and orders by version alone, so the folder
        # only breaks ties.
        key = (0, version, 0 if direction == "up" else 1, parent_key)
        return "flyway", direction, key, _flyway_in_transaction(path)
    if (m := _FLYWAY_REPEATABLE.match(name)) is not None:
        key = (2, natural_key(m.group("desc")), 0, parent_key)
        return "flyway", "up", key, _flyway_in_transaction(path)
    if name.lower() in FOLDER_FILES and path.parent.name:
        folder = path.parent
        direction = "up" if FOLDER_FILES[name.lower()] == "up" else "down"
        key = (
            1,
            natural_key(str(folder.parent)),
            natural_key(folder.name),
            0 if direction == "up" else 1,
        )
        if name.lower() == "migration.sql":
            return "prisma", direction, key, False
        return "diesel", direction, key, _diesel_in_transaction(folder)
    if (m := _UPDOWN.match(name)) is not None:
        direction = "up" if m.group("dir").lower() == "up" else "down"
        key = (1, parent_key, natural_key(m.group("stem")), 0 if direction == "up" else 1)
        return "golang", direction, key, False
    return "plain", "up", (1, parent_key, natural_key(name), 0), False


def _display(path: Path) -> str:
    """Relative to the current directory when below it, as given otherwise."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    outside = rel == os.pardir or rel.startswith(os.pardir + os.sep)
    return str(path) if outside else rel


class Glob(str):
    """An ``exclude`` pattern that knows the folder it is relative to: the config file's,
    so that the config means the same files from whatever folder migsafe runs in. A plain
    ``str`` pattern is relative to the current directory."""

    root: Path

    def __new__(cls, pattern: str, root: Path) -> Glob:
        glob = super().__new__(cls, pattern)
        glob.root = root.resolve()
        return glob

    def __getnewargs__(self) -> tuple[str, Path]:  # type: ignore[override]
        # Copies and pickles of a Config rebuild the pattern with its folder.
        return str(self), self.root


def _root(pattern: str) -> Path:
    return pattern.root if isinstance(pattern, Glob) else Path.cwd().resolve()


def _below(path: Path, root: Path) -> PurePath:
    """``path`` relative to ``root`` when below it; absolute otherwise (a relative pattern
    still matches its end)."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    """Whether an ``exclude`` pattern matches ``path``, read relative to the pattern's folder
    (see :class:`Glob`), both with symlinks resolved. Patterns match the end of the path,
    as :meth:`PurePath.match` does: ``legacy/*`` matches ``migrations/legacy/001.sql``."""
    if not patterns:
        return False
    real = path.resolve()
    relative: dict[Path, PurePath] = {}
    for pattern in patterns:
        root = _root(pattern)
        if root not in relative:
            relative[root] = _below(real, root)
        if relative[root].match(pattern):
            return True
    return False


def is_excluded(path: Path, patterns: Iterable[str]) -> bool:
    """Whether a file named on the command line is one ``exclude`` leaves out: it matches
    a pattern, or one of its folders does (as :func:`walk` would skip that folder)."""
    real = path.resolve()
    for pattern in patterns:
        rel = _below(real, _root(pattern))
        # Folders above the pattern's own are not the config's to exclude.
        folders = rel.parents[:-1] if not rel.is_absolute() else ()
        if any(p.match(pattern) for p in (rel, *folders)):
            return True
    return False


def walk(directory: Path, excluded: Iterable[str] = ()) -> Iterator[Path]:
    """``.sql`` files below ``directory``, minus those matching an ``exclude`` glob or lying
    in a folder that matches one (``migrations/legacy`` and ``migrations/legacy/*`` both
    leave out the whole folder). Hidden files and folders (``.git``, macOS ``._*`` resource
    forks, editor lock files) are skipped."""
    patterns = tuple(excluded)
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not _excluded(Path(root) / d, patterns)
        )
        for f in sorted(files):
            if f.lower().endswith(".sql") and not f.startswith("."):
                p = Path(root) / f
                if not _excluded(p, patterns):
                    yield p


def discover(
    paths: Iterable[Path], exclude: Iterable[str] = (), errors: list[SourceError] | None = None
) -> list[Migration]:
    """Migrations from the given files and folders. Folders are ordered as their tool
    applies them; files named on the command line keep the order they were given in.

    A path that cannot be read raises :class:`SourceError`, or, when ``errors`` is given,
    is recorded there while the other paths are still read.
    """
    result: list[Migration] = []
    excluded = tuple(exclude)
    for index, path in enumerate(paths):
        try:
            result.extend(_from_path(path, index, excluded, errors))
        except SourceError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return result


def _from_path(
    path: Path, index: int, excluded: tuple[str, ...], errors: list[SourceError] | None
) -> list[Migration]:
    if not path.is_dir():
        if path.exists() or not path.suffix or path.suffix.lower() == ".sql":
            return classify(path, _display(path), (index,))
        raise SourceError(str(path), "no such file or directory")
    found: list[Migration] = []
    files = list(walk(path, excluded))
    if not files:
        raise SourceError(
            _display(path), "no .sql files here (the folder is empty, or all of it is excluded)"
        )
    for f in files:
        try:
            found.extend(classify(f, _display(f)))
        except SourceError as exc:
            if errors is None:
                raise
            errors.append(exc)
    found.sort(key=lambda m: m.key)
    return found
