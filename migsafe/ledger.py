"""The release ledger: which releases were deployed to a database, in the database itself.

A rollback job inside the cluster has the database URL and little else, so everything the
gate and rollback need about past releases lives next to the data they protect, in one
table (``migsafe_releases`` in ``public`` unless ``ledger-schema`` / ``ledger-table`` say
otherwise)::

    release         text PRIMARY KEY     -- "2.0.0"
    seq             bigint UNIQUE        -- ledger order: when the release was last deployed
    status          text                 -- deploying | live | rolled_back
    previous        text                 -- the release current when this one was recorded
    last_migration  text                 -- the release's last migration id, if known
    contract        jsonb                -- its contract (migsafe.contracts format)
    recorded_at     timestamptz
    updated_at      timestamptz

Recording creates the schema and table on first use. Every write takes a transaction-level
advisory lock first, so two deploys recording at once queue instead of racing on ``CREATE
TABLE IF NOT EXISTS`` (which is not safe against itself) or on who is whose ``previous``;
recording the same release again updates it (``INSERT … ON CONFLICT``) and, unless it is
the release running now, moves it to the end of the order with the running release as its
``previous``: redeployed after a hotfix, it runs beside the hotfix, not beside what it
replaced the first time. Readers
never create anything: a database without the table has an empty ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from migsafe.contracts import Contract, ContractError, from_json

if TYPE_CHECKING:
    from migsafe.config import Config

DEFAULT_SCHEMA = "public"
DEFAULT_TABLE = "migsafe_releases"
DEPLOYING, LIVE, ROLLED_BACK = "deploying", "live", "rolled_back"
STATUSES = (DEPLOYING, LIVE, ROLLED_BACK)


class LedgerError(Exception):
    """The ledger cannot be read or written, or does not hold what was asked for."""


@dataclass(frozen=True)
class Location:
    """Where the ledger table lives."""

    schema: str = DEFAULT_SCHEMA
    table: str = DEFAULT_TABLE

    @classmethod
    def of(cls, cfg: Config) -> Location:
        return cls(cfg.ledger_schema, cfg.ledger_table)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class Entry:
    release: str
    seq: int
    status: str
    previous: str | None
    last_migration: str | None
    recorded_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "release": self.release,
            "status": self.status,
            "previous": self.previous,
            "last_migration": self.last_migration,
            "recorded_at": self.recorded_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def without_ledger(contract: Contract, where: Location) -> Contract:
    """``contract`` without the ledger table, which a contract captured from a live database
    lists though no application uses it."""
    from dataclasses import replace

    from migsafe.ops import bare

    key = bare(f"{where.schema}.{where.table}")
    if key not in contract.tables:
        return contract
    return replace(contract, tables={k: v for k, v in contract.tables.items() if k != key})


def _ident(where: Location) -> Any:
    from psycopg import sql

    return sql.Identifier(where.schema, where.table)


def _lock(conn: Any, where: Location) -> None:
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"migsafe.ledger:{where}",)
    )


def _create(conn: Any, where: Location) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(where.schema)))
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " release text PRIMARY KEY,"
            " seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,"
            " status text NOT NULL CHECK (status IN ('deploying', 'live', 'rolled_back')),"
            " previous text,"
            " last_migration text,"
            " contract jsonb NOT NULL,"
            " recorded_at timestamptz NOT NULL DEFAULT now(),"
            " updated_at timestamptz NOT NULL DEFAULT now())"
        ).format(_ident(where))
    )


def _exists(conn: Any, where: Location) -> bool:
    from psycopg import sql

    name = sql.Identifier(where.schema, where.table).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


# Listing leaves the contracts out: each can hold thousands of columns, and only
# contract_of needs one.
_COLUMNS = "release, seq, status, previous, last_migration, recorded_at, updated_at"


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(*row)


@contextmanager
def _writing(conn: Any, where: Location) -> Iterator[None]:
    with conn.transaction():
        _lock(conn, where)
        _create(conn, where)
        yield


def record(
    conn: Any,
    where: Location,
    release: str,
    contract: Contract,
    *,
    last_migration: str | None = None,
    status: str = DEPLOYING,
) -> Entry:
    """Record ``release``. ``previous`` is the release current at the time: the one that
    runs beside this release while it rolls out. Recording a release already there updates
    its contract, last migration and status; unless it is the current release (a status
    change of the running release), it is a redeploy, so it also moves to the end of the
    ledger with the current release as its ``previous``."""
    from psycopg import sql

    if status not in STATUSES:
        raise LedgerError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    with _writing(conn, where):
        now = current(conn, where)
        redeploy = "previous = EXCLUDED.previous, seq = DEFAULT,"
        if now is None:
            previous = None
        elif now.release == release:
            previous, redeploy = now.previous, ""
        else:
            previous = now.release
        row = conn.execute(
            sql.SQL(
                "INSERT INTO {t} (release, status, previous, last_migration, contract)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (release) DO UPDATE SET status = EXCLUDED.status,"
                + redeploy
                + " last_migration = COALESCE(EXCLUDED.last_migration, {t}.last_migration),"
                " contract = EXCLUDED.contract, updated_at = now()"
                " RETURNING " + _COLUMNS
            ).format(t=_ident(where)),
            (
                release,
                status,
                previous,
                last_migration,
                json.dumps(without_ledger(contract, where).to_json()),
            ),
        ).fetchone()
    return _entry(row)


def mark(conn: Any, where: Location, release: str, status: str) -> Entry:
    """Set ``release``'s status; an unknown release is a :class:`LedgerError`."""
    from psycopg import sql

    if status not in STATUSES:
        raise LedgerError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    with _writing(conn, where):
        row = conn.execute(
            sql.SQL(
                "UPDATE {} SET status = %s, updated_at = now() WHERE release = %s"
                " RETURNING " + _COLUMNS
            ).format(_ident(where)),
            (status, release),
        ).fetchone()
    if row is None:
        raise unknown(release, entries(conn, where), where)
    return _entry(row)


