"""``migsafe trace``: apply migrations to a throwaway database and hold what PostgreSQL did
against the lock model.

The migrations are first linted exactly as ``migsafe lint`` would (for the server's major
version), which gives every statement its predicted effect. Then, statement by statement,
each is run and observed (:mod:`migsafe.db.observe`) in a transaction of its own and
committed; a difference between prediction and observation is a ``lock-model-mismatch``
finding showing both sides.

Choices that keep a run going and honest:

- Down migrations are not applied: trace goes from empty to head.
- Explicit ``BEGIN``/``COMMIT`` in a file are not run: observing a statement needs a
  transaction of its own (locks accumulate until commit), so each statement gets one.
- A statement that fails is rolled back and reported with its place; the run goes on
  (later statements may then fail too, which is reported the same way).
- Statements acting on the whole cluster (databases, roles, tablespaces, ALTER SYSTEM) are
  not run: the scratch database is the only thing trace may change.
- Go-template placeholders (``{{ index .Options "Namespace" }}``) are filled from
  ``variables``; a statement with a placeholder that has no value is not run.
- Parallel query and parallel index builds are turned off: their workers' reads would not
  show in the statistics of the backend observed.
- Only statements whose every op the lock model covers are held against it in full; for a
  statement partly covered only the relations the model names are compared, and a statement
  the model says nothing about, or one PostgreSQL skipped (``IF NOT EXISTS`` on an existing
  object: the model predicts the work, the server had none to do), is never a mismatch.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migsafe import locks, ops
from migsafe.analysis import Analyzer, Result, Settings, StatementReport, ignore_directives
from migsafe.db import DatabaseError, require_psycopg
from migsafe.findings import Finding, Severity
from migsafe.rules import all_rules
from migsafe.rules.trace import LOCK_MODEL_MISMATCH
from migsafe.sources import Migration

if TYPE_CHECKING:
    from migsafe.db.ephemeral import Scratch
    from migsafe.db.observe import Observation
    from migsafe.db.seed import Seeded

_TEMPLATE = re.compile(r"\{\{\s*(?:index\s+\.Options\s+\"(\w+)\"|\.(\w+))\s*\}\}")
_CLUSTER_WIDE = re.compile(
    r"^\s*(?:(?:CREATE|ALTER|DROP)\s+(?:DATABASE|ROLE|GROUP|TABLESPACE|USER(?!\s+MAPPING))\b"
    r"|ALTER\s+SYSTEM\b)",
    re.I,
)
_IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')

Advance = Callable[[int], None]
Progress = Callable[[int], contextlib.AbstractContextManager[Advance]]


class TemplateError(ValueError):
    """A template placeholder with no value."""


@dataclass(frozen=True)
class Options:
    seed_rows: int = 0
    variables: dict[str, str] = field(default_factory=dict)
    setup: str | None = None  # SQL run in the scratch database before the first migration
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    severity: dict[str, Severity | None] = field(default_factory=dict)


@dataclass
class Traced:
    """One statement's fate: observed, failed (``error``) or deliberately not run."""

    report: StatementReport
    observation: Observation | None = None
    error: str | None = None
    not_run: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.observation is not None:
            return {"observed": self.observation.as_json()}
        if self.error is not None:
            return {"observed": None, "error": self.error}
        return {"observed": None, "not_run": self.not_run}


@dataclass
class Trace:
    result: Result
    traced: list[Traced]
    seeding: list[tuple[str, list[Seeded]]]
    server_version_num: int
    provider: str

    @property
    def failed(self) -> list[Traced]:
        return [t for t in self.traced if t.error is not None]


