"""A schema model that replaying ops keeps up to date.

It answers what rules and the lock model need to know about the database *before* a
statement: does the table exist, what type does a column have, is there an index that covers
these columns, is NOT NULL already proven by a validated CHECK. A table migsafe never saw
created is simply unknown: every answer about it is the cautious one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from migsafe import ops
from migsafe.ops import bare, in_schema_of


@dataclass(frozen=True, slots=True)
class ColumnState:
    name: str
    type: ops.TypeRef
    not_null: bool = False
    default: ops.Default | None = None


@dataclass(frozen=True, slots=True)
class ConstraintState:
    name: str
    kind: str
    columns: tuple[str, ...]
    validated: bool
    expr: str | None = None
    ref_table: str | None = None


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


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, IndexState] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)

    def copy(self) -> Schema:
        """Independent copy: states are immutable, so copying the containers suffices."""
        return Schema(
            tables={
                k: Table(t.name, dict(t.columns), dict(t.constraints), t.partitioned)
                for k, t in self.tables.items()
            },
            indexes=dict(self.indexes),
            enums={k: list(v) for k, v in self.enums.items()},
        )

    # -- questions -----------------------------------------------------------------------------

    def table(self, name: str) -> Table | None:
        return self.tables.get(bare(name))

    def column_type(self, table: str, column: str) -> ops.TypeRef | None:
        t = self.table(table)
        col = t.columns.get(column) if t else None
        return col.type if col else None

    def constraint(self, table: str, name: str) -> ConstraintState | None:
        t = self.table(table)
        return t.constraints.get(name) if t else None

    def not_null_proven(self, table: str, column: str) -> bool:
        """A validated ``CHECK (column IS NOT NULL)`` lets SET NOT NULL skip its scan."""
        t = self.table(table)
        if t is None:
            return False
        pattern = re.compile(rf'^\(?\s*"?{re.escape(column)}"?\s+IS\s+NOT\s+NULL\s*\)?$', re.I)
        return any(
            c.kind == "check" and c.validated and c.expr and pattern.match(c.expr.strip())
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

    # -- replay --------------------------------------------------------------------------------

    def apply(self, op: ops.Op) -> None:
        t: Table | None
        match op:
            case ops.CreateTable():
                key = bare(op.table)
                if op.if_not_exists and key in self.tables:
                    return
                table = Table(key, partitioned=op.partitioned)
                for col in op.columns:
                    table.columns[col.name] = ColumnState(
                        col.name, col.type, col.not_null, col.default
                    )
                    for c in col.constraints:
                        self._add_constraint(table, c, key)
                for c in op.constraints:
                    self._add_constraint(table, c, key)
                    if c.kind == "primary_key":
                        for name in c.columns:
                            if name in table.columns:
                                table.columns[name] = replace(table.columns[name], not_null=True)
                self.tables[key] = table
            case ops.DropTable():
                for name in op.tables:
                    key = bare(name)
                    self.tables.pop(key, None)
                    for index_name in [i for i, s in self.indexes.items() if s.table == key]:
                        del self.indexes[index_name]
            case ops.RenameTable():
                old, new = bare(op.table), bare(in_schema_of(op.table, op.new_name))
                if old in self.tables:
                    table = self.tables.pop(old)
                    table.name = new
                    self.tables[new] = table
                    for name, idx in list(self.indexes.items()):
                        if idx.table == old:
                            self.indexes[name] = replace(idx, table=new)
            case ops.AddColumn(column=col):
                t = self._ensure(op.table)
                t.columns[col.name] = ColumnState(col.name, col.type, col.not_null, col.default)
            case ops.DropColumn():
                t = self.table(op.table)
                if t:
                    t.columns.pop(op.column, None)
            case ops.RenameColumn():
                t = self.table(op.table)
                if t and op.column in t.columns:
                    t.columns[op.new_name] = replace(t.columns.pop(op.column), name=op.new_name)
            case ops.AlterColumnType():
                t = self._ensure(op.table)
                state = t.columns.get(op.column)
                t.columns[op.column] = (
                    replace(state, type=op.type) if state else ColumnState(op.column, op.type)
                )
            case ops.SetNotNull() | ops.DropNotNull():
                t = self.table(op.table)
                if t and op.column in t.columns:
                    t.columns[op.column] = replace(
                        t.columns[op.column], not_null=isinstance(op, ops.SetNotNull)
                    )
            case ops.SetDefault():
                t = self.table(op.table)
                if t and op.column in t.columns:
                    t.columns[op.column] = replace(t.columns[op.column], default=op.default)
            case ops.DropDefault():
                t = self.table(op.table)
                if t and op.column in t.columns:
                    t.columns[op.column] = replace(t.columns[op.column], default=None)
            case ops.AddConstraint(constraint=c):
                self._add_constraint(self._ensure(op.table), c, bare(op.table))
            case ops.ValidateConstraint():
                t = self.table(op.table)
                if t and op.name in t.constraints:
                    t.constraints[op.name] = replace(t.constraints[op.name], validated=True)
            case ops.DropConstraint():
                t = self.table(op.table)
                if t:
                    t.constraints.pop(op.name, None)
            case ops.CreateIndex():
                unnamed = f"{op.table}_{'_'.join(op.columns)}_idx"
                name = bare(in_schema_of(op.table, op.name or unnamed))
                self.indexes[name] = IndexState(name, bare(op.table), op.columns, op.unique)
            case ops.DropIndex():
                for name in op.indexes:
                    self.indexes.pop(bare(name), None)
            case ops.RenameIndex():
                state_i = self.indexes.pop(bare(op.index), None)
                if state_i:
                    new_name = bare(in_schema_of(op.index, op.new_name))
                    self.indexes[new_name] = replace(state_i, name=new_name)
            case ops.CreateEnum():
                self.enums[op.name] = list(op.values)
            case ops.AddEnumValue():
                self.enums.setdefault(op.type_name, []).append(op.value)

    def _ensure(self, name: str) -> Table:
        key = bare(name)
        if key not in self.tables:
            self.tables[key] = Table(key)
        return self.tables[key]

    def _add_constraint(self, table: Table, c: ops.ConstraintDef, key: str) -> None:
        name = c.name or f"{key}_{'_'.join(c.columns)}_{c.kind}"
        columns = c.columns
        if c.kind in ("primary_key", "unique") and c.using_index:
            idx = self.indexes.get(bare(in_schema_of(key, c.using_index)))
            if idx:
                columns = idx.columns
        table.constraints[name] = ConstraintState(
            name,
            c.kind,
            columns,
            validated=not c.not_valid,
            expr=c.expr,
            ref_table=bare(c.ref_table) if c.ref_table else None,
        )
