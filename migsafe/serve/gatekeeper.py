"""Gate decisions for a server: many concurrent requests, one database.

Each decision reads the live schema (the question is about the schema *now*), then looks up
the answer for (release, previous, schema fingerprint) in a cache whose entries live a few
seconds: a canary polled by several analysis runs, or 200 requests at once, costs one
contract lookup per release pair, while any schema change gives a new fingerprint and a
fresh answer. Concurrent requests also share work in flight: while one thread reads the
schema, others asking at the same moment wait for that read instead of opening their own
connection, and the same holds for the contract lookup of one key. So the database sees at
most one schema read at a time, whatever the load.

Blocking calls only: the web layer runs :meth:`Gatekeeper.decide` in a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from migsafe.gate import INCONCLUSIVE, Decision, GateError

if TYPE_CHECKING:
    from migsafe.config import Config
    from migsafe.schema import Schema

T = TypeVar("T")

DEFAULT_TTL = 5.0  # seconds a decision is reused for an unchanged schema
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
        self._schema_reads: SingleFlight[tuple[Schema, str]] = SingleFlight()
        self._lookups: SingleFlight[Decision] = SingleFlight()

    def decide(self, release: str, previous: str | None) -> Answer:
        try:
            schema, fingerprint = self._schema_reads.do("schema", self._read_schema)
        except GateError as exc:
            return Answer(Decision(INCONCLUSIVE, release, previous, (), str(exc), None), True)
        key: Key = (release, previous, fingerprint)
        hit = self._cached(key)
        if hit is not None:
            return Answer(hit, cached=True)
        decision = self._lookups.do(key, lambda: self._judge(schema, release, previous))
        if decision.decision != INCONCLUSIVE:
            self._store(key, decision)
        return Answer(decision)

    def _read_schema(self) -> tuple[Schema, str]:
        from migsafe.gate import read_live_schema

        schema = read_live_schema(self.dsn, self.cfg)
        return schema, schema.fingerprint()

    def _judge(self, schema: Schema, release: str, previous: str | None) -> Decision:
        from migsafe.gate import judge, resolve_contracts

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
