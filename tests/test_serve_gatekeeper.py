"""The parts of ``migsafe serve`` below HTTP, on a real PostgreSQL: the catalog digest that
keys the cache, the cache's lifetime, single-flight sharing, and Flagger's payload."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from migsafe import ledger
from migsafe.config import Config
from migsafe.contracts import from_database
from migsafe.db.ephemeral import Server, scratch_on
from migsafe.serve import flagger
from migsafe.serve.digest import catalog_digest
from migsafe.serve.gatekeeper import Answer, Gatekeeper, Late, SingleFlight


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dsn(pg_default_server_info: Server) -> Iterator[str]:
    with scratch_on(pg_default_server_info, "migsafe_gatekeeper") as fresh:
        with psycopg.connect(fresh, autocommit=True) as conn:
            conn.execute("CREATE TYPE mood AS ENUM ('ok', 'sad')")
            conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, m mood)")
            ledger.record(conn, ledger.Location(), "1.0.0", from_database(fresh, "1.0.0"))
            conn.execute("ALTER TABLE users ADD COLUMN display_name text")
            ledger.record(conn, ledger.Location(), "2.0.0", from_database(fresh, "2.0.0"))
        yield fresh


@pytest.mark.postgres
def test_the_digest_changes_with_ddl_and_not_with_data_or_statistics(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        seen = [catalog_digest(conn)]
        for harmless in (
            "INSERT INTO users (id, name) SELECT g, 'n' FROM generate_series(1, 500) g",
            "VACUUM ANALYZE users",
            "ALTER TABLE users ALTER COLUMN name SET STATISTICS 500",
        ):
            conn.execute(harmless)
            assert catalog_digest(conn) == seen[0], harmless
        for change in (
            "ALTER TABLE users RENAME COLUMN display_name TO shown_name",
            "ALTER TABLE users ALTER COLUMN shown_name SET DEFAULT 'x'",
            "ALTER TABLE users ALTER COLUMN name DROP NOT NULL",
            "ALTER TABLE users ALTER COLUMN shown_name TYPE varchar(40)",
            "ALTER TYPE mood ADD VALUE 'glad'",
            "ALTER TABLE users ADD CONSTRAINT named CHECK (id > 0) NOT VALID",
            "ALTER TABLE users VALIDATE CONSTRAINT named",
            "CREATE TABLE other (id int)",
            "DROP TABLE users",
            # every table moves out of public, an empty public takes its place
            "ALTER SCHEMA public RENAME TO old_public; CREATE SCHEMA public",
        ):
            conn.execute(change)
            digest = catalog_digest(conn)
            assert digest not in seen, change
            seen.append(digest)


@pytest.mark.postgres
def test_decisions_are_cached_per_schema_state_for_the_ttl(dsn: str) -> None:
    clock = Clock()
    keeper = Gatekeeper(dsn, Config(), ttl=5, clock=clock)
    try:
        first = keeper.decide("2.0.0", None)
        assert (first.decision.decision, first.cached, first.decision.previous) == (
            "pass",
            False,
            "1.0.0",
        )
        assert keeper.decide("2.0.0", None).cached
        assert not keeper.decide("2.0.0", "1.0.0").cached  # another key
        clock.now += 5
        assert not keeper.decide("2.0.0", None).cached  # expired
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ALTER TABLE users RENAME COLUMN display_name TO shown_name")
        broken = keeper.decide("2.0.0", None)
        assert (broken.decision.decision, broken.cached, broken.canary_problems()) == (
            "fail",
            False,
            1,
        )
        # Inconclusive answers are not kept: the contract may be recorded a second later.
        assert not keeper.decide("3.0.0", None).cached
        assert not keeper.decide("3.0.0", None).cached
    finally:
        keeper.close()


@pytest.mark.postgres
def test_a_ttl_of_zero_reads_every_time(dsn: str) -> None:
    keeper = Gatekeeper(dsn, Config(), ttl=0)
    answers = [keeper.decide("2.0.0", None) for _ in range(3)]
    assert [(a.decision.decision, a.cached) for a in answers] == [("pass", False)] * 3
    keeper.close()


def test_an_unreachable_database_is_inconclusive_and_marked_down() -> None:
    keeper = Gatekeeper("postgresql://app:hunter2@127.0.0.1:1/prod", Config())
    answer = keeper.decide("2.0.0", None)
    assert (answer.decision.decision, answer.database_down) == ("inconclusive", True)
    assert "hunter2" not in str(answer.decision.reason)
    uncached = Gatekeeper("postgresql://app:hunter2@127.0.0.1:1/prod", Config(), ttl=0)
    assert uncached.decide("2.0.0", None).database_down


def test_single_flight_returns_results_and_raises_errors_then_forgets() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        return len(calls)

    assert (flight.do("k", work), flight.do("k", work)) == (1, 2)

    def broken() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        flight.do("k", broken)
    assert flight.do("k", work) == 3


# -- Flagger's payload -------------------------------------------------------------------------


def test_flagger_payload_parses_and_names_what_is_wrong() -> None:
    payload = flagger.parse(
        {
            "name": "shop",
            "namespace": "prod",
            "phase": "Progressing",
            "checksum": "85d557f47b",
            "metadata": {"release": " 2.0.0 ", "previous": "", "token": "t"},
        }
    )
    assert (payload.release, payload.previous, payload.token) == ("2.0.0", None, "t")
    for bad, message in (
        ({"name": "shop", "namespace": "prod"}, "metadata.release must be"),
        ({"name": "", "namespace": "prod", "metadata": {"release": "1"}}, "name must be"),
        ({"name": "shop", "metadata": {"release": "1"}}, "namespace must be"),
        ({"name": "s", "namespace": "p", "metadata": ["release"]}, "object of strings"),
        ("text", "JSON object"),
    ):
        with pytest.raises(flagger.PayloadError, match=message):
            flagger.parse(bad)


def test_flagger_payload_ignores_fields_migsafe_does_not_read() -> None:
    """A checksum that is not a string, or a field Flagger adds later, is no reason to
    refuse the hook: migsafe never reads them."""
    payload = flagger.parse(
        {
            "name": "shop",
            "namespace": "prod",
            "phase": ["Progressing"],
            "checksum": 123,
            "labels": {"app": "shop"},
            "metadata": {"release": "2.0.0"},
        }
    )
    assert (payload.name, payload.release, payload.previous) == ("shop", "2.0.0", None)


def test_every_hook_has_a_verdict_for_every_decision() -> None:
    from migsafe.gate import Decision, ReleaseProblem

    canary = ReleaseProblem("missing-column", ("column", "users", "x"), "x", "nothing", None, "2")
    old = ReleaseProblem("missing-table", ("table", "legacy"), "legacy", "nothing", None, "1")

    def answer(decision: str, *problems: ReleaseProblem) -> Answer:
        return Answer(Decision(decision, "2", "1", problems, None))

    cases = {
        "pass": answer("pass"),
        "fail-canary": answer("fail", canary),
        "fail-previous": answer("fail", old),
        "inconclusive": answer("inconclusive"),
    }
    for hook in flagger.GATING:
        assert {k: flagger.verdict(hook, a)[0] for k, a in cases.items()} == {
            "pass": 200,
            "fail-canary": 409,
            "fail-previous": 409,
            "inconclusive": 409,
        }
    assert {k: flagger.verdict("rollback", a)[0] for k, a in cases.items()} == {
        "pass": 409,
        "fail-canary": 200,
        "fail-previous": 409,
        "inconclusive": 409,
    }


class BlackHole:
    """A TCP proxy to PostgreSQL that, while ``swallow`` is set, keeps every connection
    open and acknowledged but passes no byte either way: a network black hole, where no
    error ever comes."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket

        self.target = target
        self.swallow = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: Any, b: Any) -> None:
        import socket

        try:
            while data := a.recv(65536):
                if not self.swallow.is_set():
                    b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


