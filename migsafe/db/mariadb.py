"""``migsafe trace`` on MySQL and MariaDB: the server judges the online-DDL model.

The migrations are linted as ``migsafe lint`` would for the server's own version, then
applied, in order, to a scratch database made on the server the user pointed at. Each
statement the model judges (an ALTER, CREATE INDEX, DROP INDEX) is sent first with
``ALGORITHM=INSTANT``, then ``ALGORITHM=INPLACE, LOCK=NONE``, then the weaker forms: the
server refuses a form it cannot honour before doing any work, so the first it accepts is
both the truth about the statement and the step that applies it. Any clauses the statement
had are left out for that. Where the first accepted form differs from the model, the
statement gets a ``mysql-online-model-mismatch`` finding.

Everything else runs as written, except statements that act beyond the scratch database
(``CREATE``/``DROP DATABASE``, ``USE``, users and grants), which are not run. A failing
statement is reported with the server's message and the run goes on. PyMySQL is imported
only here (the ``mysql`` extra).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from migsafe import install_hint, online, ops
from migsafe.analysis import Analyzer, Result, Settings, StatementReport
from migsafe.db import DatabaseError
from migsafe.findings import Finding
from migsafe.rules import all_rules
from migsafe.rules.mysql import ONLINE_MODEL_MISMATCH
from migsafe.schema import ColumnState, ConstraintState, Schema, Table
from migsafe.sources import Migration

SCHEMES = ("mysql", "mariadb")
# The forms tried, cheapest first; None: no LOCK clause.
ATTEMPTS: tuple[tuple[online.Algorithm, online.Lock | None], ...] = (
    ("INSTANT", None),
    ("INPLACE", "NONE"),
    ("INPLACE", "SHARED"),
    ("INPLACE", "EXCLUSIVE"),
    ("COPY", "SHARED"),
    ("COPY", "EXCLUSIVE"),
)
# Server errors meaning "not with this algorithm or lock": ER_ALTER_OPERATION_NOT_SUPPORTED,
# ..._REASON, ER_NOT_SUPPORTED_YET and the foreign-key variants; anything else is a failure.
_REFUSED = frozenset({1235, 1845, 1846, 1847})
_OUTSIDE = re.compile(
    r"^\s*(?:(?:CREATE|DROP|ALTER)\s+(?:DATABASE|SCHEMA|USER|ROLE|SERVER|TABLESPACE)\b"
    r"|USE\b|GRANT\b|REVOKE\b|SET\s+(?:GLOBAL|PERSIST)\b|SET\s+PASSWORD\b)",
    re.I,
)


@dataclass(frozen=True)
class Observed:
    algorithm: online.Algorithm
    lock: online.Lock

    def as_json(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "lock": self.lock}


@dataclass
class Traced:
    report: StatementReport
    observed: Observed | None = None
    error: str | None = None
    not_run: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"observed": None, "error": self.error}
        if self.not_run is not None:
            return {"observed": None, "not_run": self.not_run}
        return {"observed": self.observed.as_json() if self.observed else None}


@dataclass
class Trace:
    result: Result
    traced: list[Traced]
    server: str  # "mariadb-10.11.19"

    @property
    def failed(self) -> list[Traced]:
        return [t for t in self.traced if t.error is not None]


def require_pymysql() -> Any:
    try:
        import pymysql
    except ImportError:
        raise DatabaseError(
            f"tracing on MySQL/MariaDB needs PyMySQL: {install_hint('mysql')}"
        ) from None
    return pymysql


def connect(url: str, database: str | None = None) -> Any:
    """A connection for ``mysql://user:password@host:port/``; the password is never shown."""
    pymysql = require_pymysql()
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise DatabaseError(
            f"--database-url for MySQL/MariaDB must start with mysql:// or mariadb://, got "
            f"{parts.scheme or 'no scheme'}://"
        )
    where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 3306}"
    try:
        return pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
            autocommit=True,
            connect_timeout=10,
        )
    except pymysql.err.MySQLError as exc:
        raise DatabaseError(
            f"cannot connect to the MySQL/MariaDB server at {where}: {exc.args[-1]}; check "
            "--database-url and that the user may create databases"
        ) from None


