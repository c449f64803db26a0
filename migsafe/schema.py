"""A schema model that replaying ops keeps up to date.

It answers what rules and the lock model need to know about the database *before* a
statement: does the table exist, what type does a column have, is there an index that covers
these columns, is NOT NULL already proven by a validated CHECK. A table migsafe never saw
created is simply unknown: every answer about it is the cautious one.

The same model is filled by introspecting a live database (:mod:`migsafe.db.introspect`) and
from SQLAlchemy metadata (:mod:`migsafe.sqlalchemy_schema`), so the compatibility engine
compares like with like whatever the source. To make that hold, :meth:`Schema.apply` does
what PostgreSQL does as a side effect of a statement: names unnamed constraints and indexes
as PostgreSQL would, gives partitions their parent's columns and recurses column changes
into them, drops the indexes and constraints that a dropped column or table takes along.

Indexes that back a primary key, unique or exclusion constraint are part of the constraint,
not entries of :attr:`Schema.indexes`; what a partition inherits from its parent (cloned
constraints, attached indexes) is the parent's, not the partition's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from migsafe import ops
from migsafe.ops import bare, in_schema_of

# PostgreSQL's NAMEDATALEN - 1: longer generated names are truncated, as makeObjectName does.
MAX_NAME = 63


@dataclass(frozen=True, slots=True)
class ColumnState:
    name: str
    type: ops.TypeRef
    not_null: bool = False
    default: ops.Default | None = None
    # Values PostgreSQL supplies without a default: an insert may leave these columns out.
    identity: bool = False
    generated: bool = False


@dataclass(frozen=True, slots=True)
class ConstraintState:
    name: str
    kind: str
    columns: tuple[str, ...]
    validated: bool
    expr: str | None = None
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexState:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass
class Table:
    name: str
    columns: dict[str, ColumnState] = field(default_factory=dict)
    constraints: dict[str, ConstraintState] = field(default_factory=dict)
    partitioned: bool = False
    partition_of: str | None = None


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, IndexState] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)
    # Views and materialized views by name, with their kind ("view", "materialized_view"):
    # the application may select from them, so a contract can name them.
    views: dict[str, str] = field(default_factory=dict)
    # Sequences created on their own; those serial and identity columns own are not listed.
    sequences: set[str] = field(default_factory=set)

    def copy(self) -> Schema:
        """Independent copy: states are immutable, so copying the containers suffices."""
        return Schema(
            tables={
                k: Table(
                    t.name, dict(t.columns), dict(t.constraints), t.partitioned, t.partition_of
                )
                for k, t in self.tables.items()
            },
            indexes=dict(self.indexes),
            enums={k: list(v) for k, v in self.enums.items()},
            views=dict(self.views),
            sequences=set(self.sequences),
        )

    # -- questions -----------------------------------------------------------------------------

    def table(self, name: str) -> Table | None:
        return self.tables.get(bare(name))

    def columns(self, table: str) -> tuple[ColumnState, ...]:
        """A table's columns in table order; empty when the table is unknown."""
        t = self.table(table)
        return tuple(t.columns.values()) if t else ()

    def column_type(self, table: str, column: str) -> ops.TypeRef | None:
        t = self.table(table)
        col = t.columns.get(column) if t else None
        return col.type if col else None

    def constraint(self, table: str, name: str) -> ConstraintState | None:
        t = self.table(table)
        return t.constraints.get(name) if t else None

    def not_null_proven(self, table: str, column: str) -> bool:
        """A validated ``CHECK (column IS NOT NULL)`` lets SET NOT NULL skip its scan."""
        return self._not_null_check(table, column, validated=True)

    def null_forbidden(self, table: str, column: str) -> bool:
        """No INSERT or UPDATE may write NULL into the column: it is NOT NULL, or a
        ``CHECK (column IS NOT NULL)`` holds new rows to it, even one still NOT VALID."""
        t = self.table(table)
        col = t.columns.get(column) if t else None
        return col is not None and (col.not_null or self._not_null_check(table, column))

    def _not_null_check(self, table: str, column: str, *, validated: bool = False) -> bool:
        t = self.table(table)
        if t is None:
            return False
        pattern = re.compile(rf'^\(?\s*"?{re.escape(column)}"?\s+IS\s+NOT\s+NULL\s*\)?$', re.I)
        return any(
            c.kind == "check"
            and (c.validated or not validated)
            and c.expr
            and pattern.match(c.expr.strip())
            for c in t.constraints.values()
        )

    def has_index_on(self, table: str, columns: tuple[str, ...]) -> bool:
        """Whether some index (or PK/unique constraint) has these columns, in any order, as
        its leading columns: then a lookup on them needs no scan."""
        key = bare(table)
        n = len(columns)
        wanted = set(columns)
        if any(i.table == key and set(i.columns[:n]) == wanted for i in self.indexes.values()):
            return True
        t = self.tables.get(key)
        return t is not None and any(
            c.kind in ("primary_key", "unique") and set(c.columns[:n]) == wanted
            for c in t.constraints.values()
        )

    def canonical(self) -> dict[str, object]:
        """The whole schema as plain sorted data: what :meth:`fingerprint` hashes, and what
        tests and reports diff."""

        def typ(t: ops.TypeRef) -> list[object]:
            return [t.name, list(t.mods), t.array]

        tables = {}
        for key in sorted(self.tables):
            t = self.tables[key]
            tables[key] = {
                "partitioned": t.partitioned,
                "partition_of": t.partition_of,
                "columns": [
                    [
                        c.name,
                        typ(c.type),
                        c.not_null,
                        c.default.sql if c.default else None,
                        c.identity,
                        c.generated,
                    ]
                    for c in t.columns.values()
                ],
                "constraints": {
                    c.name: [
                        c.kind,
                        list(c.columns),
                        c.validated,
                        c.expr,
                        c.ref_table,
                        list(c.ref_columns),
                    ]
                    for c in sorted(t.constraints.values(), key=lambda c: c.name)
                },
            }
        return {
            "tables": tables,
            "indexes": {
                k: [i.table, list(i.columns), i.unique] for k, i in sorted(self.indexes.items())
            },
            "enums": dict(sorted(self.enums.items())),
            "views": dict(sorted(self.views.items())),
            "sequences": sorted(self.sequences),
        }

    def fingerprint(self) -> str:
        """A stable hex digest of :meth:`canonical`: equal schemas, equal fingerprints, so a
        captured state can be recognised without storing it. Expression text (defaults,
        checks) is kept as the source spelled it, so compare fingerprints from one source."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # -- replay --------------------------------------------------------------------------------

    def apply(self, op: ops.Op) -> None:
        """Change the model as ``op`` changes the database. Ops that change no schema object
        (data, settings, locks, grants) and objects the model does not hold are ignored."""
        t: Table | None
        match op:
            case ops.CreateTable():
                self._create_table(op)
            case ops.DropTable():
                for name in op.tables:
                    self._drop_table(bare(name))
            case ops.RenameTable():
                self._rename_relation(bare(op.table), bare(in_schema_of(op.table, op.new_name)))
            case ops.AddColumn(column=col):
                for t in self._family(op.table, create=True):
                    if not (op.if_not_exists and col.name in t.columns):
                        t.columns[col.name] = self._column_state(t.name, col)
            case ops.DropColumn():
                for t in self._family(op.table):
                    self._drop_column(t, op.column)
            case ops.AlterTableOther(
                subcommand="RenameView" | "RenameMatview", new_name=str() as new
            ):
                self._rename_relation(bare(op.table), bare(in_schema_of(op.table, new)))
            case ops.AlterTableOther(subcommand="RenameSequence", new_name=str() as new):
                if bare(op.table) in self.sequences:
                    self.sequences.discard(bare(op.table))
                    self.sequences.add(bare(in_schema_of(op.table, new)))
            case ops.RenameColumn():
                for t in self._family(op.table):
                    self._rename_column(t, op.column, op.new_name)
            case ops.AlterColumnType():
                for t in self._family(op.table, create=True):
                    state = t.columns.get(op.column)
                    t.columns[op.column] = (
                        replace(state, type=_normal_type(op.type))
                        if state
                        else ColumnState(op.column, _normal_type(op.type))
                    )
            case ops.SetNotNull() | ops.DropNotNull():
                self._set_column(op.table, op.column, not_null=isinstance(op, ops.SetNotNull))
            case ops.SetDefault():
                self._set_column(op.table, op.column, default=_stored(op.default))
            case ops.DropDefault():
                self._set_column(op.table, op.column, default=None)
            case ops.AddConstraint(constraint=c):
                self._add_constraint(self._ensure(op.table), c, bare(op.table))
            case ops.RenameConstraint():
                t = self.table(op.table)
                if t and op.name in t.constraints:
                    t.constraints = {
                        (op.new_name if k == op.name else k): (
                            replace(c, name=op.new_name) if k == op.name else c
                        )
                        for k, c in t.constraints.items()
                    }
            case ops.ValidateConstraint():
                t = self.table(op.table)
                if t and op.name in t.constraints:
                    t.constraints[op.name] = replace(t.constraints[op.name], validated=True)
            case ops.DropConstraint():
                t = self.table(op.table)
                if t:
                    t.constraints.pop(op.name, None)
            case ops.CreateIndex():
                self._create_index(op)
            case ops.DropIndex():
                for name in op.indexes:
                    self.indexes.pop(bare(name), None)
            case ops.RenameIndex():
                self._rename_index(bare(op.index), bare(in_schema_of(op.index, op.new_name)))
            case ops.AttachPartition():
                t = self.table(op.partition)
                if t:
                    t.partition_of = bare(op.table)
            case ops.DetachPartition():
                t = self.table(op.partition)
                if t:
                    t.partition_of = None
            case ops.CreateEnum():
                self.enums[bare(op.name)] = list(op.values)
            case ops.AddEnumValue():
                labels = self.enums.setdefault(bare(op.type_name), [])
                if op.value not in labels:
                    at = len(labels)
                    if op.neighbor in labels:
                        at = labels.index(op.neighbor) + (1 if op.after else 0)
                    labels.insert(at, op.value)
            case ops.RenameEnumValue():
                labels = self.enums.get(bare(op.type_name), [])
                if op.old in labels:
                    labels[labels.index(op.old)] = op.new
            case ops.RenameType():
                self._rename_type(bare(op.type_name), op.new_name)
            case ops.CreateObject(object_kind="view" | "materialized_view" as kind):
                self.views[bare(op.name)] = kind
            case ops.CreateObject(object_kind="sequence"):
                self.sequences.add(bare(op.name))
            case ops.DropObject():
                self._drop_objects(op)
            case ops.DropSchema():
                for name in op.names:
                    self._drop_schema(name)

    # -- tables ----------------------------------------------------------------------------------

    def _create_table(self, op: ops.CreateTable) -> None:
        key = bare(op.table)
        if key in self.tables and op.if_not_exists:
            return
        table = Table(key, partitioned=op.partitioned)
        parent = self.table(op.partition_of) if op.partition_of else None
        if op.partition_of:
            table.partition_of = bare(op.partition_of)
        if parent is not None:
            # A partition has its parent's columns (with their NOT NULL and defaults).
            table.columns = dict(parent.columns)
        # Columns first: a check's default name depends on the columns it references.
        for col in op.columns:
            table.columns[col.name] = self._column_state(key, col)
        for col in op.columns:
            for c in col.constraints:
                self._add_constraint(table, c, key)
        for c in op.constraints:
            self._add_constraint(table, c, key)
        self.tables[key] = table

    def _column_state(self, table: str, col: ops.Column) -> ColumnState:
        default = _stored(col.default)
        if col.serial and default is None:
            # SERIAL is an int column defaulting to its own sequence.
            seq = _object_name(table.rpartition(".")[2], col.name, "seq")
            schema = table.rpartition(".")[0]
            qualified = f"{schema}.{seq}" if schema else seq
            default = ops.Default(f"nextval('{qualified}'::regclass)", volatile=True)
        return ColumnState(
            col.name,
            _normal_type(col.type),
            col.not_null,
            default,
            identity=col.identity,
            generated=col.generated_stored,
        )

    def _drop_table(self, key: str) -> None:
        """Drop a table with what goes with it: its partitions, its indexes, and the foreign
        keys of other tables that reference it (DROP fails without CASCADE unless those
        tables go in the same statement, so either way they are gone afterwards)."""
        if self.tables.pop(key, None) is None:
            return
        for name in [i for i, s in self.indexes.items() if s.table == key]:
            del self.indexes[name]
        for other in list(self.tables.values()):
            if other.partition_of == key:
                self._drop_table(other.name)
            else:
                other.constraints = {
                    n: c for n, c in other.constraints.items() if c.ref_table != key
                }

    def _rename_relation(self, old: str, new: str) -> None:
        """ALTER TABLE … RENAME TO: a table (indexes, partitions and foreign keys follow it,
        as PostgreSQL refers to it by OID) or a view."""
        if old in self.views:
            self.views[new] = self.views.pop(old)
        if old not in self.tables:
            return
        table = self.tables.pop(old)
        table.name = new
        self.tables[new] = table
        for name, idx in list(self.indexes.items()):
            if idx.table == old:
                self.indexes[name] = replace(idx, table=new)
        for other in self.tables.values():
            if other.partition_of == old:
                other.partition_of = new
            for n, c in list(other.constraints.items()):
                if c.ref_table == old:
                    other.constraints[n] = replace(c, ref_table=new)

    def _family(self, name: str, create: bool = False) -> Iterator[Table]:
        """A table and, recursively, its partitions: column changes on a partitioned table
        apply to every partition."""
        t = self._ensure(name) if create else self.table(name)
        if t is None:
            return
        yield t
        for other in list(self.tables.values()):
            if other.partition_of == t.name:
                yield from self._family(other.name)

    def _ensure(self, name: str) -> Table:
        key = bare(name)
        if key not in self.tables:
            self.tables[key] = Table(key)
        return self.tables[key]

    # -- columns ---------------------------------------------------------------------------------

    def _set_column(self, table: str, column: str, **changes: bool | ops.Default | None) -> None:
        for t in self._family(table):
            if column in t.columns:
                t.columns[column] = replace(t.columns[column], **changes)  # type: ignore[arg-type]

    def _drop_column(self, t: Table, column: str) -> None:
        """DROP COLUMN takes the table's indexes and constraints on that column along, and
        (with CASCADE, without which it fails) other tables' foreign keys to it."""
        if t.columns.pop(column, None) is None:
            return
        t.constraints = {
            n: c
            for n, c in t.constraints.items()
            if column not in c.columns and not (c.expr and column in _identifiers(c.expr))
        }
        for name, idx in list(self.indexes.items()):
            if idx.table == t.name and any(_mentions(e, column) for e in idx.columns):
                del self.indexes[name]
        for other in self.tables.values():
            other.constraints = {
                n: c
                for n, c in other.constraints.items()
                if not (c.ref_table == t.name and column in c.ref_columns)
            }

    def _rename_column(self, t: Table, old: str, new: str) -> None:
        """Rename in place (column order is kept) and in everything that names the column:
        constraints, index elements, check expressions, foreign keys pointing at it."""
        if old not in t.columns or new in t.columns:
            return
        t.columns = {
            (new if k == old else k): (replace(c, name=new) if k == old else c)
            for k, c in t.columns.items()
        }

        def cols(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(_rename_in(n, old, new) for n in names)

        for n, c in list(t.constraints.items()):
            expr = _rename_in(c.expr, old, new) if c.expr else c.expr
            t.constraints[n] = replace(c, columns=cols(c.columns), expr=expr)
        for name, idx in list(self.indexes.items()):
            if idx.table == t.name:
                self.indexes[name] = replace(idx, columns=cols(idx.columns))
        for other in self.tables.values():
            for n, c in list(other.constraints.items()):
                if c.ref_table == t.name:
                    other.constraints[n] = replace(c, ref_columns=cols(c.ref_columns))

    # -- constraints and indexes -----------------------------------------------------------------

    def _add_constraint(self, table: Table, c: ops.ConstraintDef, key: str) -> None:
        columns = c.columns
        if c.kind == "check":
            # The columns a check reads, in order of first use, as pg_constraint.conkey has them.
            columns = tuple(name for name in _identifiers(c.expr or "") if name in table.columns)
        if c.kind in ("primary_key", "unique") and c.using_index:
            # The index becomes the constraint's, renamed to the constraint's name.
            idx = self.indexes.pop(bare(in_schema_of(key, c.using_index)), None)
            if idx:
                columns = idx.columns
        ref_columns = c.ref_columns
        if c.kind == "foreign_key" and c.ref_table and not ref_columns:
            # REFERENCES t without columns means t's primary key.
            ref = table if bare(c.ref_table) == key else self.table(c.ref_table)
            ref_columns = (
                next((s.columns for s in ref.constraints.values() if s.kind == "primary_key"), ())
                if ref
                else ()
            )
        name = c.name or self._default_constraint_name(table, key, c.kind, columns)
        if c.kind == "primary_key":
            for col in columns:
                if col in table.columns:
                    table.columns[col] = replace(table.columns[col], not_null=True)
        table.constraints[name] = ConstraintState(
            name,
            c.kind,
            columns,
            validated=not c.not_valid,
            expr=c.expr,
            ref_table=bare(c.ref_table) if c.ref_table else None,
            ref_columns=ref_columns,
        )

    def _default_constraint_name(
        self, table: Table, key: str, kind: str, columns: tuple[str, ...]
    ) -> str:
        """The name PostgreSQL gives an unnamed constraint, so that a later ALTER TABLE naming
        it (DROP CONSTRAINT users_org_id_fkey) finds it in the model."""
        base = key.rpartition(".")[2]
        if kind == "primary_key":
            return self._unused(key, _object_name(base, "", "pkey"), table)
        part = "_".join(columns)
        if kind == "check":
            # PostgreSQL names a check after its column only when it reads exactly one.
            part = columns[0] if len(columns) == 1 else ""
        name = _object_name(base, part, _NAME_SUFFIX.get(kind, kind))
        return self._unused(key, name, table)

    def _create_index(self, op: ops.CreateIndex) -> None:
        key = bare(op.table)
        if op.name:
            name = bare(in_schema_of(op.table, op.name))
            if op.if_not_exists and (name in self.indexes or self._is_relation(name)):
                return
        else:
            part = "_".join(_index_column_name(c) for c in op.columns)
            generated = _object_name(key.rpartition(".")[2], part, "idx")
            name = bare(in_schema_of(op.table, self._unused(key, generated)))
        self.indexes[name] = IndexState(name, key, op.columns, op.unique)

    def _rename_index(self, old: str, new: str) -> None:
        """ALTER INDEX … RENAME TO; renaming the index of a constraint renames the
        constraint, which is how it is listed here."""
        state = self.indexes.pop(old, None)
        if state:
            self.indexes[new] = replace(state, name=new)
            return
        schema = old.rpartition(".")[0]
        short, new_short = old.rpartition(".")[2], new.rpartition(".")[2]
        for t in self.tables.values():
            c = t.constraints.get(short)
            if t.name.rpartition(".")[0] == schema and c and c.kind in _INDEX_BACKED:
                del t.constraints[short]
                t.constraints[new_short] = replace(c, name=new_short)
                return

    def _is_relation(self, name: str) -> bool:
        """Whether a relation (table, index, view, sequence, constraint index) has this name."""
        if name in self.tables or name in self.indexes or name in self.views:
            return True
        schema, _, short = name.rpartition(".")
        return name in self.sequences or any(
            t.name.rpartition(".")[0] == schema
            and short in t.constraints
            and t.constraints[short].kind in _INDEX_BACKED
            for t in self.tables.values()
        )

    def _unused(self, table: str, name: str, t: Table | None = None) -> str:
        """PostgreSQL's answer to a clash of generated names: a number after the label
        (``users_email_key1``). Names are unique per schema for relations and per table for
        constraints."""
        schema = table.rpartition(".")[0]

        def taken(candidate: str) -> bool:
            qualified = f"{schema}.{candidate}" if schema else candidate
            return self._is_relation(qualified) or (t is not None and candidate in t.constraints)

        if not taken(name):
            return name
        head, _, label = name.rpartition("_")
        n = 1
        while taken(f"{head}_{label}{n}"):
            n += 1
        return f"{head}_{label}{n}"

    # -- other objects ---------------------------------------------------------------------------

    def _drop_objects(self, op: ops.DropObject) -> None:
        for raw in op.names:
            name = bare(raw)
            if op.object_kind in ("view", "matview"):
                self.views.pop(name, None)
            elif op.object_kind == "sequence":
                self.sequences.discard(name)
            elif op.object_kind == "type":
                dropped = self.enums.pop(name, None) is not None
                # DROP TYPE … CASCADE drops the columns of that type.
                for t in self.tables.values() if dropped and op.cascade else ():
                    for col in [c for c in t.columns.values() if bare(c.type.name) == name]:
                        self._drop_column(t, col.name)

    def _rename_type(self, old: str, new_name: str) -> None:
        new = bare(in_schema_of(old, new_name))
        if old in self.enums:
            self.enums[new] = self.enums.pop(old)
        for t in self.tables.values():
            for col in [c for c in t.columns.values() if bare(c.type.name) == old]:
                renamed = replace(col.type, name=in_schema_of(col.type.name, new_name))
                t.columns[col.name] = replace(col, type=renamed)

    def _drop_schema(self, schema: str) -> None:
        """DROP SCHEMA takes every object in it (with CASCADE; without, it must be empty)."""

        def inside(key: str) -> bool:
            return key.rpartition(".")[0] == ("" if schema == "public" else schema)

        for key in [k for k in self.tables if inside(k)]:
            self._drop_table(key)
        for names in (self.indexes, self.enums, self.views):
            for key in [k for k in names if inside(k)]:
                del names[key]
        self.sequences = {k for k in self.sequences if not inside(k)}


_NAME_SUFFIX = {"foreign_key": "fkey", "unique": "key", "check": "check", "exclude": "excl"}
_INDEX_BACKED = frozenset({"primary_key", "unique", "exclude"})
_NULL = re.compile(r"\s*\(*\s*null\s*\)*\s*(::\s*[\w\s.\"]+(\(\d+(,\s*\d+)?\))?)?\s*", re.I)
_STRING = re.compile(r"'(?:[^']|'')*'")
_IDENT = re.compile(r'"((?:[^"]|"")+)"|(?<![:\w$])([A-Za-z_][\w$]*)(?!\s*\()')


def _object_name(name1: str, name2: str, label: str) -> str:
    """PostgreSQL's makeObjectName: ``name1_name2_label``, the longer of the two names cut
    until the whole fits in 63 bytes."""
    avail = MAX_NAME - len(label) - 1 - (1 if name2 else 0)
    n1, n2 = len(name1), len(name2)
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    return "_".join(part for part in (name1[:n1], name2[:n2], label) if part)


def _index_column_name(element: str) -> str:
    """How PostgreSQL names an index element in a generated index name: the column, or for
    an expression the function it calls, else ``expr``."""
    if not element.startswith("("):
        return element
    m = re.match(r"\(\s*([A-Za-z_]\w*)\s*\(", element)
    return m.group(1).lower() if m else "expr"


def _identifiers(expr: str) -> tuple[str, ...]:
    """Identifiers an expression mentions, in order of first use, outside string literals,
    skipping function names and types after ``::``: a superset of the columns it reads."""
    found: dict[str, None] = {}
    for m in _IDENT.finditer(_STRING.sub("''", expr)):
        found[m.group(1).replace('""', '"') if m.group(1) else m.group(2).lower()] = None
    return tuple(found)


def _mentions(element: str, column: str) -> bool:
    """Whether an index element (a column, or ``(expression)``) uses the column."""
    return element == column or (element.startswith("(") and column in _identifiers(element))


def _rename_in(text: str, old: str, new: str) -> str:
    """A column name replaced in an index element or expression, quoted or not."""
    if text == old:
        return new
    if not text.startswith("(") and " " not in text:
        return text  # another plain column name
    quoted = new if re.fullmatch(r"[a-z_][a-z0-9_$]*", new) else '"' + new.replace('"', '""') + '"'
    pattern = rf'"{re.escape(old)}"|(?<![\w$."]){re.escape(old)}(?![\w$"])'
    return re.sub(pattern, lambda _: quoted, text)


def _stored(default: ops.Default | None) -> ops.Default | None:
    """The default PostgreSQL keeps: ``DEFAULT NULL`` (cast or not) is no default at all."""
    return None if default is None or _NULL.fullmatch(default.sql) else default


def _normal_type(t: ops.TypeRef) -> ops.TypeRef:
    """One spelling per type: ``numeric(10)`` is ``numeric(10,0)`` in PostgreSQL."""
    if t.name == "numeric" and len(t.mods) == 1:
        return replace(t, mods=(t.mods[0], 0))
    return t
