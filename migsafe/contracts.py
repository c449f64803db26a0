"""A release's contract: what its application needs from the schema.

During a rolling deploy, or after a rollback, release N-1 runs on the schema release N's
migrations left. Whether it still works depends on what its code reads and writes, not on
the whole schema, so that is what a contract records, per release:

- per table, the columns the application reads, with the type and nullability it expects;
- per table, the columns its INSERTs always supply, and which columns it leaves out
  relying on the database to fill them (a default, an identity or serial);
- per enum type, the labels it uses; for a MySQL/MariaDB ``ENUM`` or ``SET`` column, whose
  members belong to the column's type rather than to a named type, the members it uses.

Contracts are stored as JSON at ``.migsafe/contracts/<release>.json``, format version 1::

    {
      "version": 1,
      "release": "2.0.0",
      "source": "models",
      "tables": {
        "users": {
          "columns": {
            "id":    {"type": "int8", "nullable": false, "defaulted": true},
            "email": {"type": "varchar(255)", "nullable": false},
            "tags":  {"type": "text[]", "nullable": true},
            "plan":  {"type": "enum", "nullable": false, "labels": ["free", "pro"]}
          },
          "insert": ["email"]
        }
      },
      "enums": {"mood": ["happy", "sad"]}
    }

``type`` is PostgreSQL's internal type name with its modifiers and ``[]`` for arrays, as
the schema model spells it (``int4``, ``varchar(255)``, ``numeric(10,2)``, ``timestamptz``).
``labels`` (optional, MySQL/MariaDB ``enum`` and ``set`` columns only) lists the members of
the column's type the release uses, in the type's order; a contract without it promises
nothing about the members, so files written before the field existed read as before and
the format version stays 1. ``defaulted`` (default false) marks a column the release leaves
out of its INSERTs. ``insert``
lists the columns every INSERT supplies; ``null`` means the release never inserts into the
table. Tables outside ``public`` are keyed ``schema.table``. Readers reject other versions.

A contract is captured from one of three sources; each decides what is supplied on insert
from what the source can know:

- SQLAlchemy models (:func:`from_models`): every mapped column is read. An INSERT supplies a
  column with a Python-side default (SQLAlchemy always sends it) and every NOT NULL column
  without a server default that is not an identity, serial or autoincrement key (the insert
  fails without it); it leaves out, relying on the database, the columns with a server
  default, identity, serial or autoincrement. Nullable columns without any default are
  neither: the application may or may not send them, so nothing is promised about them,
  and making them NOT NULL later is caught as a nullability change.
- a live database (:func:`from_database`) and the migrations (:func:`from_migrations`): every
  column is read; NOT NULL columns without a default are supplied, columns with a default,
  identity or serial are left to the database. A column held by a ``CHECK (col IS NOT
  NULL)``, even one still NOT VALID, counts as NOT NULL: the application that ran on that
  schema never wrote NULL there, so a later SET NOT NULL does not break it. Contracts from
  migrations leave out what ``[tool.migsafe.retired]`` says the release no longer uses.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migsafe import install_hint, ops
from migsafe.ops import bare
from migsafe.schema import ColumnState, Schema

if TYPE_CHECKING:
    from migsafe.releases import Release
    from migsafe.sources import Migration

FORMAT_VERSION = 1
CONTRACTS_DIR = Path(".migsafe") / "contracts"
SOURCES = ("models", "database", "migrations")
_TYPE = re.compile(r"^(?P<name>[^()\[\]]+?)(?:\((?P<mods>-?\d+(?:,-?\d+)*)\))?(?P<array>\[\])?$")


class ContractError(Exception):
    """A contract cannot be captured or read; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """A column as the release reads it. ``defaulted``: its INSERTs leave the column out and
    rely on the database to fill it."""

    type: ops.TypeRef
    nullable: bool
    defaulted: bool = False


@dataclass(frozen=True)
class TableUse:
    """A table as the release uses it. ``insert``: the columns every INSERT supplies, None
    when the release never inserts into the table."""

    columns: dict[str, ColumnUse]
    insert: frozenset[str] | None = frozenset()


