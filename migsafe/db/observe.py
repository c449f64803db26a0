"""Watching one statement run on a real PostgreSQL: the locks it took, whether it rewrote or
scanned a table, how long it ran. The lock model is held against these observations, by
``migsafe trace`` and by the test suite alike, so both use this one implementation.

How each fact is read, and why that way:

- **relations** are snapshotted by OID before the statement (outside its transaction:
  ``pg_relation_size`` takes a lock of its own), so a relation the statement renames or
  drops is still recognised afterwards; names come from the caller (as the statement wrote
  them) where one resolves to the OID, from the catalog otherwise;
- **locks**: the strongest ``pg_locks`` mode this backend holds per relation, read before
  the transaction commits (locks are held until then);
- **rewrite**: the relation's ``relfilenode`` changed;
- **scan**: its sequential-scan counter moved *and* blocks were read — index rebuilds over a
  freshly truncated heap start a scan that reads nothing. A table with no blocks before the
  statement cannot show a scan at all; such tables are listed as not observable rather than
  reported as "not scanned".

Statements PostgreSQL refuses in a transaction block (``CREATE INDEX CONCURRENTLY``,
``VACUUM``, …; SQLSTATE 25001) are run again in autocommit: their locks come and go in
transactions of their own and are reported as not observed; rewrites and scans still are,
scans through the cumulative statistics after forcing this backend to flush them.

psycopg is only imported by the caller (through :func:`migsafe.db.require_psycopg`); this
module works on the connection it is given.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from migsafe import locks

if TYPE_CHECKING:
    from psycopg import Connection

    Conn = Connection[Any]

# SQLSTATE active_sql_transaction: "… cannot run inside a transaction block".
NOT_IN_TRANSACTION = "25001"
# Relation kinds reported without being named: what queries use directly. Indexes follow
# their table and are reported only when the caller names them.
_TABLE_LIKE = frozenset("rpvmfS")


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind
    filenode: int
    has_blocks: bool
    visible: bool  # reachable without its schema (on the search_path)

    @property
    def display(self) -> str:
        return self.name if self.visible else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Observation:
    """What one statement did. Relation names are the caller's where it named them.

    ``locks`` is None when they could not be observed (the statement ran in autocommit);
    ``unobservable_scans`` are relations that were empty, so no scan of them could show.
    ``skipped``: the statement did nothing (IF [NOT] EXISTS), so no prediction applies.
    """

    locks: dict[str, str] | None
    rewrites: tuple[str, ...]
    scans: tuple[str, ...]
    duration_ms: float
    autocommit: bool = False
    unobservable_scans: tuple[str, ...] = ()
    # PostgreSQL said "…, skipping" (IF EXISTS / IF NOT EXISTS found nothing to do).
    skipped: bool = False
    # OIDs of the relations that existed before, by the name used above.
    oids: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "locks": self.locks,
            "rewrites": list(self.rewrites),
            "scans": list(self.scans),
            "duration_ms": round(self.duration_ms, 3),
        }
        if self.autocommit:
            doc["autocommit"] = True
        return doc


def quote_name(name: str) -> str:
    """A relation name as the parser reports it (``schema.rel``, case kept, quotes gone) in
    the quoted form ``to_regclass`` needs to find exactly that relation."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def snapshot(conn: Conn) -> dict[int, Relation]:
    """Every relation outside the system schemas, by OID."""
    rows = conn.execute(
        "SELECT c.oid::int, n.nspname, c.relname, c.relkind::text, c.relfilenode::int,"
        " c.relkind IN ('r', 'm', 'i', 't') AND pg_relation_size(c.oid) > 0,"
        " pg_table_is_visible(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
    ).fetchall()
    return {int(r[0]): Relation(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows}


def resolve(conn: Conn, names: Mapping[str, str]) -> dict[str, int]:
    """name -> OID for each name whose SQL form (``names[name]``) names an existing relation."""
    if not names:
        return {}
    keys = list(names)
    rows = conn.execute(
        "SELECT i::int, to_regclass(n)::oid::int FROM unnest(%s::text[]) WITH ORDINALITY u(n, i)",
        [[names[k] for k in keys]],
    ).fetchall()
    return {keys[int(i) - 1]: int(oid) for i, oid in rows if oid is not None}


def held_locks(conn: Conn, pid: int, oids: Iterable[int]) -> dict[int, str]:
    """The strongest relation lock ``pid`` holds or waits for on each of ``oids``."""
    held: dict[int, str] = {}
    for oid, mode in conn.execute(
        "SELECT relation::int, mode FROM pg_locks WHERE pid = %s"
        " AND locktype = 'relation' AND relation = ANY(%s)",
        [pid, list(oids)],
    ).fetchall():
        if mode in locks.STRENGTH:  # relation lock modes only; not e.g. SIReadLock
            held[int(oid)] = locks.stronger(held.get(int(oid)), mode) or mode
    return held


def filenodes(conn: Conn, oids: Iterable[int]) -> dict[int, int]:
    rows = conn.execute(
        "SELECT oid::int, relfilenode::int FROM pg_class WHERE oid = ANY(%s)", [list(oids)]
    ).fetchall()
    return {int(o): int(f) for o, f in rows}


Counters = dict[int, tuple[int, int]]


def xact_scans(conn: Conn, oids: Iterable[int]) -> Counters:
    """(sequential scans, blocks fetched) not yet flushed to the cumulative statistics: read
    twice inside one transaction, their difference is what happened in between."""
    rows = conn.execute(
        "SELECT o::int, pg_stat_get_xact_numscans(o), pg_stat_get_xact_blocks_fetched(o)"
        " FROM unnest(%s::oid[]) o",
        [list(oids)],
    ).fetchall()
    return {int(o): (int(n), int(b)) for o, n, b in rows}


def flushed_scans(conn: Conn, oids: Iterable[int]) -> Counters:
    """The same counters from the cumulative statistics, for statements outside a
    transaction (after :func:`flush_stats` on the connection that ran them)."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = conn.execute(
        "SELECT o::int, pg_stat_get_numscans(o), pg_stat_get_blocks_fetched(o)"
        " FROM unnest(%s::oid[]) o",
        [list(oids)],
    ).fetchall()
    return {int(o): (int(n), int(b)) for o, n, b in rows}


def scanned(before: tuple[int, int], after: tuple[int, int]) -> bool:
    """A sequential scan started and read at least one block."""
    return after[0] > before[0] and after[1] > before[1]


def flush_stats(conn: Conn, version: int) -> None:
    """Make this backend's pending table statistics visible. From PostgreSQL 15 a forced flush
    happens as soon as the backend goes idle after ``pg_stat_force_next_flush()``; before,
    the statistics collector is asynchronous and only time helps."""
    if version >= 15:
        conn.execute("SELECT pg_stat_force_next_flush()")
    else:
        time.sleep(0.7)


def observe(
    conn: Conn, statement: str, names: Mapping[str, str] | None = None, *, version: int
) -> Observation:
    """Run ``statement`` on ``conn`` (an autocommit connection, idle) and commit it.

    ``names`` maps the names the statement is known to use (as its author wrote them) to
    their SQL form; relations found through them are reported under those names, indexes
    included. Raises the driver's error if the statement fails; its transaction is rolled
    back first.
    """
    before = snapshot(conn)
    named = {oid: name for name, oid in resolve(conn, names or {}).items() if oid in before}
    notices: list[str] = []

    def notice(diag: Any) -> None:
        notices.append(diag.message_primary or "")

    conn.add_notice_handler(notice)
    try:
        conn.execute("BEGIN")
        try:
            counters = xact_scans(conn, before)
            start = time.perf_counter()
            conn.execute(statement)
            duration = time.perf_counter() - start
            held = held_locks(conn, conn.info.backend_pid, before)
            nodes = filenodes(conn, before)
            counters_after = xact_scans(conn, before)
        except Exception as exc:
            conn.execute("ROLLBACK")
            if getattr(exc, "sqlstate", None) != NOT_IN_TRANSACTION:
                raise
            seen = _observe_autocommit(conn, statement, before, named, version)
        else:
            conn.execute("COMMIT")
            seen = _observation(
                before, named, held, nodes, counters, counters_after, duration, False
            )
    finally:
        conn.remove_notice_handler(notice)
    skipped = any(n.endswith(", skipping") for n in notices)
    return replace(seen, skipped=True) if skipped else seen


def _observe_autocommit(
    conn: Conn,
    statement: str,
    before: dict[int, Relation],
    named: dict[int, str],
    version: int,
) -> Observation:
    flush_stats(conn, version)
    counters = flushed_scans(conn, before)
    start = time.perf_counter()
    conn.execute(statement)
    duration = time.perf_counter() - start
    flush_stats(conn, version)
    counters_after = flushed_scans(conn, before)
    nodes = filenodes(conn, before)
    return _observation(before, named, None, nodes, counters, counters_after, duration, True)


def _observation(
    before: dict[int, Relation],
    named: dict[int, str],
    held: dict[int, str] | None,
    nodes: dict[int, int],
    counters: Counters,
    counters_after: Counters,
    duration: float,
    autocommit: bool,
) -> Observation:
    def shown(oid: int) -> bool:
        return oid in named or before[oid].kind in _TABLE_LIKE

    def label(oid: int) -> str:
        return named.get(oid) or before[oid].display

    reported = [oid for oid in before if shown(oid)]
    return Observation(
        locks=None if held is None else {label(oid): held[oid] for oid in reported if oid in held},
        rewrites=tuple(label(o) for o in reported if o in nodes and nodes[o] != before[o].filenode),
        scans=tuple(
            label(o)
            for o in reported
            if o in counters and o in counters_after and scanned(counters[o], counters_after[o])
        ),
        duration_ms=duration * 1000,
        autocommit=autocommit,
        unobservable_scans=tuple(
            label(o) for o in reported if before[o].kind in "rm" and not before[o].has_blocks
        ),
        oids={label(oid): oid for oid in reported},
    )
