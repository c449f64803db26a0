"""Every behaviour of the lock model, checked against a real PostgreSQL.

For each behaviour key of :data:`migsafe.locks.MODEL` there is a representative statement
with its setup. The prediction is computed exactly as the linter computes it (parse, replay
the setup into a :class:`~migsafe.schema.Schema`, ``combine(effect(op, version, schema))``)
for the server's major version, and compared with what the server does:

- **locks**: the strongest ``pg_locks`` mode this backend holds (or waits for) on each
  relation the statement names that existed before it;
- **rewrite**: the relation's ``relfilenode`` changed;
- **scan**: its sequential-scan counter moved (``pg_stat_get_xact_numscans`` within the
  transaction; ``pg_stat_get_numscans`` after a forced stats flush for statements that cannot
  run in a transaction). Relations whose scan the model leaves unclaimed (``scan=None``) are
  not compared.

Statements that run in a transaction are observed by :func:`migsafe.db.observe.observe`, as
``migsafe trace`` observes them (each case works in a schema of its own, so committing is
harmless). The others (CONCURRENTLY, VACUUM) run in
autocommit on one connection while blocker connections hold locks that make them wait; a
watcher connection reads ``pg_locks`` for the statement's backend (granted or not) each time
it is blocked, then releases the blocker it waits for, until the statement finishes. Every
relation the statement names is also held in ACCESS SHARE by a blocker of its own, so any
ACCESS EXCLUSIVE request on it, at whatever phase, is seen waiting.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from conftest import Database
from pgfixtures import Conn, Server, connect, temp_tablespace
from psycopg import sql

from migsafe import locks
from migsafe.db import observe
from migsafe.parse.postgres import parse
from migsafe.schema import Schema

pytestmark = pytest.mark.postgres

WAIT_LIMIT = 20.0  # seconds any single concurrent statement may take before it is cancelled

BASE = """
CREATE TABLE t (id int PRIMARY KEY, x int, s varchar(20), v text);
INSERT INTO t SELECT g, g, 'a', 'b' FROM generate_series(1, 5) g;
"""
PARENT = """
CREATE TABLE p (id int PRIMARY KEY);
INSERT INTO p SELECT g FROM generate_series(1, 5) g;
"""
PARTITIONED = """
CREATE TABLE pt (id int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE pt1 (id int NOT NULL);
INSERT INTO pt1 SELECT g FROM generate_series(1, 5) g;
"""
ATTACHED = PARTITIONED + "ALTER TABLE pt ATTACH PARTITION pt1 FOR VALUES FROM (0) TO (10);\n"
TRIGGER = """
CREATE FUNCTION trg_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg_fn();
"""
MATVIEW = """
CREATE MATERIALIZED VIEW mv AS SELECT id, x FROM t;
CREATE UNIQUE INDEX mv_id ON mv (id);
"""


TYPES = """
CREATE TABLE tc (
    c char(5), vb varbit(5), tx text, ts timestamp(3), tz timestamptz(3),
    iv interval(3), tm time(3), ci cidr, vc varchar(5), nu numeric(6, 2)
);
INSERT INTO tc VALUES ('a', B'101', 'x', now(), now(), '1 day', '10:00',
    '10.0.0.0/8', 'v', 1.5);
"""
# (column, new type, changed without a rewrite): each checked against relfilenode.
TYPE_CHANGES = (
    ("c", "text", False),
    ("c", "varchar(10)", False),
    ("c", "char(10)", False),
    ("vb", "varbit(10)", True),
    ("vb", "varbit", True),
    ("vb", "varbit(3)", False),
    ("tx", "varchar", True),
    ("tx", "varchar(10)", False),
    ("ts", "timestamp(6)", True),
    ("ts", "timestamp(1)", False),
    ("tz", "timestamptz", True),
    ("iv", "interval(6)", True),
    ("tm", "time(6)", True),
    ("ci", "inet", True),
    ("vc", "text", True),
    ("nu", "numeric(8, 2)", True),
    ("nu", "numeric(8, 3)", False),
    ("nu", "numeric", True),
)


@dataclass(frozen=True)
class Case:
    behaviour: str
    statement: str
    setup: str = BASE
    # Relations the statement names, if not every existing relation whose name appears in it
    # (the model speaks of the table worked on, the referenced table, the index of an index
    # statement; not, e.g., the index named in CLUSTER ... USING).
    names: tuple[str, ...] | None = None
    # Not allowed in a transaction block: run in autocommit while blockers make it wait.
    concurrent: bool = False
    # For concurrent statements: SQL run in open transactions before the statement, each on
    # its own connection, so that it has something to wait for.
    blockers: tuple[str, ...] = ()
    needs_tablespace: bool = False
    id: str = field(default="")

    @property
    def case_id(self) -> str:
        return self.id or self.behaviour


CASES: tuple[Case, ...] = (
    Case("create_table", "CREATE TABLE n (id int)"),
    Case(
        "create_table.references",
        "CREATE TABLE n (id int, pid int REFERENCES p (id))",
        setup=PARENT,
    ),
    Case(
        "create_table.partition_of",
        "CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (10) TO (20)",
        setup=ATTACHED,
    ),
    Case("drop_table", "DROP TABLE t"),
    Case("rename_table", "ALTER TABLE t RENAME TO t2"),
    Case("truncate", "TRUNCATE t"),
    Case("add_column", "ALTER TABLE t ADD COLUMN y int DEFAULT 1"),
    Case(
        "add_column.not_null_no_default",
        "ALTER TABLE e ADD COLUMN y int NOT NULL",
        # No live rows (or the statement fails), but a page for the check to read.
        setup="CREATE TABLE e (id int); INSERT INTO e VALUES (1), (2); DELETE FROM e;",
    ),
    Case(
        "add_column",
        "ALTER TABLE t ADD COLUMN y timestamptz DEFAULT now()",
        id="add_column[stable default]",
    ),
    Case("add_column.volatile_default", "ALTER TABLE t ADD COLUMN y float8 DEFAULT random()"),
    Case("add_column.identity", "ALTER TABLE t ADD COLUMN y int GENERATED ALWAYS AS IDENTITY"),
    Case("add_column.serial", "ALTER TABLE t ADD COLUMN y serial"),
    Case(
        "add_column.generated_stored",
        "ALTER TABLE t ADD COLUMN y int GENERATED ALWAYS AS (x * 2) STORED",
    ),
    Case("drop_column", "ALTER TABLE t DROP COLUMN x"),
    Case("rename_column", "ALTER TABLE t RENAME COLUMN x TO x2"),
    Case("alter_column_type", "ALTER TABLE t ALTER COLUMN x TYPE bigint"),
    Case("alter_column_type.binary_coercible", "ALTER TABLE t ALTER COLUMN s TYPE varchar(50)"),
    *(
        Case(
            "alter_column_type.binary_coercible" if free else "alter_column_type",
            f"ALTER TABLE tc ALTER COLUMN {column} TYPE {new_type}",
            setup=TYPES,
            id=f"type change[{column} -> {new_type}]",
        )
        for column, new_type, free in TYPE_CHANGES
    ),
    Case(
        "alter_column_type.binary_coercible",
        "ALTER TABLE t ALTER COLUMN s TYPE text",
        id="alter_column_type.binary_coercible[varchar->text]",
    ),
    Case(
        "alter_column_type.binary_coercible",
        "ALTER TABLE t ALTER COLUMN s TYPE varchar",
        id="alter_column_type.binary_coercible[varchar unbounded]",
    ),
    Case(
        "alter_column_type.binary_coercible",
        "ALTER TABLE t ALTER COLUMN n TYPE numeric(12, 2)",
        setup=BASE + "ALTER TABLE t ADD COLUMN n numeric(10, 2) DEFAULT 1;",
        id="alter_column_type.binary_coercible[numeric wider]",
    ),
    Case(
        "alter_column_type",
        "ALTER TABLE t ALTER COLUMN s TYPE varchar(10)",
        id="alter_column_type[varchar shorter]",
    ),
    Case("set_not_null", "ALTER TABLE t ALTER COLUMN x SET NOT NULL"),
    Case(
        "set_not_null.proven_by_check",
        "ALTER TABLE t ALTER COLUMN x SET NOT NULL",
        setup=BASE + "ALTER TABLE t ADD CONSTRAINT x_nn CHECK (x IS NOT NULL);",
    ),
    Case(
        "drop_not_null",
        "ALTER TABLE t ALTER COLUMN x DROP NOT NULL",
        setup=BASE + "ALTER TABLE t ALTER COLUMN x SET NOT NULL;",
    ),
    Case("set_default", "ALTER TABLE t ALTER COLUMN x SET DEFAULT 0"),
    Case(
        "drop_default",
        "ALTER TABLE t ALTER COLUMN x DROP DEFAULT",
        setup=BASE + "ALTER TABLE t ALTER COLUMN x SET DEFAULT 0;",
    ),
    Case("add_constraint.check", "ALTER TABLE t ADD CONSTRAINT ck CHECK (x > 0)"),
    Case(
        "add_constraint.check_not_valid",
        "ALTER TABLE t ADD CONSTRAINT ck CHECK (x > 0) NOT VALID",
    ),
    Case(
        "add_constraint.foreign_key",
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES p (id)",
        setup=BASE + PARENT,
    ),
    Case(
        "add_constraint.foreign_key_not_valid",
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES p (id) NOT VALID",
        setup=BASE + PARENT,
    ),
    Case("add_constraint.unique", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (x)"),
    Case(
        "add_constraint.primary_key",
        "ALTER TABLE k ADD PRIMARY KEY (id)",
        setup="CREATE TABLE k (id int NOT NULL); INSERT INTO k VALUES (1), (2), (3);",
    ),
    Case(
        "add_constraint.using_index",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX ui",
        setup=BASE + "CREATE UNIQUE INDEX ui ON t (x);",
        names=("t",),
    ),
    Case(
        "add_constraint.exclude",
        "ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING btree (x WITH =)",
    ),
    Case(
        "validate_constraint",
        "ALTER TABLE t VALIDATE CONSTRAINT ck",
        setup=BASE + "ALTER TABLE t ADD CONSTRAINT ck CHECK (x > 0) NOT VALID;",
    ),
    Case(
        "validate_constraint",
        "ALTER TABLE t VALIDATE CONSTRAINT fk",
        setup=BASE + PARENT + "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (x) "
        "REFERENCES p (id) NOT VALID;",
        id="validate_constraint[foreign_key]",
    ),
    Case(
        "drop_constraint",
        "ALTER TABLE t DROP CONSTRAINT ck",
        setup=BASE + "ALTER TABLE t ADD CONSTRAINT ck CHECK (x > 0);",
    ),
    Case(
        "drop_constraint.foreign_key",
        "ALTER TABLE t DROP CONSTRAINT fk",
        setup=BASE + PARENT + "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES p (id);",
        names=("t", "p"),
    ),
    Case(
        "drop_constraint.foreign_key",
        "ALTER TABLE t DROP CONSTRAINT t_x_fkey",
        setup=PARENT + BASE.replace("x int,", "x int REFERENCES p (id),"),
        names=("t", "p"),
        id="drop_constraint.foreign_key[default name]",
    ),
    Case("create_index", "CREATE INDEX i ON t (x)"),
    Case("create_index.only", "CREATE INDEX pti ON ONLY pt (id)", setup=ATTACHED),
    Case("alter_table.other", "ALTER TABLE t SET ACCESS METHOD heap"),
    Case(
        "alter_table.EnableReplicaTrig",
        "ALTER TABLE t ENABLE REPLICA TRIGGER trg",
        setup=BASE + TRIGGER,
    ),
    Case(
        "alter_table.EnableAlwaysTrig",
        "ALTER TABLE t ENABLE ALWAYS TRIGGER trg",
        setup=BASE + TRIGGER,
    ),
    Case(
        "alter_table.AddInherit", "ALTER TABLE c INHERIT t", setup=BASE + "CREATE TABLE c (LIKE t);"
    ),
    Case(
        "alter_table.DropInherit",
        "ALTER TABLE c NO INHERIT t",
        setup=BASE + "CREATE TABLE c (x int) INHERITS (t);",
    ),
    Case(
        "alter_index.other",
        "ALTER INDEX t_x SET TABLESPACE pg_default",
        setup=BASE + "CREATE INDEX t_x ON t (x);",
    ),
    Case(
        "alter_index.SetRelOptions",
        "ALTER INDEX t_x SET (fillfactor = 50)",
        setup=BASE + "CREATE INDEX t_x ON t (x);",
    ),
    Case(
        "alter_index.ResetRelOptions",
        "ALTER INDEX t_x RESET (fillfactor)",
        setup=BASE + "CREATE INDEX t_x ON t (x);",
    ),
    Case(
        "create_index.concurrently",
        "CREATE INDEX CONCURRENTLY i ON t (x)",
        concurrent=True,
        blockers=("INSERT INTO t VALUES (100, 100, 'w', 'w')",),
    ),
    Case("drop_index", "DROP INDEX i", setup=BASE + "CREATE INDEX i ON t (x);"),
    Case(
        "drop_index.concurrently",
        "DROP INDEX CONCURRENTLY i",
        setup=BASE + "CREATE INDEX i ON t (x);",
        concurrent=True,
        blockers=("LOCK TABLE t IN ACCESS SHARE MODE",),
    ),
    Case("reindex.index", "REINDEX INDEX i", setup=BASE + "CREATE INDEX i ON t (x);"),
    Case("reindex.table", "REINDEX TABLE t"),
    Case(
        "reindex.concurrently",
        "REINDEX TABLE CONCURRENTLY t",
        concurrent=True,
        blockers=("INSERT INTO t VALUES (100, 100, 'w', 'w')",),
    ),
    Case(
        "reindex.index_concurrently",
        "REINDEX INDEX CONCURRENTLY i",
        setup=BASE + "CREATE INDEX i ON t (x);",
        concurrent=True,
        blockers=("INSERT INTO t VALUES (100, 100, 'w', 'w')",),
    ),
    Case("rename_index", "ALTER INDEX i RENAME TO i2", setup=BASE + "CREATE INDEX i ON t (x);"),
    Case("set_storage_params", "ALTER TABLE t SET (fillfactor = 70)"),
    Case("set_logged", "ALTER TABLE t SET UNLOGGED"),
    Case(
        "set_logged",
        "ALTER TABLE t SET LOGGED",
        setup=BASE + "ALTER TABLE t SET UNLOGGED;",
        id="set_logged[logged]",
    ),
    Case("set_tablespace", "ALTER TABLE t SET TABLESPACE {tablespace}", needs_tablespace=True),
    Case(
        "cluster",
        "CLUSTER t USING i",
        setup=BASE + "CREATE INDEX i ON t (x);",
        names=("t",),
    ),
    Case(
        "vacuum",
        "VACUUM t",
        concurrent=True,
        blockers=("LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE",),
    ),
    Case("vacuum.full", "VACUUM FULL t", concurrent=True),
    Case(
        "attach_partition",
        "ALTER TABLE pt ATTACH PARTITION pt1 FOR VALUES FROM (0) TO (10)",
        setup=PARTITIONED,
    ),
    Case("detach_partition", "ALTER TABLE pt DETACH PARTITION pt1", setup=ATTACHED),
    Case(
        "detach_partition.concurrently",
        "ALTER TABLE pt DETACH PARTITION pt1 CONCURRENTLY",
        setup=ATTACHED,
        concurrent=True,  # the ACCESS SHARE holders on pt and pt1 are what it waits for
    ),
    Case(
        "create_trigger",
        "CREATE TRIGGER trg2 BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg_fn()",
        setup=BASE + TRIGGER,
    ),
    Case("create_policy", "CREATE POLICY pol ON t USING (true)"),
    Case("refresh_materialized_view", "REFRESH MATERIALIZED VIEW mv", setup=BASE + MATVIEW),
    Case(
        "refresh_materialized_view.concurrently",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        setup=BASE + MATVIEW,
    ),
    Case("comment", "COMMENT ON TABLE t IS 'hello'"),
    Case("comment", "COMMENT ON COLUMN t.x IS 'hello'", id="comment[column]"),
    Case("lock_table", "LOCK TABLE t IN SHARE MODE"),
    Case("insert", "INSERT INTO t VALUES (100, 1, 'a', 'b')"),
    Case("insert.from_query", "INSERT INTO t SELECT id + 100, x, s, v FROM t"),
    Case("update", "UPDATE t SET x = x + 1"),
    Case("update.where", "UPDATE t SET x = 0 WHERE id = 1"),
    Case("delete", "DELETE FROM t"),
    Case("delete.where", "DELETE FROM t WHERE id = 1"),
    Case(
        "drop_object.relation",
        "DROP VIEW vw",
        setup=BASE + "CREATE VIEW vw AS SELECT id, x FROM t;",
    ),
    Case("drop_object.trigger", "DROP TRIGGER trg ON t", setup=BASE + TRIGGER),
    Case(
        "drop_object.policy",
        "DROP POLICY pol ON t",
        setup=BASE + "CREATE POLICY pol ON t USING (true);",
    ),
    Case("alter_table.EnableTrig", "ALTER TABLE t ENABLE TRIGGER trg", setup=BASE + TRIGGER),
    Case("alter_table.DisableTrig", "ALTER TABLE t DISABLE TRIGGER trg", setup=BASE + TRIGGER),
    Case("alter_table.EnableTrigAll", "ALTER TABLE t ENABLE TRIGGER ALL", setup=BASE + TRIGGER),
    Case("alter_table.DisableTrigAll", "ALTER TABLE t DISABLE TRIGGER ALL", setup=BASE + TRIGGER),
    Case("alter_table.EnableTrigUser", "ALTER TABLE t ENABLE TRIGGER USER", setup=BASE + TRIGGER),
    Case("alter_table.DisableTrigUser", "ALTER TABLE t DISABLE TRIGGER USER", setup=BASE + TRIGGER),
    Case("alter_table.EnableRowSecurity", "ALTER TABLE t ENABLE ROW LEVEL SECURITY"),
    Case("alter_table.DisableRowSecurity", "ALTER TABLE t DISABLE ROW LEVEL SECURITY"),
    Case("alter_table.ForceRowSecurity", "ALTER TABLE t FORCE ROW LEVEL SECURITY"),
    Case("alter_table.ChangeOwner", "ALTER TABLE t OWNER TO CURRENT_USER"),
    Case("alter_table.SetStatistics", "ALTER TABLE t ALTER COLUMN x SET STATISTICS 200"),
    Case("alter_table.SetStorage", "ALTER TABLE t ALTER COLUMN v SET STORAGE EXTERNAL"),
    Case("alter_table.ClusterOn", "ALTER TABLE t CLUSTER ON t_pkey", names=("t",)),
    Case(
        "alter_table.DropCluster",
        "ALTER TABLE t SET WITHOUT CLUSTER",
        setup=BASE + "ALTER TABLE t CLUSTER ON t_pkey;",
    ),
    Case("alter_table.ReplicaIdentity", "ALTER TABLE t REPLICA IDENTITY FULL"),
    Case(
        "alter_table.AddIdentity",
        "ALTER TABLE t ALTER COLUMN x ADD GENERATED ALWAYS AS IDENTITY",
        setup=BASE + "ALTER TABLE t ALTER COLUMN x SET NOT NULL;",
    ),
    Case(
        "alter_table.DropIdentity",
        "ALTER TABLE t ALTER COLUMN y DROP IDENTITY",
        setup=BASE + "ALTER TABLE t ADD COLUMN y int GENERATED ALWAYS AS IDENTITY;",
    ),
    Case("alter_table.SetOptions", "ALTER TABLE t ALTER COLUMN x SET (n_distinct = 10)"),
    Case(
        "rename_constraint",
        "ALTER TABLE t RENAME CONSTRAINT ck TO ck2",
        setup=BASE + "ALTER TABLE t ADD CONSTRAINT ck CHECK (x > 0);",
    ),
    Case(
        "alter_table.RenameView",
        "ALTER VIEW vw RENAME TO vw2",
        setup=BASE + "CREATE VIEW vw AS SELECT id, x FROM t;",
    ),
    Case(
        "alter_table.RenameSequence",
        "ALTER SEQUENCE sq RENAME TO sq2",
        setup="CREATE SEQUENCE sq;",
    ),
)


# -- the prediction ---------------------------------------------------------------------------


def setup_schema(setup: str) -> Schema:
    schema = Schema()
    for stmt in parse(setup):
        for op in stmt.ops:
            schema.apply(op)
    return schema


def predict(case: Case, version: int, statement: str) -> locks.Effect:
    schema = setup_schema(case.setup)
    [stmt] = parse(statement)
    return locks.combine([locks.effect(op, version, schema) for op in stmt.ops])


def test_every_behaviour_has_a_case() -> None:
    missing = set(locks.MODEL) - {c.behaviour for c in CASES}
    unknown = {c.behaviour for c in CASES} - set(locks.MODEL)
    assert not missing, f"MODEL behaviours without a representative case: {sorted(missing)}"
    assert not unknown, f"cases for behaviours MODEL does not have: {sorted(unknown)}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_case_exercises_its_behaviour(case: Case) -> None:
    """The statement really is classified as the behaviour it stands for (no server needed)."""
    effect = predict(case, locks.DEFAULT_VERSION, case.statement.format(tablespace="ts"))
    assert case.behaviour in effect.behaviour.split("+"), effect.behaviour


# -- the observation ---------------------------------------------------------------------------
# Reading locks, relfilenodes and scan counters is the library's (migsafe.db.observe), shared
# with `migsafe trace`; what stays here is choosing the relations and the blocker technique.


@dataclass
class Observation:
    locks: dict[str, str]
    rewrites: set[str]
    scans: set[str]


def named_relations(conn: Conn, case: Case, schema_name: str) -> dict[str, int]:
    """name -> OID for each relation the statement names that exists before it runs."""
    rows = conn.execute(
        "SELECT c.relname, c.oid::int FROM pg_class c WHERE c.relnamespace = %s::regnamespace",
        [schema_name],
    ).fetchall()
    existing = {str(name): int(oid) for name, oid in rows}
    if case.names is not None:
        missing = set(case.names) - set(existing)
        assert not missing, f"case names relations its setup does not create: {missing}"
        return {n: existing[n] for n in case.names}
    words = set(re.findall(r"[a-z_][a-z0-9_]*", case.statement.lower()))
    return {n: oid for n, oid in existing.items() if n in words}


def observe_in_transaction(
    dsn: str, case: Case, statement: str, schema: str, version: int
) -> Observation:
    """The statement observed by the library (in a transaction, committed: the case's schema
    is its own), restricted to the relations it names."""
    with connect(dsn, autocommit=True) as conn:
        _bounded(conn)
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        names = named_relations(conn, case, schema)
        seen = observe.observe(
            conn, statement, {n: observe.quote_name(n) for n in names}, version=version
        )
    assert not seen.autocommit and seen.locks is not None
    return Observation(
        locks={n: m for n, m in seen.locks.items() if n in names},
        rewrites={n for n in seen.rewrites if n in names},
        scans={n for n in seen.scans if n in names},
    )


def _bounded(conn: Conn) -> None:
    """Nothing a test runs may wait forever (e.g. behind someone else's lock)."""
    conn.execute("SET statement_timeout = '30s'")
    conn.execute("SET lock_timeout = '15s'")


def run_setup(dsn: str, schema: str, setup: str, version: int) -> None:
    with connect(dsn, autocommit=True) as conn:
        _bounded(conn)
        conn.execute(
            sql.SQL("CREATE SCHEMA {0}; SET search_path = {0}").format(sql.Identifier(schema))
        )
        conn.execute("BEGIN")
        conn.execute(setup)
        conn.execute("COMMIT")
        observe.flush_stats(
            conn, version
        )  # the setup's own scans must not count as the statement's


LOCKABLE_KINDS = ("r", "p", "v", "m", "f")  # relations LOCK TABLE accepts


@contextlib.contextmanager
def _open_transactions(dsn: str, schema: str, statements: list[str]) -> Iterator[dict[int, Conn]]:
    """Each statement in an open transaction on its own connection, keyed by backend pid."""
    conns: dict[int, Conn] = {}
    try:
        for text in statements:
            conn = connect(dsn, autocommit=True)
            conns[conn.info.backend_pid] = conn
            conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
            _bounded(conn)
            conn.execute("SET idle_in_transaction_session_timeout = '60s'")
            conn.execute("BEGIN")
            conn.execute(text)
        yield conns
    finally:
        for conn in conns.values():
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            conn.close()


def observe_concurrently(
    dsn: str, case: Case, statement: str, schema: str, version: int
) -> Observation:
    with connect(dsn, autocommit=True) as main, connect(dsn, autocommit=True) as watcher:
        main.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        main.execute(f"SET statement_timeout = '{int(WAIT_LIMIT * 1000) + 5000}ms'")
        _bounded(watcher)
        names = named_relations(main, case, schema)
        by_oid = {oid: name for name, oid in names.items()}
        oids = list(by_oid)
        kinds: dict[int, str] = dict(
            watcher.execute(
                "SELECT oid::int, relkind::text FROM pg_class WHERE oid = ANY(%s)", [oids]
            ).fetchall()
        )
        # A blocker of its own in ACCESS SHARE on every named relation LOCK TABLE accepts:
        # any ACCESS EXCLUSIVE request on it, in whatever phase, then waits and is seen.
        holders = [
            f"LOCK TABLE ONLY {sql.Identifier(name).as_string(main)} IN ACCESS SHARE MODE"
            for name, oid in names.items()
            if kinds.get(oid) in LOCKABLE_KINDS
        ]
        files = observe.filenodes(watcher, oids)
        scans = observe.flushed_scans(watcher, oids)
        pid = main.info.backend_pid
        observed: dict[str, str] = {}
        failure: list[BaseException] = []
        with _open_transactions(dsn, schema, [*case.blockers, *holders]) as blockers:

            def run() -> None:
                try:
                    main.execute(statement)
                except BaseException as exc:
                    failure.append(exc)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            deadline = time.monotonic() + WAIT_LIMIT
            waits = 0
            while thread.is_alive():
                if time.monotonic() > deadline:
                    watcher.execute("SELECT pg_cancel_backend(%s)", [pid])
                    thread.join(10)
                    pytest.fail(f"{statement!r} still running after {WAIT_LIMIT}s; cancelled")
                blocking = watcher.execute("SELECT pg_blocking_pids(%s)", [pid]).fetchone()
                ours = [b for b in (blocking[0] if blocking else None) or () if b in blockers]
                if not ours:
                    time.sleep(0.005)
                    continue
                waits += 1
                for oid, mode in observe.held_locks(watcher, pid, oids).items():
                    name = by_oid[oid]
                    observed[name] = locks.stronger(observed.get(name), mode) or mode
                released = blockers.pop(ours[0])
                released.execute("ROLLBACK")
                released.close()
            thread.join()
        if failure:
            raise failure[0]
        assert waits, f"{statement!r} never waited for a blocker: nothing was observed"
        observe.flush_stats(main, version)
        files_after = observe.filenodes(watcher, oids)
        scans_after = observe.flushed_scans(watcher, oids)
    return Observation(
        locks=observed,
        rewrites={by_oid[o] for o in oids if o in files_after and files_after[o] != files[o]},
        scans={by_oid[o] for o in oids if observe.scanned(scans[o], scans_after[o])},
    )


# -- the comparison ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tablespace(any_pg_server: Server) -> Iterator[str | None]:
    with temp_tablespace(any_pg_server) as name:
        yield name


@pytest.fixture(scope="module")
def lock_db(tablespace: str | None, any_pg_database: Database) -> Database:
    # Requested after ``tablespace`` so that the database is dropped before it.
    return any_pg_database


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_model_matches_server(case: Case, lock_db: Database, tablespace: str | None) -> None:
    version = lock_db.server.major
    if not locks.available(case.behaviour, version):
        pytest.skip(f"{case.behaviour} exists from PostgreSQL {locks.MODEL[case.behaviour][0][0]}")
    statement = case.statement
    if case.needs_tablespace:
        if tablespace is None:
            pytest.skip(
                "no tablespace: the server is not local, its data directory is unknown, or "
                "this user can neither create a directory it owns nor chown one to it"
            )
        statement = statement.format(tablespace=tablespace)
    predicted = predict(case, version, statement)
    assert case.behaviour in predicted.behaviour.split("+")
    schema = f"c_{uuid.uuid4().hex[:12]}"
    run_setup(lock_db.dsn, schema, case.setup, version)
    if case.concurrent:
        seen = observe_concurrently(lock_db.dsn, case, statement, schema, version)
    else:
        seen = observe_in_transaction(lock_db.dsn, case, statement, schema, version)
    unclaimed = set(predicted.unclaimed_scans)
    expected = {
        "locks": predicted.locks,
        "rewrites": sorted(predicted.rewrites),
        "scans": sorted(set(predicted.scans) - unclaimed),
    }
    actual = {
        "locks": seen.locks,
        "rewrites": sorted(seen.rewrites),
        "scans": sorted(seen.scans - unclaimed),
    }
    assert actual == expected, f"PostgreSQL {version}: {statement}"
