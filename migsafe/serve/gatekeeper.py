"""Gate decisions for a server: many concurrent requests, one database.

The question is about the schema *now*, so every request looks at the live database, but
most need no more than one catalog query: answers are cached per (release, previous,
schema digest) for a few seconds, where the digest (:mod:`.digest`) changes with any DDL.
A canary polled by several analysis runs, or 200 requests at once, costs one digest query
in flight at a time on one kept connection, plus one full read of the schema and the
contracts per release pair and schema state. A schema change gives a new digest and so a
fresh answer at once; the TTL only bounds how long an answer lives in any case (a ledger
entry recorded meanwhile, a change the digest might not cover).

Concurrent requests share work in flight: while one thread asks for the digest or decides
for a key, others asking the same at that moment wait for its result instead of opening
their own connection. So the database sees one digest query and one decision per key at a
time, whatever the load. With a TTL of 0 nothing is cached and every request reads the
schema (still shared between requests in flight).

Nothing waits without bound, so a database that stops answering (a network black hole,
where no error ever comes) costs one deadline, not the server: the kept connection has TCP
keepalives, a TCP user timeout and a server-side statement timeout, and a watchdog cuts its
socket when a digest query outlives the deadline; the connection is then dropped and made
anew on the next call. Requests waiting on another's work in flight give up at the
deadline too.

Blocking calls only: the web layer runs :meth:`Gatekeeper.decide` in a thread pool.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from migsafe.gate import INCONCLUSIVE, Decision, GateError

if TYPE_CHECKING:
    from migsafe.config import Config

T = TypeVar("T")

DEFAULT_TTL = 5.0  # seconds a decision is reused for an unchanged schema
DEFAULT_DEADLINE = 8.0  # seconds one database round may take (the web layer's deadline)
CONNECT_TIMEOUT = 5  # seconds; the web layer's deadline bounds the whole answer anyway


class Late(Exception):
    """Work in flight did not finish within the deadline."""


MAX_ENTRIES = 1024  # release pairs cached at once; the oldest go first past this


@dataclass
class _Call(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Run ``fn`` once for concurrent callers of the same key: the first caller runs it,
    the others wait and get its result (or its exception)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}

    def do(self, key: Hashable, fn: Callable[[], T], timeout: float | None = None) -> T:
        """``fn()``, or the result of the call for ``key`` in flight; a caller that waits
        on another's call gives up with :class:`Late` after ``timeout`` seconds."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if leader:
            try:
                call.value = fn()
            except BaseException as exc:
                call.error = exc
            finally:
                with self._lock:
                    del self._calls[key]
                call.done.set()
        elif not call.done.wait(timeout):
            raise Late(f"no answer from the database within {timeout:g} s")
        if call.error is not None:
            raise call.error
        return call.value  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Answer:
    """A decision and how it was reached: ``database_down`` when the live schema could not
    be read (the web layer answers 503), ``cached`` when it was reused."""

    decision: Decision
    database_down: bool = False
    cached: bool = False

    def canary_problems(self) -> int:
        """Problems that break the release being rolled out itself (not the previous one)."""
        return sum(1 for p in self.decision.problems if p.release == self.decision.release)


Key = tuple[str, "str | None", str]


