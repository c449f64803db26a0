"""Runs the rules over parsed migrations, keeping the context they need.

For each migration, in order: parse once, compute each statement's effect from the lock
model against the schema as it stands, hand every op to every enabled rule with a
:class:`Context`, then apply the op to the schema. Down migrations are linted against the
schema their up left, and their changes are not carried forward. Each tool's migrations in
each dialect build a schema of their own (:class:`Lineage`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe import declarations, dialects, install_hint, locks, ops
from migsafe.findings import Finding, InputError, Severity
from migsafe.locks import Effect
from migsafe.ops import Op, Statement, bare, in_schema_of
from migsafe.parse.postgres import SqlSyntaxError
from migsafe.parse.text import SourceText, source_text
from migsafe.phases import Phase, statement_phases
from migsafe.rules import Rule, all_rules
from migsafe.schema import Schema
from migsafe.sources import Migration

if TYPE_CHECKING:
    from migsafe.config import Config
    from migsafe.contracts import Contract, ReleaseLayout
    from migsafe.online import Online, Server

_ZERO_DURATION = re.compile(r"^\s*0*(\.0*)?\s*(us|ms|s|min|h|d)?\s*$", re.I)
_IGNORE = re.compile(r"--\s*migsafe:ignore(?P<file>-file)?\s+(?P<ids>[\w-]+(?:\s*,\s*[\w-]+)*)")


@dataclass(frozen=True)
class Settings:
    pg_version: int = locks.DEFAULT_VERSION
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    severity: dict[str, Severity | None] = field(default_factory=dict)
    assume_in_transaction: bool | None = None
    strict: bool = False
    # Each migration's release and the contracts that must keep holding; None: releases
    # are not configured, and the release rules have nothing to check.
    releases: ReleaseLayout | None = None
    # postgresql, mysql or mariadb; None: per file, from a mysql/mariadb path segment
    # (see migsafe.dialects). server_version is the MySQL/MariaDB one ("mariadb-10.11").
    dialect: str | None = None
    server_version: str | None = None
    # The project's folder, inside which folder names decide the dialect; None: the
    # config file's folder, else the current one (see migsafe.dialects).
    root: Path | None = None

    @classmethod
    def from_config(
        cls,
        cfg: Config,
        *,
        dialect: str | None = None,
        server_version: str | None = None,
        pg_version: int | None = None,
        select: frozenset[str] | None = None,
        ignore: frozenset[str] | None = None,
        assume_in_transaction: bool | None = None,
        strict: bool = False,
    ) -> Settings:
        """The settings the config file gives, each replaced by the command line's where it
        gave one (None: not given), so every entry point reads the config alike. A
        PostgreSQL server version (``postgresql-16``) sets the version the lock model
        answers for, unless ``pg_version`` is given."""
        server = server_version or cfg.server_version
        return cls(
            dialect=dialect or cfg.dialect,
            root=cfg.path.parent if cfg.path is not None else Path.cwd(),
            server_version=server,
            pg_version=pg_version or dialects.pg_version_of(server) or cfg.pg_version,
            select=select if select is not None else cfg.select,
            ignore=ignore if ignore is not None else cfg.ignore,
            severity=cfg.severity,
            assume_in_transaction=(
                assume_in_transaction
                if assume_in_transaction is not None
                else cfg.assume_in_transaction
            ),
            strict=strict,
        )


@dataclass
class Context:
    """What a rule may know when it looks at one op."""

    migration: Migration
    statement: Statement
    effect: Effect
    statement_effect: Effect
    schema: Schema
    new_tables: set[str]
    in_transaction: bool
    explicit_transaction: bool
    # The migration tool wraps the whole migration in a transaction (layout default or
    # the assume-in-transaction setting).
    wrapped: bool
    settings: dict[str, str]
    pg_version: int
    # Strongest lock held so far in this transaction per relation, with the statement.
    held: dict[str, tuple[str, Statement]]
    statements: Sequence[Statement]
    index: int
    # Indexes of the statements in the same transaction (empty outside one).
    transaction: Sequence[int]
    # The phase of every op of the migration, by statement (see migsafe.phases).
    phases: Sequence[tuple[Phase | None, ...]] = ()
    # The release the migration ships in, and the contracts of the releases inside the
    # support window before it (newest first): they run on the schema it leaves.
    release: str | None = None
    supported: tuple[Contract, ...] = ()
    # MySQL/MariaDB only: the server, and how it runs this op and the whole statement.
    dialect: str = "postgresql"
    server: Server | None = None
    online: Online | None = None
    statement_online: Online | None = None

    @cached_property
    def earlier(self) -> list[Statement]:
        """Statements of the current transaction before this one."""
        return [self.statements[j] for j in self.transaction if j < self.index]

    @cached_property
    def later(self) -> list[Statement]:
        """Statements of the current transaction after this one."""
        return [self.statements[j] for j in self.transaction if j > self.index]

    @property
    def rest_of_migration(self) -> Sequence[Statement]:
        """Statements of the whole migration after this one ("is there an index later?")."""
        return self.statements[self.index + 1 :]

    @property
    def source(self) -> SourceText:
        """Positions in the migration's file, for spans of fixes."""
        return source_text(self.migration.text)

    def is_new(self, table: str) -> bool:
        """Created in this migration: nobody else can be using it yet."""
        return bare(table) in self.new_tables

    def lock_timeout(self) -> str | None:
        """The lock_timeout in force, None when unset or zero (which means no timeout)."""
        value = self.settings.get("lock_timeout")
        if value is None or _ZERO_DURATION.match(value):
            return None
        return value


