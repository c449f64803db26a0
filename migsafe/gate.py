"""The gate: may this release (and the one before it) run on the live schema right now?

A canary step, a rollout hook or a rollback asks the same question: during a rolling deploy
release N and release N-1 run side by side on one database, so its live schema must satisfy
both contracts. The answer is one of three, and it fails closed: ``pass`` (both fit),
``fail`` (problems, each naming its release), ``inconclusive`` (the question could not be
answered — database unreachable, a contract missing, a release unknown — with the reason),
which callers must treat as a no.

Public API (relied on by ``migsafe gate``, ``migsafe rollback`` and ``migsafe serve``)::

    Decision(decision, release, previous, problems, reason).to_json()
    ReleaseProblem        # a migsafe.compat.Problem with the ``release`` it breaks
    GateError             # why a decision could not be made (one paragraph)
    read_live_schema(dsn, cfg, schemas=("public",)) -> Schema
    schemas_of(*contracts) -> the schemas the contracts name, public always among them
    resolve_contracts(dsn, cfg, release, previous, contract_files=None)
        -> (release's contract, previous release's contract or None, previous version or None)
    judge(schema, release, contract, previous, previous_contract, *, provenance=None)
        -> Decision           # pure
    decide(dsn, release, previous=None, *, cfg, contract_files=None, provenance=None,
           reword=None, raise_unreadable=False)
        -> Decision           # "inconclusive" instead of GateError unless raise_unreadable

Contracts come from ``contract_files`` (release → JSON file) when given there, else from
the release ledger in the database (:mod:`migsafe.ledger`); ``previous`` defaults to the
release the ledger recorded as current when ``release`` was recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migsafe.compat import Problem, Provenance, compat
from migsafe.contracts import Contract, ContractError

if TYPE_CHECKING:
    from migsafe.config import Config
    from migsafe.schema import Schema

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


class GateError(Exception):
    """Why a decision could not be made, in one paragraph."""


@dataclass(frozen=True, slots=True)
class ReleaseProblem(Problem):
    """A compatibility problem and the release whose application it breaks."""

    release: str = ""

    def __str__(self) -> str:
        return f"release {self.release}: {Problem.__str__(self)}"

    def to_json(self) -> dict[str, str | None]:
        return {"release": self.release, **Problem.to_json(self), "message": str(self)}


@dataclass(frozen=True)
class Decision:
    decision: str  # PASS | FAIL | INCONCLUSIVE
    release: str
    previous: str | None
    problems: tuple[ReleaseProblem, ...]
    reason: str | None  # set when inconclusive

    def to_json(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "release": self.release,
            "previous": self.previous,
            "problems": [p.to_json() for p in self.problems],
            "reason": self.reason,
        }


def schemas_of(*contracts: Contract | None) -> tuple[str, ...]:
    """The schemas whose objects ``contracts`` name (``app.users`` → ``app``), and
    ``public``, where unqualified names live."""
    found = {"public"}
    for contract in contracts:
        if contract is not None:
            for name in (*contract.tables, *contract.enums):
                schema, dot, _ = name.rpartition(".")
                if dot:
                    found.add(schema)
    return tuple(sorted(found))


def read_live_schema(dsn: str, cfg: Config, schemas: Sequence[str] = ("public",)) -> Schema:
    """The live schema of ``schemas``, without the ledger table (migsafe's own, no release
    uses it)."""
    from migsafe.db import DatabaseError, database_problem
    from migsafe.db.introspect import introspect
    from migsafe.ops import bare

    try:
        schema = introspect(dsn, schemas)
    except DatabaseError as exc:
        raise GateError(str(exc)) from None
    except Exception as exc:  # psycopg's connection errors, whatever their class
        raise GateError(database_problem(dsn, exc)) from None
    schema.tables.pop(bare(f"{cfg.ledger_schema}.{cfg.ledger_table}"), None)
    return schema


def _from_file(path: Path) -> Contract:
    from migsafe.contracts import load

    try:
        return load(path)
    except ContractError as exc:
        raise GateError(str(exc)) from None


def resolve_contracts(
    dsn: str,
    cfg: Config,
    release: str,
    previous: str | None,
    contract_files: Mapping[str, Path] | None = None,
) -> tuple[Contract, Contract | None, str | None]:
    """The contracts of ``release`` and of the release before it, and that release's
    version (None for a first release). Files in ``contract_files`` win over the ledger;
    a release in neither is a :class:`GateError`."""
    from migsafe import ledger
    from migsafe.db import DatabaseError, database_problem, require_psycopg

    files = dict(contract_files or {})
    where = ledger.Location.of(cfg)

    def from_file(name: str) -> Contract:
        found = _from_file(files[name])
        if found.release != name:
            raise GateError(
                f"{files[name]}: holds the contract of release {found.release}, "
                f"not of release {name}"
            )
        return found

    def contract_for(conn: Any, name: str) -> Contract:
        if name in files:
            return ledger.without_ledger(from_file(name), where)
        try:
            return ledger.without_ledger(ledger.contract_of(conn, where, name)[0], where)
        except ledger.LedgerError as exc:
            raise GateError(
                f"no contract for release {name}: {exc}, or give its contract file"
            ) from None

    def previous_of(conn: Any) -> str | None:
        """The release recorded as running when ``release`` was recorded; for a release not
        recorded (its contract given as a file), the one running now."""
        try:
            return ledger.contract_of(conn, where, release)[1]
        except ledger.LedgerError:
            now = ledger.current(conn, where)
            return now.release if now is not None and now.release != release else None

    try:
        psycopg = require_psycopg()
    except DatabaseError as exc:
        raise GateError(str(exc)) from None
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            contract = contract_for(conn, release)
            if previous is None:
                previous = previous_of(conn)
            if previous == release:
                raise GateError(f"release {release} cannot be its own previous release")
            before = contract_for(conn, previous) if previous is not None else None
    except GateError:
        raise
    except ledger.LedgerError as exc:
        raise GateError(str(exc)) from None
    except Exception as exc:  # psycopg's errors, whatever their class
        raise GateError(database_problem(dsn, exc)) from None
    return contract, before, previous


def judge(
    schema: Schema,
    release: str,
    contract: Contract,
    previous: str | None,
    previous_contract: Contract | None,
    *,
    provenance: Provenance | None = None,
) -> Decision:
    """The decision for ``schema``: ``fail`` with every problem of either release, else
    ``pass``. ``provenance`` (from :func:`migsafe.compat.replay`) names the migration that
    caused each problem."""
    problems: list[ReleaseProblem] = []
    pairs = [(release, contract)]
    if previous is not None and previous_contract is not None:
        pairs.append((previous, previous_contract))
    for name, wanted in pairs:
        for p in compat(schema, wanted, provenance):
            problems.append(ReleaseProblem(p.kind, p.key, p.expected, p.found, p.migration, name))
    return Decision(FAIL if problems else PASS, release, previous, tuple(problems), None)


def decide(
    dsn: str,
    release: str,
    previous: str | None = None,
    *,
    cfg: Config,
    contract_files: Mapping[str, Path] | None = None,
    provenance: Provenance | None = None,
    reword: Callable[[str], str] | None = None,
    raise_unreadable: bool = False,
) -> Decision:
    """Read the live schema and the contracts, then :func:`judge`; when either cannot be
    read the decision is ``inconclusive`` with the reason (fail closed).

    ``reword`` rewrites each reason before it is given (the server names its database as
    configured, not with the limits it adds to the URL). With ``raise_unreadable`` a live
    schema that cannot be read is a :class:`GateError` instead, which the server tells
    apart from a missing contract (503, not 409)."""

    def said(exc: GateError) -> str:
        return reword(str(exc)) if reword is not None else str(exc)

    missing: GateError | None
    try:
        contract, previous_contract, previous = resolve_contracts(
            dsn, cfg, release, previous, contract_files
        )
    except GateError as exc:
        missing = exc
        schemas: Sequence[str] = ("public",)
    else:
        missing = None
        schemas = schemas_of(contract, previous_contract)
    try:
        schema = read_live_schema(dsn, cfg, schemas)
    except GateError as exc:
        if raise_unreadable:
            raise GateError(said(exc)) from None
        return Decision(INCONCLUSIVE, release, previous, (), said(exc))
    if missing is not None:
        return Decision(INCONCLUSIVE, release, previous, (), said(missing))
    return judge(schema, release, contract, previous, previous_contract, provenance=provenance)


def summary(decision: Decision) -> str:
    """The decision as lines for people."""
    lines = [str(p) for p in decision.problems]
    against = f"release {decision.release}"
    if decision.previous is not None:
        against += f" and release {decision.previous}"
    if decision.decision == PASS:
        lines.append(f"gate: pass: the live schema fits {against}")
    elif decision.decision == FAIL:
        lines.append(f"gate: fail: the live schema breaks {against}: {problems_of(decision)}")
    else:
        lines.append(f"gate: inconclusive: {decision.reason}")
    return "\n".join(lines)


def problems_of(decision: Decision) -> str:
    n = len(decision.problems)
    return f"{n} problem{'s' if n != 1 else ''}"
