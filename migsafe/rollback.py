"""``migsafe rollback``: pull the deployer's lever only when the live schema fits the target.

1. Resolve the release running now (the ledger, else the deployer) and the target
   (``to``, or the release before the current one in the ledger, else in the deployer's
   history).
2. Check the live schema against the target's contract. When it does not fit, refuse and
   change nothing — unless a database downgrade was asked for and is possible: the down
   migrations back to the target's last migration, allowed only when every statement is
   shown to keep the data (:mod:`migsafe.downgrade`), run in one transaction — counted
   again there under exclusive locks — that commits only if the schema then fits.
3. Ask the deployer to undo, wait for it, check again, and mark the ledger (the old release
   ``rolled_back``, the target ``live``). A deployer failure is reported with what ran, and
   the ledger is left as it was.

Every outcome is an :class:`Incident`: when, who, from, to, the decision and its problems,
the commands run, written as one JSON line to the incident log.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migsafe import downgrade, gate, ledger
from migsafe.compat import Provenance
from migsafe.db import database_problem
from migsafe.deploy.base import Deployer
from migsafe.deploy.run import CommandRecord, DeployError

if TYPE_CHECKING:
    from migsafe.config import Config
    from migsafe.contracts import Contract
    from migsafe.sources import Migration

REFUSED, DRY_RUN, ROLLED_BACK, FAILED = "refused", "dry-run", "rolled-back", "failed"


class RollbackError(Exception):
    """The rollback cannot even be planned (one paragraph); nothing was changed."""


@dataclass
class Incident:
    """What happened, for the incident log and ``--format json``."""

    source: str
    target: str
    status: str
    decision: gate.Decision
    message: str
    after: gate.Decision | None = None
    downgrade: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    who: str = field(default_factory=lambda: f"{_user()}@{socket.gethostname()}")

    def to_json(self) -> dict[str, object]:
        return {
            "when": self.when,
            "who": self.who,
            "from": self.source,
            "to": self.target,
            "status": self.status,
            "decision": self.decision.decision,
            "problems": [p.to_json() for p in self.decision.problems],
            "after": self.after.decision if self.after is not None else None,
            "downgrade": self.downgrade,
            "data_loss": self.losses,
            "message": self.message,
            "commands": [c.to_json() for c in self.commands],
        }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def write_incident(incident: Incident, path: Path) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(incident.to_json()) + "\n")


# -- planning ----------------------------------------------------------------------------------


def _connect(dsn: str) -> Any:
    from migsafe.db import DatabaseError, connect

    try:
        return connect(dsn)
    except DatabaseError as exc:
        raise RollbackError(str(exc)) from None


def resolve(known: Sequence[ledger.Entry], deployer: Deployer, to: str | None) -> tuple[str, str]:
    """(release running now, target release)."""
    alive = [e for e in known if e.status != ledger.ROLLED_BACK]
    try:
        current = alive[-1].release if alive else deployer.current()
    except DeployError as exc:
        raise RollbackError(f"cannot tell which release runs now: {exc}") from None
    if current is None:
        raise RollbackError(
            "cannot tell which release runs now: the release ledger is empty and the "
            "deployer does not say; record releases with `migsafe deploy record`"
        )
    if to is None:
        entry = next((e for e in known if e.release == current), None)
        to = entry.previous if entry is not None else None
        if to is None:
            try:
                earlier = [
                    r.release for r in deployer.history() if r.release not in (None, current)
                ]
            except DeployError as exc:
                raise RollbackError(f"cannot read the deployer's history: {exc}") from None
            if not earlier:
                raise RollbackError(
                    f"release {current} has no previous release in the ledger or the "
                    "deployer's history; name the target with --to"
                )
            to = str(earlier[-1])
    if to == current:
        raise RollbackError(f"release {to} is already the one running; nothing to roll back")
    return current, to


def _contract(dsn: str, cfg: Config, target: str, contract_file: Path | None) -> Contract:
    files = {target: contract_file} if contract_file is not None else None
    try:
        contract, _, _ = gate.resolve_contracts(dsn, cfg, target, None, files)
    except gate.GateError as exc:
        raise RollbackError(str(exc)) from None
    return contract


def downs_to(migrations: Sequence[Migration], last: str | None, target: str) -> list[Migration]:
    """The down migrations that take the schema back to ``last`` (the target's last
    migration), newest first; every up migration after it needs one."""
    from migsafe.releases import migration_id

    if last is None:
        raise RollbackError(
            f"the ledger does not know release {target}'s last migration, so there is no "
            f"point to downgrade to; record it with `migsafe deploy record --release {target} "
            "--last-migration ID`"
        )
    ups = [m for m in migrations if m.direction == "up"]
    downs = {migration_id(m): m for m in migrations if m.direction == "down"}
    ids = [migration_id(m) for m in ups]
    if last not in ids:
        raise RollbackError(
            f"release {target}'s last migration {last} is not among the migrations given"
        )
    after = ids[ids.index(last) + 1 :]
    missing = [i for i in after if i not in downs]
    if missing:
        raise RollbackError(
            f"no down migration for {', '.join(missing)}: the database cannot be taken back "
            f"to release {target}'s last migration {last}; roll forward instead"
        )
    return [downs[i] for i in reversed(after)]


# -- running -----------------------------------------------------------------------------------


def rollback(
    dsn: str,
    cfg: Config,
    deployer: Deployer,
    *,
    to: str | None = None,
    contract_file: Path | None = None,
    migrations: Sequence[Migration] = (),
    provenance: Provenance | None = None,
    dry_run: bool = False,
    with_db_downgrade: bool = False,
    confirm: Callable[[str], bool] = lambda _: False,
) -> Incident:
    """Plan and, when the schema allows, carry out a rollback (see the module docstring).
    :class:`RollbackError` when it cannot be planned; nothing has changed then."""
    where = ledger.Location.of(cfg)
    with _connect(dsn) as conn:
        try:
            known = ledger.entries(conn, where)
        except ledger.LedgerError as exc:
            raise RollbackError(str(exc)) from None
        except Exception as exc:  # psycopg's errors, whatever their class
            raise RollbackError(database_problem(dsn, exc)) from None
    current, target = resolve(known, deployer, to)
    contract = _contract(dsn, cfg, target, contract_file)
    try:
        schema = gate.read_live_schema(dsn, cfg, gate.schemas_of(contract))
        history = deployer.history()
    except gate.GateError as exc:
        raise RollbackError(str(exc)) from None
    except DeployError as exc:
        raise RollbackError(f"cannot read the deployer's history: {exc}") from None
    if history and target not in {r.release for r in history}:
        releases = sorted({r.release for r in history if r.release})
        raise RollbackError(
            f"the {deployer.kind} deployer cannot roll back to release {target}: its history "
            f"holds {', '.join(releases) or 'no release'}"
        )
    decision = gate.judge(schema, target, contract, None, None, provenance=provenance)
    # The deployer's own list: every command it runs from here on is in the record.
    incident = Incident(current, target, REFUSED, decision, "", commands=deployer.records)
    downs: list[Migration] = []
    steps: list[downgrade.Step] = []
    if decision.decision == gate.FAIL:
        if not with_db_downgrade:
            incident.message = _blocked(decision, target)
            return incident
        entry = next((e for e in known if e.release == target), None)
        downs = downs_to(migrations, entry.last_migration if entry else None, target)
        incident.downgrade = [m.display for m in downs]
        try:
            steps = downgrade.plan(downs)
            with _connect(dsn) as conn:
                incident.losses = downgrade.losses(conn, steps)
        except downgrade.Refused as exc:
            incident.losses = exc.reasons
        except ValueError as exc:
            raise RollbackError(str(exc)) from None
        if incident.losses:
            incident.message = (
                f"refused: the down migrations back to release {target} cannot be shown to "
                "keep the data: " + "; ".join(incident.losses) + ". Roll forward instead."
            )
            return incident
    plan = _plan(deployer, current, target, downs)
    if dry_run:
        incident.status, incident.message = DRY_RUN, plan
        return incident
    if downs:
        if not confirm(plan):
            incident.message = "refused: the database downgrade was not confirmed"
            return incident
        try:
            refused = _downgrade(dsn, cfg, steps, target, contract, provenance)
        except downgrade.Refused as exc:
            incident.losses = exc.reasons
            incident.message = (
                "refused: the data changed while the plan waited for confirmation, and the "
                "down migrations were rolled back: "
                + "; ".join(exc.reasons)
                + ". Roll forward instead."
            )
            return incident
        if refused is not None:
            incident.decision = refused
            incident.message = (
                "refused: after the down migrations the schema still does not fit release "
                f"{target}; they were rolled back. " + _blocked(refused, target)
            )
            return incident
    try:
        deployer.undo(target)
        deployer.wait()
    except DeployError as exc:
        incident.status = FAILED
        incident.message = (
            f"the {deployer.kind} deployer failed while rolling back to {target}: {exc}. The "
            f"ledger still says {current}; check the deployer before trying again."
        )
        if downs:
            incident.message += (
                " The database downgrade was applied, so release "
                f"{current}, still serving, may not work on it: finish the rollback to "
                f"{target}, whose contract the schema now fits."
            )
        return incident
    incident.status = ROLLED_BACK
    incident.message = f"rolled back from {current} to {target}"
    incident.after = _check_again(dsn, cfg, target, contract, provenance)
    try:
        with _connect(dsn) as conn, conn.transaction():
            if any(e.release == current for e in known):
                ledger.mark(conn, where, current, ledger.ROLLED_BACK)
            if any(e.release == target for e in known):
                ledger.mark(conn, where, target, ledger.LIVE)
    except (RollbackError, ledger.LedgerError) as exc:
        incident.message += f", but the ledger could not be marked: {exc}"
    except Exception as exc:  # psycopg's errors, whatever their class
        incident.message += f", but the ledger could not be marked: {database_problem(dsn, exc)}"
    if incident.after.decision != gate.PASS:
        incident.message += (
            f", but the check after it says {incident.after.decision}: the schema changed "
            "meanwhile; investigate"
        )
    return incident


def _check_again(
    dsn: str, cfg: Config, target: str, contract: Contract, provenance: Provenance | None
) -> gate.Decision:
    try:
        schema = gate.read_live_schema(dsn, cfg, gate.schemas_of(contract))
    except gate.GateError as exc:
        return gate.Decision(gate.INCONCLUSIVE, target, None, (), str(exc))
    return gate.judge(schema, target, contract, None, None, provenance=provenance)


def _plan(deployer: Deployer, current: str, target: str, downs: Sequence[Migration]) -> str:
    steps = [f"roll back from release {current} to {target} with the {deployer.kind} deployer"]
    if downs:
        steps.insert(
            0,
            "run the down migrations " + ", ".join(m.display for m in downs) + " in one "
            "transaction, under exclusive locks on the tables they empty or change, counting "
            "again first (they remove or change no rows: every object they drop or change "
            "is empty now)",
        )
    steps += ["wait for it to finish", "check the live schema again", "mark the ledger"]
    return "plan: " + "; ".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def _blocked(decision: gate.Decision, target: str) -> str:
    lines = [f"refused: release {target} does not work on the live schema:"]
    for p in decision.problems:
        cause = f" — caused by {p.migration}" if p.migration else ""
        lines.append(f"  {p.object}: expects {p.expected}; the schema has {p.found}{cause}")
    lines.append(
        "Way out: roll forward (fix the new release), or, when the migrations since release "
        f"{target} have down migrations that lose no data, `migsafe rollback --to {target} "
        "--with-db-downgrade --migrations DIR`."
    )
    return "\n".join(lines)


def _downgrade(
    dsn: str,
    cfg: Config,
    steps: Sequence[downgrade.Step],
    target: str,
    contract: Contract,
    provenance: Provenance | None,
) -> gate.Decision | None:
    """Run ``steps`` in one transaction (counting again under locks, see
    :func:`downgrade.run`) and commit only if the schema then fits the target; return the
    failing decision otherwise."""
    from migsafe.db.introspect import read_schema
    from migsafe.ops import bare

    with _connect(dsn) as conn:
        try:
            with conn.transaction():
                downgrade.run(conn, steps)
                schema = read_schema(conn, gate.schemas_of(contract))
                schema.tables.pop(bare(f"{cfg.ledger_schema}.{cfg.ledger_table}"), None)
                after = gate.judge(schema, target, contract, None, None, provenance=provenance)
                if after.decision != gate.PASS:
                    raise _Undo(after)
        except _Undo as undo:
            return undo.decision
        except downgrade.Refused:
            raise
        except downgrade.Escaped as exc:
            raise RollbackError(str(exc)) from None
        except Exception as exc:  # a down migration failed: the transaction rolled back
            raise RollbackError(
                f"a down migration failed and nothing was changed: {' '.join(str(exc).split())}"
            ) from None
    return None


class _Undo(Exception):
    def __init__(self, decision: gate.Decision) -> None:
        self.decision = decision