def finishes(fn: Callable[[], Answer], within: float = 60.0) -> Answer:
    """``fn()`` in a thread; a call still blocked after ``within`` seconds fails the test
    (a liveness bound, far above any deadline here — not a timing assertion)."""
    box: list[Answer] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(within)
    assert box, f"the gatekeeper was still blocked after {within:g} s"
    return box[0]


@pytest.mark.postgres
def test_a_black_holed_database_costs_a_deadline_not_the_server(dsn: str) -> None:
    """While the network swallows everything, answers are inconclusive (database down)
    instead of never coming; once it passes bytes again, the gatekeeper drops the stuck
    connection and answers from the database again."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    hole = BlackHole((str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))))
    through = psycopg.conninfo.make_conninfo(dsn, host="127.0.0.1", port=hole.port)
    keeper = Gatekeeper(through, Config(), ttl=0.5, deadline=2.0)
    try:
        assert keeper.decide("2.0.0", None).decision.decision == "pass"
        hole.swallow.set()
        for _ in range(2):
            stuck = finishes(lambda: keeper.decide("2.0.0", None))
            assert (stuck.decision.decision, stuck.database_down) == ("inconclusive", True)
        hole.swallow.clear()
        answers = [finishes(lambda: keeper.decide("2.0.0", None)) for _ in range(3)]
        assert answers[-1].decision.decision == "pass"
        assert not answers[-1].database_down
    finally:
        keeper.close()
        hole.close()


def test_waiting_on_work_in_flight_is_bounded() -> None:
    flight: SingleFlight[int] = SingleFlight()
    release = threading.Event()
    started = threading.Event()

    def slow() -> int:
        started.set()
        release.wait()
        return 1

    leader = threading.Thread(target=lambda: flight.do("k", slow))
    leader.start()
    started.wait()
    with pytest.raises(Late, match=r"no answer from the database within 0\.1 s"):
        flight.do("k", slow, timeout=0.1)
    release.set()
    leader.join()