def render(text: str, variables: dict[str, str]) -> str:
    """``text`` with its Go-template placeholders replaced by their values."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise TemplateError(
                f"template placeholder {m.group(0)} has no value: pass --var {name}=VALUE"
            )
        return variables[name]

    return _TEMPLATE.sub(value, text)


def trace(
    migrations: Sequence[Migration],
    scratch: Scratch,
    options: Options,
    progress: Progress | None = None,
) -> Trace:
    """Lint ``migrations`` (ups only) for the scratch server's version, then apply and observe
    them there. Raises :class:`DatabaseError` when the server cannot be used at all."""
    psycopg = require_psycopg()
    settings = Settings(
        pg_version=scratch.major,
        select=options.select,
        ignore=options.ignore,
        severity=options.severity,
    )
    result = Analyzer(settings).run(m for m in migrations if m.direction == "up")
    mismatch_rule = all_rules()[LOCK_MODEL_MISMATCH]
    severity = options.severity.get(LOCK_MODEL_MISMATCH, mismatch_rule.severity)
    report_mismatches = (
        (options.select is None or LOCK_MODEL_MISMATCH in options.select)
        and LOCK_MODEL_MISMATCH not in options.ignore
        and severity is not None
    )
    outcome = Trace(result, [], [], scratch.server_version_num, scratch.provider)
    try:
        conn = psycopg.connect(scratch.dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to the scratch database: {exc}".strip()) from None
    with conn, _progress(progress, len(result.statements)) as advance:
        # Parallel workers read tables in other backends, whose scans this one cannot see.
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET max_parallel_maintenance_workers = 0")
        if options.setup:
            try:
                conn.execute(options.setup)
            except psycopg.Error as exc:
                raise DatabaseError(f"the setup SQL failed: {_message(exc)}") from None
        current: Migration | None = None
        for report in result.statements:
            if report.migration is not current:
                current = report.migration
                if options.seed_rows > 0:
                    from migsafe.db.seed import seed

                    outcome.seeding.append((current.display, seed(conn, options.seed_rows)))
            traced = _run(conn, report, options.variables, scratch.major, psycopg)
            outcome.traced.append(traced)
            if traced.observation is not None and report_mismatches and severity is not None:
                suppressed = ignore_directives(report.migration.text).for_statement(
                    report.statement
                )
                differences = compare(report, traced.observation)
                if differences and LOCK_MODEL_MISMATCH not in suppressed:
                    result.findings.append(
                        _finding(report, differences, scratch.major, severity, mismatch_rule.help)
                    )
            advance(1)
    return outcome


@contextlib.contextmanager
def _progress(progress: Progress | None, total: int) -> Iterator[Advance]:
    if progress is None:
        yield lambda _: None
    else:
        with progress(total) as advance:
            yield advance


def _message(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _run(
    conn: Any, report: StatementReport, variables: dict[str, str], version: int, psycopg: Any
) -> Traced:
    from migsafe.db.observe import observe, quote_name

    st = report.statement
    if any(isinstance(op, ops.Transaction) for op in st.ops):
        return Traced(
            report,
            not_run="transaction control: each statement is traced in a transaction of its own",
        )
    if _CLUSTER_WIDE.match(st.sql):
        return Traced(report, not_run="acts on the whole cluster, not only the scratch database")
    effect = report.effect
    written = {*effect.locks, *effect.rewrites, *effect.scans, *effect.unclaimed_scans}
    try:
        sql = render(st.sql, variables)
        names = {name: quote_name(render(name, variables)) for name in written}
    except TemplateError as exc:
        return Traced(report, not_run=str(exc))
    try:
        return Traced(report, observe(conn, sql, names, version=version))
    except psycopg.Error as exc:
        if conn.closed or conn.broken:
            raise DatabaseError(
                f"lost the connection to the scratch database: {_message(exc)}"
            ) from None
        return Traced(report, error=_message(exc))


def _identifiers(sql: str) -> set[str]:
    """The identifiers a statement uses, folded as PostgreSQL folds them."""
    return {
        quoted.replace('""', '"') if quoted else word.lower()
        for quoted, word in _IDENTIFIER.findall(sql)
    }


def compare(report: StatementReport, seen: Observation) -> list[str]:
    """Where the observation and the model's effect for the statement differ, each
    difference naming the relation and both sides."""
    effect = report.effect
    behaviours = effect.behaviour.split("+")
    covered = [b in locks.MODEL for b in behaviours]
    if not any(covered) or seen.skipped:
        return []
    modelled = {*effect.locks, *effect.rewrites, *effect.scans, *effect.unclaimed_scans}
    differences: list[str] = []
    for name in sorted(modelled & set(seen.oids)):
        rel = f'"{name}"'
        if seen.locks is not None:
            model, observed = effect.locks.get(name), seen.locks.get(name)
            if model != observed:
                differences.append(
                    f"{rel}: model {model or 'no lock'}, observed {observed or 'no lock'}"
                )
        if (name in effect.rewrites) != (name in seen.rewrites):
            differences.append(
                f"{rel}: model {'rewrite' if name in effect.rewrites else 'no rewrite'}, "
                f"observed {'rewrite' if name in seen.rewrites else 'no rewrite'}"
            )
        observable = name not in effect.unclaimed_scans and name not in seen.unobservable_scans
        if observable and (name in effect.scans) != (name in seen.scans):
            differences.append(
                f"{rel}: model {'scan' if name in effect.scans else 'no scan'}, "
                f"observed {'scan' if name in seen.scans else 'no scan'}"
            )
    if all(covered):
        # A relation the statement names but the model does not: blocking locks and
        # rewrites must be in the model; reads of other tables are data access it does not
        # claim.
        words = _identifiers(report.statement.sql)
        for name in sorted(set(seen.oids) - modelled):
            if name.rpartition(".")[2] not in words:
                continue
            mode = (seen.locks or {}).get(name)
            if mode in locks.BLOCKS_WRITES:
                differences.append(f'"{name}": model no lock, observed {mode}')
            if name in seen.rewrites:
                differences.append(f'"{name}": model no rewrite, observed rewrite')
    return differences


def _finding(
    report: StatementReport, differences: list[str], major: int, severity: Severity, help: str
) -> Finding:
    return Finding(
        rule=LOCK_MODEL_MISMATCH,
        severity=severity,
        path=report.migration.display,
        span=report.statement.span,
        message=f"PostgreSQL {major} disagrees with the lock model "
        f"({report.effect.behaviour}): {'; '.join(differences)}",
        help=help,
    )