@dataclass(frozen=True)
class Contract:
    release: str
    tables: dict[str, TableUse]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = "migrations"
    # Where the contract was read from, for messages; None when built in memory.
    origin: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON document (see the module docstring)."""
        tables: dict[str, Any] = {}
        for name in sorted(self.tables):
            use = self.tables[name]
            columns: dict[str, Any] = {}
            for col, need in use.columns.items():
                entry: dict[str, Any] = {"type": str(need.type), "nullable": need.nullable}
                if need.defaulted:
                    entry["defaulted"] = True
                if need.type.values:
                    entry["labels"] = list(need.type.values)
                columns[col] = entry
            insert = sorted(use.insert) if use.insert is not None else None
            tables[name] = {"columns": columns, "insert": insert}
        return {
            "version": FORMAT_VERSION,
            "release": self.release,
            "source": self.source,
            "tables": tables,
            "enums": {k: list(v) for k, v in sorted(self.enums.items())},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"


# -- reading and writing -----------------------------------------------------------------------


def path_for(release: str, root: Path = Path()) -> Path:
    """Where release ``release``'s contract lives under the project root."""
    return root / CONTRACTS_DIR / f"{release}.json"


def save(contract: Contract, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(contract.dumps(), encoding="utf-8")


def load(path: Path) -> Contract:
    """The contract in ``path``; a missing or malformed file is a :class:`ContractError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"{path}: contract file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: cannot read the contract: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: not valid JSON: {exc}") from None
    return from_json(data, str(path))


def from_json(data: Any, where: str) -> Contract:
    """A contract from its JSON document, checked field by field: a contract that says less
    than it seems to would let a breaking change through."""

    def bad(what: str) -> ContractError:
        return ContractError(f"{where}: {what} (contract format version {FORMAT_VERSION})")

    if not isinstance(data, dict):
        raise bad("expected a JSON object")
    if data.get("version") != FORMAT_VERSION:
        raise bad(f"unsupported contract version {data.get('version')!r}")
    release, source = data.get("release"), data.get("source", "migrations")
    if not isinstance(release, str) or not release:
        raise bad('"release" must be the release version as a string')
    if source not in SOURCES:
        raise bad(f'"source" must be one of {", ".join(SOURCES)}, got {source!r}')
    raw_tables, raw_enums = data.get("tables", {}), data.get("enums", {})
    if not isinstance(raw_tables, dict) or not isinstance(raw_enums, dict):
        raise bad('"tables" and "enums" must be objects')
    tables: dict[str, TableUse] = {}
    for name, raw in raw_tables.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
            raise bad(f'table {name!r} must be an object with "columns"')
        columns: dict[str, ColumnUse] = {}
        for col, spec in raw["columns"].items():
            if not isinstance(spec, dict) or not isinstance(spec.get("nullable"), bool):
                raise bad(f'column {name}.{col} needs "type" and "nullable" (true or false)')
            kind = _parse_type(spec.get("type"), f"{name}.{col}", bad)
            labels = spec.get("labels", [])
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise bad(f'column {name}.{col}: "labels" must be a list of the members it uses')
            columns[col] = ColumnUse(
                dataclasses.replace(kind, values=tuple(labels)) if labels else kind,
                spec["nullable"],
                spec.get("defaulted") is True,
            )
        insert = raw.get("insert", [])
        if insert is not None and (
            not isinstance(insert, list) or not all(isinstance(c, str) for c in insert)
        ):
            raise bad(f'table {name!r}: "insert" must be a list of column names or null')
        tables[name] = TableUse(columns, frozenset(insert) if insert is not None else None)
    enums: dict[str, tuple[str, ...]] = {}
    for name, labels in raw_enums.items():
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise bad(f"enum {name!r} must be a list of labels")
        enums[name] = tuple(labels)
    return Contract(release, tables, enums, source, origin=where)


def _parse_type(text: Any, where: str, bad: Any) -> ops.TypeRef:
    parsed = _type_of(text) if isinstance(text, str) else None
    if parsed is None:
        raise bad(f"column {where}: {text!r} is not a type such as int4 or varchar(255)")
    return parsed


@functools.lru_cache(maxsize=1024)
def _type_of(text: str) -> ops.TypeRef | None:
    """A contract has thousands of columns but few distinct types: parse each type once."""
    m = _TYPE.match(text)
    if m is None:
        return None
    mods = tuple(int(x) for x in m.group("mods").split(",")) if m.group("mods") else ()
    return ops.TypeRef(m.group("name"), mods, bool(m.group("array")))


# -- building ------------------------------------------------------------------------------------


def _filled(col: ColumnState) -> bool:
    """PostgreSQL fills the column when an INSERT leaves it out."""
    return col.default is not None or col.identity


def from_schema(
    schema: Schema,
    release: str,
    *,
    source: str = "migrations",
    retired: Sequence[str] = (),
    sent: Mapping[str, frozenset[str]] | None = None,
) -> Contract:
    """The contract of an application that uses all of ``schema`` but the ``retired``
    objects (``table``, ``table.column``, ``type enum:label``, ``type enum`` or, for a
    MySQL/MariaDB ENUM or SET column, ``table.column:label``). ``sent``:
    per table, columns the application always sends though the schema gives them no reason
    to (SQLAlchemy Python-side defaults)."""
    gone_tables = {bare(r) for r in retired if schema.table(r) is not None}
    gone_columns: set[tuple[str, str]] = set()
    gone_labels: dict[str, set[str]] = {}
    gone_types: set[str] = set()
    gone_members: dict[tuple[str, str], set[str]] = {}
    for name in retired:
        if name.startswith("type "):
            type_name, colon, label = name[5:].partition(":")
            if colon:
                gone_labels.setdefault(bare(type_name), set()).add(label)
            else:
                gone_types.add(bare(type_name))
        elif ":" in name:
            where, _, label = name.partition(":")
            table_name, _, column = where.rpartition(".")
            gone_members.setdefault((bare(table_name), column), set()).add(label)
        elif bare(name) not in gone_tables:
            table_name, _, column = name.rpartition(".")
            gone_columns.add((bare(table_name), column))
    tables: dict[str, TableUse] = {}
    used_types: set[str] = set()
    for key, table in schema.tables.items():
        if key in gone_tables:
            continue
        always = (sent or {}).get(key, frozenset())
        columns: dict[str, ColumnUse] = {}
        insert: set[str] = set()
        for col in table.columns.values():
            if (key, col.name) in gone_columns:
                continue
            # Without the source span, charset and collation: a contract is the same
            # whatever text it came from. A MySQL ENUM/SET keeps the members still used.
            gone = gone_members.get((key, col.name), ())
            kind = ops.TypeRef(
                col.type.name,
                col.type.mods,
                col.type.array,
                values=tuple(v for v in col.type.values if v not in gone),
            )
            # A CHECK (col IS NOT NULL), even NOT VALID, holds every write to it: an
            # application that ran on this schema never wrote NULL there.
            never_null = schema.null_forbidden(key, col.name)
            columns[col.name] = ColumnUse(
                kind, not never_null, _filled(col) and col.name not in always
            )
            used_types.add(bare(col.type.name))
            required = never_null and not _filled(col) and not col.generated
            if col.name in always or required:
                insert.add(col.name)
        tables[key] = TableUse(columns, frozenset(insert))
    enums = {
        k: tuple(label for label in v if label not in gone_labels.get(k, ()))
        for k, v in schema.enums.items()
        if k in used_types and k not in gone_types
    }
    return Contract(release, tables, enums, source)


def retired_for(release: str, retired: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Objects release ``release`` no longer uses: those retired in it or any earlier
    release (the upcoming release, having no version, comes after them all)."""
    from migsafe.releases import UPCOMING, version_key

    if release == UPCOMING:
        return tuple(o for objs in retired.values() for o in objs)
    key = version_key(release, "release")
    return tuple(o for v, objs in retired.items() if version_key(v, "retired") <= key for o in objs)


def from_models(target: str, release: str) -> Contract:
    """The contract of the SQLAlchemy models at ``target`` (``pkg.module:metadata``, or a
    declarative base with a ``metadata`` attribute). The current directory is importable,
    as for ``alembic`` and ``uvicorn``, so a project's own package is found."""
    import importlib
    import sys

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ContractError(
            f"--from-models {target!r}: expected module:attribute, e.g. myapp.models:Base.metadata"
        )
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # the application's import may fail in any way
        hint = ""
        if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "sqlalchemy":
            hint = f"; {install_hint('sqlalchemy')}"
        raise ContractError(f"--from-models: cannot import {module_name}: {exc}{hint}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ContractError(f"--from-models: {module_name} has no attribute {attribute}")
        obj = getattr(obj, part)
    metadata = getattr(obj, "metadata", obj)
    try:
        from sqlalchemy import MetaData
    except ImportError:
        raise ContractError(
            f"reading SQLAlchemy models needs SQLAlchemy: {install_hint('sqlalchemy')}"
        ) from None
    if not isinstance(metadata, MetaData):
        raise ContractError(
            f"--from-models: {target} is not SQLAlchemy MetaData or a declarative base"
        )
    from migsafe.sqlalchemy_schema import from_metadata

    sent = {
        bare(f"{t.schema}.{t.name}" if t.schema else t.name): frozenset(
            c.name for c in t.columns if c.default is not None
        )
        for t in metadata.sorted_tables
    }
    return from_schema(from_metadata(metadata), release, source="models", sent=sent)


def from_database(dsn: str, release: str, ledger: str | None = None) -> Contract:
    """The contract of an application that uses the whole database at ``dsn`` — every
    schema of it on PostgreSQL — without the table ``ledger`` (``schema.table``: migsafe's
    release ledger, which no application uses)."""
    from migsafe.dialects import MYSQL_FAMILY, introspector

    if dsn.partition("://")[0] in MYSQL_FAMILY:
        schema = introspector(dsn)(dsn)
    else:
        from migsafe.db.introspect import introspect

        schema = introspect(dsn, None)
    if ledger is not None:
        schema.tables.pop(ops.bare(ledger), None)
    return from_schema(schema, release, source="database")


def from_migrations(
    releases: Sequence[Release],
    release: str,
    retired: Mapping[str, Sequence[str]],
    dialect: str | None = None,
) -> Contract:
    """The contract of release ``release`` as the schema at its last migration, replayed
    (in ``dialect``; None: each file's from its path), without the objects retired by
    then."""
    from migsafe.compat import replay

    names = [r.name for r in releases]
    if release not in names:
        raise ContractError(
            f"release {release} is not among the releases found ({', '.join(names) or 'none'})"
        )
    migrations: list[Migration] = [
        m for r in releases[: names.index(release) + 1] for m in r.migrations
    ]
    schema = replay(migrations, dialect).schema
    return from_schema(schema, release, retired=retired_for(release, retired))


# -- releases for lint -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseLayout:
    """What lint needs to know about releases: each migration's release, every release in
    version order (the upcoming one last), how many earlier releases must keep working
    (``window``), the captured contracts and the retired objects. Releases without a
    captured contract get one from the schema at their last migration."""

    release_of: Mapping[tuple[str, str], str]  # (migration display, direction) → release
    order: tuple[str, ...]
    window: int = 1
    contracts: Mapping[str, Contract] = field(default_factory=dict)
    retired: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def supported(self, release: str) -> tuple[str, ...]:
        """The releases that run beside ``release``'s migrations, newest first."""
        if release not in self.order:
            return ()
        at = self.order.index(release)
        return tuple(reversed(self.order[max(0, at - self.window) : at]))


def layout(
    releases: Sequence[Release],
    window: int,
    retired: Mapping[str, Sequence[str]],
    root: Path,
) -> ReleaseLayout:
    """The layout of ``releases`` (from :func:`migsafe.releases.assign`), with the contract
    files under ``root`` read for the releases that have one."""
    contracts = {}
    for r in releases:
        path = path_for(r.name, root)
        if path.is_file():
            contracts[r.name] = load(path)
    return ReleaseLayout(
        release_of={(m.display, m.direction): r.name for r in releases for m in r.migrations},
        order=tuple(r.name for r in releases),
        window=window,
        contracts=contracts,
        retired=retired,
    )