def entries(conn: Any, where: Location) -> list[Entry]:
    """Every recorded release in ledger order (last deployed last); empty when the table
    does not exist yet."""
    from psycopg import sql

    if not _exists(conn, where):
        return []
    rows = conn.execute(
        sql.SQL("SELECT " + _COLUMNS + " FROM {} ORDER BY seq").format(_ident(where))
    ).fetchall()
    return [_entry(r) for r in rows]


def current(conn: Any, where: Location) -> Entry | None:
    """The release running now: the last recorded one that was not rolled back."""
    alive = [e for e in entries(conn, where) if e.status != ROLLED_BACK]
    return alive[-1] if alive else None


def unknown(release: str, known: list[Entry], where: Location) -> LedgerError:
    names = ", ".join(e.release for e in known) or "none recorded yet"
    return LedgerError(
        f"release {release} is not in the release ledger {where} (releases: {names}); "
        f"record it with `migsafe deploy record --release {release}`"
    )


def find(conn: Any, where: Location, release: str) -> Entry:
    """``release``'s entry; :class:`LedgerError` naming the known ones when absent."""
    known = entries(conn, where)
    for e in known:
        if e.release == release:
            return e
    raise unknown(release, known, where)


def contract_of(conn: Any, where: Location, release: str) -> tuple[Contract, str | None]:
    """``release``'s contract and the release before it: the one current when it was
    recorded (None for the first release). :class:`LedgerError` when it is not recorded."""
    from psycopg import sql

    row = None
    if _exists(conn, where):
        row = conn.execute(
            sql.SQL("SELECT contract, previous FROM {} WHERE release = %s").format(_ident(where)),
            (release,),
        ).fetchone()
    if row is None:
        raise unknown(release, entries(conn, where), where)
    try:
        return from_json(row[0], f"ledger {where}, release {release}"), row[1]
    except ContractError as exc:
        raise LedgerError(str(exc)) from None