def server_of(version: str) -> online.Server:
    """``10.11.19-MariaDB-0+deb12u1`` → mariadb 10.11.19; ``8.0.35`` → mysql 8.0.35."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if m is None:
        raise DatabaseError(f"cannot read the server version {version!r}")
    family = "mariadb" if "mariadb" in version.lower() else "mysql"
    return online.server(f"{family}-{m.group(1)}.{m.group(2)}.{m.group(3)}")


@contextmanager
def scratch(url: str) -> Iterator[tuple[Any, online.Server]]:
    """A cursor in a new database on the server, dropped afterwards, and the server."""
    conn = connect(url)
    name = f"migsafe_trace_{uuid.uuid4().hex[:12]}"
    cur = conn.cursor()
    try:
        cur.execute("SELECT VERSION()")
        srv = server_of(cur.fetchone()[0])
        cur.execute(f"CREATE DATABASE `{name}`")
    except ValueError as exc:
        conn.close()
        raise DatabaseError(str(exc)) from None
    except Exception as exc:
        conn.close()
        raise DatabaseError(f"cannot create a scratch database: {exc}") from None
    try:
        cur.execute(f"USE `{name}`")
        yield cur, srv
    finally:
        try:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


def introspect(url: str) -> Schema:
    """The schema model of the database the URL names (``mysql://user@host/db``): tables
    and their columns, with types read through the same mapping migrations go through, so
    the compatibility check compares like with like."""
    database = unquote(urlsplit(url).path.lstrip("/"))
    if not database:
        raise DatabaseError(
            "the --database-url for MySQL/MariaDB must name the database: mysql://user@host/db"
        )
    conn = connect(url, database)
    try:
        return read_schema(conn.cursor(), database)
    finally:
        conn.close()


_COLUMNS = """
SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""


def read_schema(cur: Any, database: str) -> Schema:
    from migsafe.parse import mysql

    schema = Schema()
    cur.execute(_COLUMNS, (database,))
    for table, column, column_type, nullable, default, extra in cur.fetchall():
        typ = mysql.type_ref(column_type) or ops.TypeRef(column_type.lower())
        extra = (extra or "").lower()
        stated = None if default is None or default == "NULL" else default
        schema.tables.setdefault(table, Table(table)).columns[column] = ColumnState(
            column,
            typ,
            not_null=nullable == "NO",
            default=ops.Default(stated, volatile=False) if stated is not None else None,
            identity="auto_increment" in extra,
            generated="generated" in extra,
        )
    cur.execute(_CHECKS, (database,))
    for table, name, clause in cur.fetchall():
        t = schema.tables.get(table)
        if t is not None:
            t.constraints[name] = ConstraintState(
                name, "check", (), validated=True, expr=clause.replace("`", "")
            )
    return schema


# MariaDB lists CHECK constraints here with their table; a NOT NULL check proves what
# SET NOT NULL will need, as on PostgreSQL.
_CHECKS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %s
"""


def _strip_clauses(sql: str) -> str:
    for c in reversed(online.clauses(sql)):
        sql = sql[: c.start] + sql[c.end :]
    return sql


def with_form(sql: str, algorithm: str, lock: str | None) -> str:
    """The statement asking for one algorithm and lock, its own clauses left out."""
    body = _strip_clauses(sql).rstrip()
    if sql.lstrip().upper().startswith("ALTER"):
        return f"{body}, ALGORITHM={algorithm}" + (f", LOCK={lock}" if lock else "")
    return f"{body} ALGORITHM={algorithm}" + (f" LOCK={lock}" if lock else "")


def _bodies(text: str) -> dict[int, str]:
    """Each statement's text without its delimiter, by start offset in the file."""
    from migsafe.parse import mysql

    return {raw.start: text[raw.start : raw.body_end] for raw in mysql.split(text)}


def trace(migrations: Sequence[Migration], url: str, settings: Settings) -> Trace:
    """Lint the up migrations as the server's dialect and version, then apply and judge
    them there. Raises :class:`DatabaseError` when the server cannot be used at all."""
    pymysql = require_pymysql()
    ups = [m for m in migrations if m.direction == "up"]
    with scratch(url) as (cur, srv):
        settings = Settings(
            select=settings.select,
            ignore=settings.ignore,
            severity=settings.severity,
            dialect=srv.family,
            server_version=str(srv),
        )
        result = Analyzer(settings).run(ups)
        rule = all_rules()[ONLINE_MODEL_MISMATCH]
        severity = settings.severity.get(ONLINE_MODEL_MISMATCH, rule.severity)
        report = (
            settings.select is None or ONLINE_MODEL_MISMATCH in settings.select
        ) and ONLINE_MODEL_MISMATCH not in settings.ignore
        traced: list[Traced] = []
        bodies: dict[str, dict[int, str]] = {}
        for st in result.statements:
            text = st.migration.text
            body = bodies.setdefault(st.migration.display, _bodies(text)).get(
                st.statement.span.start, st.statement.sql
            )
            t = _run(cur, pymysql, st, body)
            traced.append(t)
            if report and severity and t.observed is not None and st.cheapest is not None:
                said = (st.cheapest.algorithm, st.cheapest.lock)
                if said != (t.observed.algorithm, t.observed.lock):
                    result.findings.append(
                        Finding(
                            rule=ONLINE_MODEL_MISMATCH,
                            severity=severity,
                            path=st.migration.display,
                            span=st.statement.span,
                            message=f"{srv} disagrees with the online-DDL model "
                            f"({st.cheapest.behaviour}): model ALGORITHM={said[0]}, "
                            f"LOCK={said[1]}; the server accepted "
                            f"ALGORITHM={t.observed.algorithm}, LOCK={t.observed.lock} first",
                            help=rule.help,
                        )
                    )
    return Trace(result, traced, str(srv))


def _run(cur: Any, pymysql: Any, st: StatementReport, body: str) -> Traced:
    if _OUTSIDE.match(body):
        return Traced(st, not_run="acts beyond the scratch database")
    if st.cheapest is None or st.cheapest.algorithm is None:
        try:
            cur.execute(body)
        except pymysql.err.MySQLError as exc:
            return Traced(st, error=str(exc.args[-1]))
        return Traced(st)
    refused = []
    for algorithm, lock in ATTEMPTS:
        try:
            cur.execute(with_form(body, algorithm, lock))
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in _REFUSED:
                refused.append(str(exc.args[-1]))
                continue
            return Traced(st, error=str(exc.args[-1]))
        return Traced(st, observed=Observed(algorithm, lock or "NONE"))
    return Traced(st, error="the server refused every algorithm: " + "; ".join(refused))


def document(outcome: Trace) -> dict[str, Any]:
    from migsafe.report import json as json_report

    index = {id(r): i for i, r in enumerate(outcome.result.statements)}
    doc = json_report.document(
        outcome.result, {index[id(t.report)]: t.as_json() for t in outcome.traced}
    )
    doc["trace"] = {
        "server": outcome.server,
        "failed": len(outcome.failed),
        "not_run": sum(1 for t in outcome.traced if t.not_run is not None),
    }
    return doc


def render_text(outcome: Trace, texts: dict[tuple[str, bool], str], colour: bool) -> str:
    from migsafe.report import text as text_report

    lines = []
    for t in outcome.traced:
        st = t.report
        head = f"{st.migration.display}:{st.statement.span.line}  {st.statement.kind}"
        if t.error is not None:
            lines.append(f"{head}  FAILED: {t.error}")
        elif t.not_run is not None:
            lines.append(f"{head}  not run: {t.not_run}")
        elif t.observed is not None:
            lines.append(f"{head}  ALGORITHM={t.observed.algorithm}, LOCK={t.observed.lock}")
        else:
            lines.append(f"{head}  ran")
    lines.append("")
    lines.append(text_report.render(outcome.result, texts, colour))
    not_run = sum(1 for t in outcome.traced if t.not_run is not None)
    lines.append(
        f"Traced {len(outcome.traced)} statements on {outcome.server}: "
        f"{len(outcome.failed)} failed, {not_run} not run."
    )
    return "\n".join(lines)