@dataclass(frozen=True)
class StatementReport:
    migration: Migration
    statement: Statement
    effect: Effect
    online: Online | None = None  # MySQL/MariaDB statements only: as written
    cheapest: Online | None = None  # ... and with its ALGORITHM=/LOCK= clauses left out


@dataclass
class Result:
    statements: list[StatementReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def sorted_findings(self) -> list[Finding]:
        """The findings in reading order (file, position, rule): the order every report
        lists them in, so the formats agree."""
        return sorted(self.findings, key=lambda f: (f.path, f.span.start, f.rule))


@dataclass(frozen=True)
class Suppressions:
    """Rule ids silenced by ``-- migsafe:ignore`` comments in one file."""

    own_line: dict[int, frozenset[str]]  # comment alone on its line: the next statement
    trailing: dict[int, frozenset[str]]  # comment after code: the statement ending there
    whole_file: frozenset[str]
    mentions: tuple[tuple[int, int, str], ...] = ()  # (line, column, rule id) as written

    def for_statement(self, st: Statement) -> frozenset[str]:
        return (
            self.whole_file
            | self.own_line.get(st.span.line - 1, frozenset())
            | self.trailing.get(st.span.end_line, frozenset())
        )


def ignore_directives(text: str) -> Suppressions:
    own_line: dict[int, frozenset[str]] = {}
    trailing: dict[int, frozenset[str]] = {}
    whole: set[str] = set()
    mentions: list[tuple[int, int, str]] = []
    if "migsafe:ignore" in text:
        for number, line in enumerate(text.splitlines(), 1):
            m = _IGNORE.search(line)
            if not m:
                continue
            ids = frozenset(i.strip() for i in m.group("ids").split(","))
            mentions.extend((number, m.start("ids") + 1, i) for i in sorted(ids))
            if m.group("file"):
                whole |= ids
            elif line[: m.start()].strip():
                trailing[number] = ids
            else:
                own_line[number] = ids
    return Suppressions(own_line, trailing, frozenset(whole), tuple(mentions))


def _transaction_groups(
    statements: Sequence[Statement], wrapped: bool, implicit: bool
) -> tuple[list[int | None], list[bool]]:
    """For each statement, the id of the transaction it runs in (None: autocommit) and
    whether that transaction was opened explicitly with BEGIN.

    ``wrapped``: the tool runs the migration inside a transaction of its own. ``implicit``:
    the file goes to the server as one query string, so statements outside an explicit
    BEGIN … COMMIT still share an implicit transaction with their neighbours.
    """
    groups: list[int | None] = []
    explicit: list[bool] = []
    next_id = 1
    current: int | None = 0 if wrapped else None
    is_explicit = False
    for st in statements:
        action = st.ops[0].action if isinstance(st.ops[0], ops.Transaction) else None
        if action == "begin" and not is_explicit:
            if current is None or (implicit and not wrapped):
                current, next_id = next_id, next_id + 1
            is_explicit = True
        elif current is None and implicit:
            current, next_id = next_id, next_id + 1
        groups.append(current)
        explicit.append(is_explicit)
        if action in ("commit", "rollback"):
            current = None
            is_explicit = False
    return groups, explicit


@dataclass
class Lineage:
    """The simulated database one line of migrations builds: the schema they leave, and the
    release bookkeeping taken from it."""

    schema: Schema = field(default_factory=Schema)
    # The schema at each release's last migration, taken when the next release starts.
    release_ends: dict[str, Schema] = field(default_factory=dict)
    entered: int = 0
    derived: dict[str, Contract] = field(default_factory=dict)


class Analyzer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        rules = all_rules()
        enabled: list[Rule] = []
        for r in rules.values():
            if settings.select is not None:
                chosen = r.id in settings.select
            else:
                chosen = r.default_enabled or (settings.strict and r.id == "unknown-statement")
            if r.trace_only:
                chosen = False
            if chosen and r.id not in settings.ignore and settings.severity.get(r.id, r.severity):
                enabled.append(r)
        self.rules = enabled
        self._lineages: dict[tuple[str, str], Lineage] = {}
        self._lineage = Lineage()

    @property
    def schema(self) -> Schema:
        """The schema the migration being linted runs against: its lineage's."""
        return self._lineage.schema

    @schema.setter
    def schema(self, value: Schema) -> None:
        self._lineage.schema = value

    def lineage(self, migration: Migration, dialect: str) -> Lineage:
        """The simulated database of the migration: one per tool and dialect, so an Alembic
        versions folder beside SQL files, or a project's mysql/ and postgresql/ folders,
        never see each other's tables."""
        source = "alembic" if migration.path.suffix == ".py" else "sql"
        return self._lineages.setdefault((source, dialect), Lineage())

    @cached_property
    def root(self) -> Path:
        return self.settings.root if self.settings.root is not None else dialects.project_root()

    def dialect_of(self, migration: Migration) -> str:
        s = self.settings
        return dialects.of(migration, s.dialect, s.server_version, self.root)

    def severity(self, r: Rule) -> Severity:
        return self.settings.severity.get(r.id) or r.severity

    def run(self, migrations: Iterable[Migration], result: Result | None = None) -> Result:
        result = result or Result()
        for migration in migrations:
            if migration.display not in result.files:
                result.files.append(migration.display)
            dialect = self.dialect_of(migration)
            self._lineage = self.lineage(migration, dialect)
            try:
                statements = dialects.statements(migration, dialect, self.schema)
            except ModuleNotFoundError as exc:
                result.errors.append(
                    InputError(
                        migration.display,
                        None,
                        None,
                        f"reading {dialect} migrations needs {exc.name}: " + install_hint("mysql"),
                    )
                )
                continue
            except SqlSyntaxError as exc:
                result.errors.append(
                    InputError(
                        migration.display,
                        exc.line,
                        exc.column,
                        f"syntax error: {exc.message.removeprefix('syntax error ')}",
                    )
                )
                continue
            if migration.direction == "down":
                saved = self.schema
                self.schema = saved.copy()
                self._migration(migration, statements, result, dialect)
                self.schema = saved
            else:
                self._migration(migration, statements, result, dialect)
        return result

    def _releases(self, migration: Migration) -> tuple[str | None, tuple[Contract, ...]]:
        """The migration's release and the contracts that must hold beside it. Entering a
        later release first records the schema as every release before it left it."""
        layout = self.settings.releases
        release = (
            layout.release_of.get((migration.display, migration.direction)) if layout else None
        )
        if layout is None or release is None or release not in layout.order:
            return None, ()
        at = layout.order.index(release)
        lineage = self._lineage
        if migration.direction == "up" and at > lineage.entered:
            for name in layout.order[lineage.entered : at]:
                lineage.release_ends.setdefault(name, self.schema.copy())
            lineage.entered = at
        supported = []
        for name in layout.supported(release):
            contract = layout.contracts.get(name) or lineage.derived.get(name)
            if contract is None and name in lineage.release_ends:
                # Only a run with releases configured gets here: keep contracts off the
                # import path of a plain lint.
                from migsafe.contracts import from_schema, retired_for

                contract = from_schema(
                    lineage.release_ends[name], name, retired=retired_for(name, layout.retired)
                )
                lineage.derived[name] = contract
            if contract is not None:
                supported.append(contract)
        return release, tuple(supported)

    def _migration(
        self,
        migration: Migration,
        statements: list[Statement],
        result: Result,
        dialect: str = "postgresql",
    ) -> None:
        release, supported = self._releases(migration)
        rules = [r for r in self.rules if r.dialects is None or dialect in r.dialects]
        srv = dialects.server(dialect, self.settings.server_version)
        if srv is not None:
            from migsafe import online
        implicit = False
        if self.settings.assume_in_transaction is not None:
            wrapped = self.settings.assume_in_transaction
        else:
            wrapped = migration.in_transaction
            implicit = migration.single_query and len(statements) > 1
        suppressions = ignore_directives(migration.text)
        known = all_rules()
        for line, column, rule_id in suppressions.mentions:
            if rule_id not in known:
                result.errors.append(
                    InputError(
                        migration.display,
                        line,
                        column,
                        f"unknown rule id {rule_id!r} in migsafe:ignore; `migsafe rules` "
                        "lists them",
                    )
                )
        for problem in declarations.parse(migration.text).problems:
            result.errors.append(
                InputError(migration.display, problem.line, problem.column, problem.message)
            )
        phases = statement_phases(statements, self.schema)
        groups, explicit = _transaction_groups(statements, wrapped, implicit)
        new_tables: set[str] = set()
        session: dict[str, str] = {}
        local: dict[str, str] = {}
        held: dict[str, tuple[str, Statement]] = {}
        version = self.settings.pg_version
        members: dict[int, list[int]] = {}
        for index, group in enumerate(groups):
            if group is not None:
                members.setdefault(group, []).append(index)
        for index, st in enumerate(statements):
            group = groups[index]
            same = members.get(group, []) if group is not None else []
            settings = {**session, **local}
            judged: list[Online | None] = [None] * len(st.ops)
            statement_online = cheapest = None
            if srv is None:
                effects = [locks.effect(op, version, self.schema) for op in st.ops]
            else:
                # The PostgreSQL lock model says nothing about MySQL: the online model does.
                effects = [Effect(behaviour=op.kind) for op in st.ops]
                judged = list(self._judge(st, srv, settings))
                cheapest = online.combine(j for j in judged if j is not None)
                statement_online = online.as_written(cheapest, st.sql)
            statement_effect = locks.combine(effects)
            result.statements.append(
                StatementReport(migration, st, statement_effect, statement_online, cheapest)
            )
            suppressed = suppressions.for_statement(st) | st.ignores
            for op, eff, op_online in zip(st.ops, effects, judged, strict=True):
                ctx = Context(
                    migration=migration,
                    statement=st,
                    effect=eff,
                    statement_effect=statement_effect,
                    schema=self.schema,
                    new_tables=new_tables,
                    in_transaction=group is not None,
                    explicit_transaction=explicit[index],
                    wrapped=wrapped or implicit,
                    settings=settings,
                    pg_version=version,
                    held=held,
                    statements=statements,
                    index=index,
                    transaction=same,
                    phases=phases,
                    release=release,
                    supported=supported,
                    dialect=dialect,
                    server=srv,
                    online=op_online,
                    statement_online=statement_online,
                )
                for r in rules:
                    if r.id in suppressed:
                        continue
                    for v in r.check(op, ctx):
                        result.findings.append(
                            Finding(
                                rule=r.id,
                                severity=self.severity(r),
                                path=migration.display,
                                span=v.span or st.span,
                                message=v.message,
                                help=v.help or r.help,
                                # A fix edits SQL text: none for a source read otherwise.
                                fix=v.fix if migration.prepared is None else None,
                                down=migration.direction == "down",
                            )
                        )
                self._track(op, self.schema, new_tables, session, local, group is not None)
                self.schema.apply(op)
            if group is not None:
                for rel, mode in statement_effect.locks.items():
                    prior = held.get(rel)
                    if prior is None or locks.stronger(prior[0], mode) != prior[0]:
                        held[rel] = (mode, st)
            next_group = groups[index + 1] if index + 1 < len(statements) else None
            if group is None or next_group != group:
                held.clear()
                local.clear()

    def _judge(self, st: Statement, srv: Server, settings: dict[str, str]) -> Iterator[Online]:
        """Each op of a MySQL statement judged against the schema as the statement's earlier
        sub-commands leave it (a column added then indexed in one ALTER)."""
        from migsafe import online

        if len(st.ops) == 1:
            yield online.judge(st.ops[0], srv, self.schema, settings)
            return
        schema = self.schema.copy()
        for op in st.ops:
            yield online.judge(op, srv, schema, settings)
            schema.apply(op)

    @staticmethod
    def _track(
        op: Op,
        schema: Schema,
        new_tables: set[str],
        session: dict[str, str],
        local: dict[str, str],
        in_transaction: bool,
    ) -> None:
        match op:
            case ops.CreateTable() if schema.table(op.table) is None:
                new_tables.add(bare(op.table))
            case ops.RenameTable() if bare(op.table) in new_tables:
                new_tables.add(bare(in_schema_of(op.table, op.new_name)))
            case ops.SetSetting():
                target = local if op.local else session
                if op.local and not in_transaction:
                    return
                if op.value is None:
                    target.pop(op.name, None)
                    if op.name == "all":
                        target.clear()
                else:
                    target[op.name] = op.value


def lint_text(sql: str, settings: Settings | None = None, path: str = "<sql>") -> Result:
    """Lint one piece of SQL as a single migration: the library's smallest entry point."""
    migration = Migration(path=Path(path), display=path, text=sql)
    return Analyzer(settings or Settings()).run([migration])
