"""A content-hash cache of lint results under ``.migsafe_cache/``, so that a pre-commit hook
or an editor re-linting an unchanged tree only re-reads the files.

A migration's findings depend on every migration before it (the schema they leave), so the
unit cached is one whole lint run: the key hashes, in order, each migration's text and how
its tool runs it (for an Alembic revision, also the statements it was read or rendered
into), together with migsafe's version (and its source files' sizes and times, so a
development checkout never reads results of older code), the rule settings and the
target PostgreSQL version. Any change to any of them is a miss and a full lint.

The entry is a pickle of the run's statements, findings and errors, with each migration
replaced by its position, so the live migrations are attached again on load. It is only
read from the project's own, git-ignored folder, written by migsafe itself. A run with
releases configured is not cached: its result also depends on git tags and contract files.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from migsafe import __version__, dialects
from migsafe.analysis import Result, Settings, StatementReport
from migsafe.findings import Edit, Finding, Fix, InputError
from migsafe.sources import Migration

FOLDER = ".migsafe_cache"
KEEP = 64  # entries kept; the least recently used beyond that are removed
_FORMAT = 2


def _code_stamp() -> str:
    """migsafe's version and the size and time of each of its source files."""
    package = Path(__file__).resolve().parent
    stamps = [__version__]
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamps.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(stamps)


def settings_key(settings: Settings) -> str:
    """The settings that change findings, written the same way on every run (sets sorted:
    their iteration order changes from one process to the next)."""
    select = sorted(settings.select) if settings.select is not None else None
    severity = sorted((k, v.value if v else "off") for k, v in settings.severity.items())
    return repr(
        (
            settings.pg_version,
            select,
            sorted(settings.ignore),
            severity,
            settings.assume_in_transaction,
            settings.strict,
            settings.dialect,
            settings.server_version,
        )
    )


def key(migrations: Sequence[Migration], settings: Settings) -> str:
    digest = hashlib.sha256(f"{_FORMAT}\0{_code_stamp()}\0{settings_key(settings)}".encode())
    root = settings.root if settings.root is not None else dialects.project_root()
    for m in migrations:
        digest.update(
            f"\0{m.display}\0{m.direction}\0{m.layout}\0{m.in_transaction}\0{m.single_query}\0".encode()
        )
        # The dialect as the lint reads it: moving the project folder can change it.
        dialect = dialects.of(m, settings.dialect, settings.server_version, root)
        digest.update(f"{dialect}\0".encode())
        digest.update(hashlib.sha256(m.text.encode("utf-8", "surrogatepass")).digest())
        if m.prepared is not None:
            digest.update(b"\0prepared\0")
            digest.update(hashlib.sha256(_prepared(m).encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def _prepared(m: Migration) -> str:
    """The statements an Alembic revision was read or rendered into, written the same way
    on every run: they also depend on what its text does not hold (helper modules it
    imports, whether its application is importable, ``--render-online``)."""
    return repr([(st.sql, st.span, st.ops, sorted(st.ignores)) for st in m.prepared or ()])


def _pack(result: Result, migrations: Sequence[Migration]) -> dict[str, Any]:
    position = {id(m): i for i, m in enumerate(migrations)}
    return {
        "statements": [
            (position[id(s.migration)], s.statement, s.effect, s.online, s.cheapest)
            for s in result.statements
        ],
        "findings": result.findings,
        "errors": result.errors,
        "files": result.files,
    }


def _unpack(data: dict[str, Any], migrations: Sequence[Migration]) -> Result:
    return Result(
        statements=[
            StatementReport(migrations[i], st, eff, online, cheapest)
            for i, st, eff, online, cheapest in data["statements"]
        ],
        findings=list(data["findings"]),
        errors=list(data["errors"]),
        files=list(data["files"]),
    )


def _by_fields(obj: Any) -> tuple[type, tuple[Any, ...]]:
    """Rebuild a slotted frozen dataclass by calling it with its fields: several times
    faster to load than the default, which looks the fields up again for every object."""
    return type(obj), tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))


_REDUCERS: dict[type, Callable[[Any], tuple[type, tuple[Any, ...]]]] = {
    **copyreg.dispatch_table,  # type: ignore[dict-item]
    Finding: _by_fields,
    Fix: _by_fields,
    Edit: _by_fields,
    InputError: _by_fields,
}


class Cache:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.folder = root / FOLDER / f"v{_FORMAT}"
        self.settings = settings

    def wrap(
        self, analyse: Callable[[list[Migration]], Result]
    ) -> Callable[[list[Migration]], Result]:
        """``analyse``, answering from the cache when the same migrations were linted with
        the same settings and migsafe before."""

        def cached(migrations: list[Migration]) -> Result:
            entry = self.folder / key(migrations, self.settings)
            try:
                with entry.open("rb") as fh:
                    data = pickle.load(fh)
                os.utime(entry)
                return _unpack(data, migrations)
            except Exception:
                # No entry, or one this code cannot read: unpickling a damaged entry can
                # raise nearly anything (a missing module, MemoryError, OverflowError).
                pass  # lint for real
            result = analyse(migrations)
            self._store(entry, _pack(result, migrations))
            return result

        return cached

    def _store(self, entry: Path, data: dict[str, Any]) -> None:
        """Write the entry atomically; a cache that cannot be written only costs time."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            top = self.folder.parent
            if not (top / ".gitignore").exists():
                (top / ".gitignore").write_text("# Made by migsafe.\n*\n", encoding="utf-8")
                (top / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                    "# This is the lint cache of migsafe (.migsafe_cache); see its README.\n",
                    encoding="utf-8",
                )
            partial = entry.with_name(f".{entry.name}.{os.getpid()}")
            with partial.open("wb") as fh:
                pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.dispatch_table = _REDUCERS
                pickler.dump(data)
            partial.replace(entry)
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        entries = sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