class Gatekeeper:
    """Decisions for ``dsn``, safe to call from many threads at once."""

    def __init__(
        self,
        dsn: str,
        cfg: Config,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.dsn = dsn
        self.cfg = cfg
        self.ttl = ttl
        self.deadline = deadline
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[Key, tuple[float, Decision]] = {}
        self._flights: SingleFlight[object] = SingleFlight()
        self._conn_lock = threading.Lock()
        self._conn: Any = None

    def decide(self, release: str, previous: str | None) -> Answer:
        """The decision for ``release`` beside ``previous`` (None: from the ledger)."""
        wait = self.deadline
        try:
            digest = self._flights.do("digest", self._digest, wait) if self.ttl > 0 else None
            key: Key = (release, previous, str(digest))
            hit = self._cached(key) if digest is not None else None
            if hit is not None:
                return Answer(hit, cached=True)
            decision = self._flights.do(key, lambda: self._decide(release, previous), wait)
        except (GateError, Late) as exc:
            return Answer(Decision(INCONCLUSIVE, release, previous, (), str(exc)), True)
        assert isinstance(decision, Decision)
        if digest is not None and decision.decision != INCONCLUSIVE:
            self._store(key, decision)
        return Answer(decision)

    def close(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _bounded(self) -> str:
        """``dsn`` with limits on every wait libpq can bound: connecting, a dead peer
        (keepalives, and a TCP user timeout for data never acknowledged), and a query the
        server runs past the deadline. The schema and ledger reads connect with it too."""
        from migsafe.db import require_psycopg

        millis = max(1, int(self.deadline * 1000))
        return str(
            require_psycopg().conninfo.make_conninfo(
                self.dsn,
                connect_timeout=max(2, min(CONNECT_TIMEOUT, math.ceil(self.deadline))),
                keepalives=1,
                keepalives_idle=max(1, int(self.deadline)),
                keepalives_interval=1,
                keepalives_count=3,
                tcp_user_timeout=millis,
                options=f"-c statement_timeout={millis}",
            )
        )

    def _connect(self) -> Any:
        from migsafe.db import require_psycopg

        return require_psycopg().connect(self._bounded(), autocommit=True)

    def _digest(self) -> str:
        """The catalog digest, on a connection kept between calls (one at a time: callers
        come through the single flight); after any error, or a query cut at the deadline
        by the watchdog, the connection is dropped and made anew on the next call."""
        from migsafe.db import DatabaseError, database_problem
        from migsafe.serve.digest import catalog_digest

        with self._conn_lock:
            cut = threading.Event()
            watchdog: threading.Timer | None = None
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                watchdog = threading.Timer(self.deadline, _sever, (self._conn, cut))
                watchdog.daemon = True
                watchdog.start()
                return catalog_digest(self._conn)
            except DatabaseError as exc:
                raise GateError(str(exc)) from None
            except Exception as exc:  # psycopg's errors, whatever their class
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                if cut.is_set():
                    raise Late(f"no answer from the database within {self.deadline:g} s") from None
                raise GateError(database_problem(self.dsn, exc)) from None
            finally:
                if watchdog is not None:
                    watchdog.cancel()

    def _decide(self, release: str, previous: str | None) -> Decision:
        """:func:`migsafe.gate.decide` on the bounded URL: a :class:`GateError` when the
        database cannot be read, an inconclusive decision when a contract is missing."""
        from migsafe.db import database_problem
        from migsafe.gate import decide

        try:
            bounded = self._bounded()
        except Exception as exc:  # not a connection string psycopg reads
            raise GateError(database_problem(self.dsn, exc)) from None
        return decide(
            bounded,
            release,
            previous,
            cfg=self.cfg,
            reword=lambda message: self._plain(message, bounded),
            raise_unreadable=True,
        )

    def _plain(self, message: str, bounded: str) -> str:
        """``message`` naming the database as given, without the limits added to it."""
        from migsafe.db.ephemeral import display_dsn

        try:
            return message.replace(display_dsn(bounded), display_dsn(self.dsn))
        except Exception:  # an unparsable URL: the message never named it
            return message

    def _cached(self, key: Key) -> Decision | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[key]
                return None
            return entry[1]

    def _store(self, key: Key, decision: Decision) -> None:
        now = self._clock()
        with self._lock:
            for old in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                del self._cache[old]
            while len(self._cache) >= MAX_ENTRIES:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = (now + self.ttl, decision)


def _sever(conn: Any, cut: threading.Event) -> None:
    """Shut the connection's socket down from the watchdog's thread, so a query blocked on
    a peer that never answers fails at once (the socket is shared: a duplicate of its file
    descriptor reaches it without touching the connection's own)."""
    cut.set()
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the query has ended anyway
