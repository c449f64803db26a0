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

Blocking calls only: the web layer runs :meth:`Gatekeeper.decide` in a thread pool.
"""

from __future__ import annotations

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
CONNECT_TIMEOUT = 5  # seconds; the web layer's deadline bounds the whole answer anyway
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

    def do(self, key: Hashable, fn: Callable[[], T]) -> T:
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
        else:
            call.done.wait()
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
    ) -> None:
        self.dsn = dsn
        self.cfg = cfg
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[Key, tuple[float, Decision]] = {}
        self._flights: SingleFlight[object] = SingleFlight()
        self._conn_lock = threading.Lock()
        self._conn: Any = None

    def decide(self, release: str, previous: str | None) -> Answer:
        """The decision for ``release`` beside ``previous`` (None: from the ledger)."""
        try:
            digest = self._flights.do("digest", self._digest) if self.ttl > 0 else None
            key: Key = (release, previous, str(digest))
            hit = self._cached(key) if digest is not None else None
            if hit is not None:
                return Answer(hit, cached=True)
            decision = self._flights.do(key, lambda: self._decide(release, previous))
        except GateError as exc:
            return Answer(Decision(INCONCLUSIVE, release, previous, (), str(exc), None), True)
        assert isinstance(decision, Decision)
        if digest is not None and decision.decision != INCONCLUSIVE:
            self._store(key, decision)
        return Answer(decision)

    def close(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _digest(self) -> str:
        """The catalog digest, on a connection kept between calls (one at a time: callers
        come through the single flight); a failed connection is dropped and made anew."""
        from migsafe.db import DatabaseError, require_psycopg
        from migsafe.gate import database_problem
        from migsafe.serve.digest import catalog_digest

        with self._conn_lock:
            try:
                if self._conn is None or self._conn.closed:
                    psycopg = require_psycopg()
                    self._conn = psycopg.connect(
                        self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                    )
                return catalog_digest(self._conn)
            except DatabaseError as exc:
                raise GateError(str(exc)) from None
            except Exception as exc:  # psycopg's errors, whatever their class
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                raise GateError(database_problem(self.dsn, exc)) from None

    def _decide(self, release: str, previous: str | None) -> Decision:
        """Read the live schema (a :class:`GateError` when the database cannot be read),
        then the contracts; a missing contract is an inconclusive decision."""
        from migsafe.gate import judge, read_live_schema, resolve_contracts

        schema = read_live_schema(self.dsn, self.cfg)
        try:
            contract, previous_contract, previous = resolve_contracts(
                self.dsn, self.cfg, release, previous
            )
        except GateError as exc:
            return Decision(INCONCLUSIVE, release, previous, (), str(exc), schema.fingerprint())
        return judge(schema, release, contract, previous, previous_contract)

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
