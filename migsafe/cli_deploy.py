"""``migsafe deploy record|status``, ``migsafe gate`` and ``migsafe rollback``: the commands a
deploy pipeline runs against production, kept apart from the linting commands in
:mod:`migsafe.cli`, which registers them.

Exit codes as everywhere: 0 yes, 3 refused (gate failed, rollback blocked), 2 could not
decide or bad input — a question without an answer is a no.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from migsafe.cli import EXIT_INPUT, EXIT_REFUSED, _load_config, _project_root, fail

if TYPE_CHECKING:
    from migsafe.compat import Provenance
    from migsafe.config import Config

_config = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: migsafe.toml or [tool.migsafe] in pyproject.toml).",
)
_database_url = click.option(
    "--database-url",
    envvar="MIGSAFE_DATABASE_URL",
    required=True,
    help="The production database (or set MIGSAFE_DATABASE_URL, which keeps the password "
    "out of the process list).",
)
_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
_migrations = click.option(
    "--migrations",
    "migration_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="The migration files or folders: each problem then names the migration that caused it.",
)


def _connect(dsn: str) -> Any:
    from migsafe.db import DatabaseError, connect

    try:
        return connect(dsn)
    except DatabaseError as exc:
        fail(str(exc))


def _database_fail(dsn: str, exc: Exception) -> NoReturn:
    from migsafe.db import database_problem

    fail(database_problem(dsn, exc))


def _provenance(paths: tuple[Path, ...], cfg: Config) -> Provenance | None:
    """Which migration last changed each object, when the migrations are at hand."""
    if not paths:
        return None
    from migsafe.cli import _discover
    from migsafe.compat import replay
    from migsafe.contracts import ContractError

    try:
        return replay(_discover(paths, cfg)).provenance
    except ContractError as exc:
        fail(str(exc))


@click.group()
def deploy() -> None:
    """The release ledger kept in the database (table migsafe_releases)."""


@deploy.command("record")
@_database_url
@click.option("--release", required=True, help="The release being deployed, e.g. 2.0.0.")
@click.option(
    "--contract",
    "contract_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Its contract (default: .migsafe/contracts/RELEASE.json).",
)
@click.option(
    "--last-migration",
    help="The id of the release's last migration (default with --migrations: from the "
    "releases configured).",
)
@_migrations
@click.option(
    "--status",
    type=click.Choice(["deploying", "live"]),
    default="deploying",
    show_default=True,
    help="deploying while it rolls out, live once it serves all traffic.",
)
@_config
def record(
    database_url: str,
    release: str,
    contract_path: Path | None,
    last_migration: str | None,
    migration_paths: tuple[Path, ...],
    status: str,
    config_path: Path | None,
) -> None:
    """Record a release, its contract and its last migration in the ledger (created on first
    use; recording a release again updates it)."""
    from migsafe import contracts, ledger

    cfg = _load_config(config_path)
    if last_migration is None and migration_paths:
        last_migration = _last_migration(release, migration_paths, cfg)
    path = contract_path or contracts.path_for(release, _project_root(cfg))
    try:
        wanted = contracts.load(path)
    except contracts.ContractError as exc:
        fail(
            f"{exc}; capture it with `migsafe contract capture --release {release}` or give "
            "--contract FILE"
        )
    if wanted.release != release:
        fail(f"{path}: holds the contract of release {wanted.release}, not of {release}")
    where = ledger.Location.of(cfg)
    try:
        with _connect(database_url) as conn:
            entry = ledger.record(
                conn, where, release, wanted, last_migration=last_migration, status=status
            )
    except ledger.LedgerError as exc:
        fail(str(exc))
    except Exception as exc:  # psycopg's errors, whatever their class
        _database_fail(database_url, exc)
    after = f" after {entry.previous}" if entry.previous else ""
    click.echo(f"recorded release {release} ({entry.status}){after} in {where}")


def _last_migration(release: str, paths: tuple[Path, ...], cfg: Config) -> str:
    """The id of the last up migration of ``release`` or, for a release without migrations
    of its own, of the releases before it (by the releases configured)."""
    from migsafe.cli import _assign, _discover
    from migsafe.releases import migration_id

    table = _assign(cfg, _discover(paths, cfg))
    names = [r.name for r in table]
    if release not in names:
        fail(
            f"release {release} is not among the releases of --migrations "
            f"({', '.join(names) or 'none'}); give --last-migration ID"
        )
    ups = [
        m for r in table[: names.index(release) + 1] for m in r.migrations if m.direction == "up"
    ]
    if not ups:
        fail(f"release {release} and the ones before it have no migrations")
    return migration_id(ups[-1])


@deploy.command("status")
@_database_url
@_format
@_config
def status(database_url: str, fmt: str, config_path: Path | None) -> None:
    """Print the ledger: every release recorded, first recorded first."""
    from migsafe import ledger

    cfg = _load_config(config_path)
    where = ledger.Location.of(cfg)
    try:
        with _connect(database_url) as conn:
            found = ledger.entries(conn, where)
    except ledger.LedgerError as exc:
        fail(str(exc))
    except Exception as exc:  # psycopg's errors, whatever their class
        _database_fail(database_url, exc)
    if fmt == "json":
        click.echo(json.dumps({"ledger": str(where), "releases": [e.to_json() for e in found]}))
        return
    if not found:
        click.echo(f"no releases recorded in {where}")
        return
    width = max(len(e.release) for e in found)
    for e in found:
        when = e.updated_at.strftime("%Y-%m-%d %H:%M:%S %Z")
        after = f"  after {e.previous}" if e.previous else ""
        migration = f"  last migration {e.last_migration}" if e.last_migration else ""
        click.echo(f"{e.release:<{width}}  {e.status:<11}  {when}{migration}{after}")


def _contract_files(
    release: str, contract: Path | None, previous: str | None, previous_contract: Path | None
) -> Mapping[str, Path]:
    files: dict[str, Path] = {}
    if contract is not None:
        files[release] = contract
    if previous_contract is not None:
        if previous is None:
            fail("--previous-contract needs --previous, the release it belongs to")
        files[previous] = previous_contract
    return files


@click.command()
@_database_url
@click.option("--release", required=True, help="The release being rolled out.")
@click.option("--previous", help="The release running beside it (default: from the ledger).")
@click.option(
    "--contract", type=click.Path(path_type=Path, dir_okay=False), help="The release's contract."
)
@click.option(
    "--previous-contract",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The previous release's contract.",
)
@_migrations
@_format
@_config
def gate(
    database_url: str,
    release: str,
    previous: str | None,
    contract: Path | None,
    previous_contract: Path | None,
    migration_paths: tuple[Path, ...],
    fmt: str,
    config_path: Path | None,
) -> None:
    """May RELEASE and the release before it run on the live schema now? For every canary
    step: contracts come from the ledger unless files are given.

    Exit codes: 0 pass, 3 fail (problems listed), 2 cannot decide.
    """
    from migsafe import gate as gate_mod

    cfg = _load_config(config_path)
    files = _contract_files(release, contract, previous, previous_contract)
    decision = gate_mod.decide(
        database_url,
        release,
        previous,
        cfg=cfg,
        contract_files=files,
        provenance=_provenance(migration_paths, cfg),
    )
    if fmt == "json":
        click.echo(json.dumps(decision.to_json()))
    else:
        click.echo(gate_mod.summary(decision), err=decision.decision == gate_mod.INCONCLUSIVE)
    if decision.decision == gate_mod.FAIL:
        sys.exit(EXIT_REFUSED)
    if decision.decision != gate_mod.PASS:
        sys.exit(EXIT_INPUT)


def _deployer_options(f: Any) -> Any:
    """The options that pick and locate a deployer, shared by rollback and deploy weight."""
    from migsafe.deploy import KINDS

    options = [
        click.option(
            "--deployer",
            type=click.Choice(KINDS),
            help="Who deploys (default: deployer in [tool.migsafe.deploy]).",
        ),
        click.option("--name", help="Deployment, Rollout, Helm release, or HAProxy backend."),
        click.option("--namespace", help="Kubernetes namespace."),
        click.option("--context", help="kubeconfig context."),
        click.option("--container", help="The container whose image tag is the release."),
        click.option(
            "--socket",
            type=click.Path(path_type=Path),
            help="HAProxy's Runtime API socket (its `stats socket`).",
        ),
        click.option(
            "--server",
            "servers",
            multiple=True,
            metavar="NAME=RELEASE",
            help="An HAProxy server and the release it runs.",
        ),
        click.option("--undo-cmd", help="Command template to roll back: ... {release}."),
        click.option("--current-cmd", help="Command that prints the running release."),
        click.option("--history-cmd", help="Command that prints releases, oldest first."),
        click.option("--wait-cmd", help="Command that returns once the undo is done."),
        click.option("--weight-cmd", help="Command template: ... {release} {weight}."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            help="Seconds each deployer command and the wait may take (default 300).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _deployer(given: Mapping[str, Any], secrets: tuple[str, ...], cfg: Config) -> Any:
    """The deployer the options describe, ``[tool.migsafe.deploy]`` filling in the ones not
    given on the command line."""
    from migsafe.deploy import Options, make
    from migsafe.deploy.run import DeployError

    values = {**cfg.deploy, **{k: v for k, v in given.items() if v not in (None, ())}}
    servers: dict[str, str] = {}
    if given["servers"]:
        for item in given["servers"]:
            name, eq, release = item.partition("=")
            if not eq or not name or not release:
                fail(f"--server {item!r}: expected NAME=RELEASE, e.g. --server green=2.0.0")
            servers[name] = release
    else:
        configured = cfg.deploy.get("servers")
        if isinstance(configured, dict):
            servers = {str(k): str(v) for k, v in configured.items()}
    if not values.get("deployer"):
        fail(
            "give --deployer (kubectl, argo, helm, haproxy, command) or set deployer in "
            "[tool.migsafe.deploy]"
        )
    commands = {
        key: str(values[f"{key}_cmd"])
        for key in ("undo", "current", "history", "wait", "weight")
        if values.get(f"{key}_cmd")
    }
    try:
        return make(
            Options(
                str(values["deployer"]),
                name=values.get("name"),
                namespace=values.get("namespace"),
                context=values.get("context"),
                container=values.get("container"),
                socket=Path(values["socket"]) if values.get("socket") else None,
                servers=servers,
                commands=commands,
                timeout=float(values.get("timeout") or 300),
                secrets=secrets,
            )
        )
    except DeployError as exc:
        fail(str(exc))


def _secrets(dsn: str) -> tuple[str, ...]:
    """The database password, which must not reach any record."""
    from contextlib import suppress

    with suppress(Exception):
        from psycopg import conninfo

        password = conninfo.conninfo_to_dict(dsn).get("password")
        if password:
            return (str(password),)
    return ()


@deploy.command("weight")
@click.option("--release", required=True, help="The release to send traffic to.")
@click.option("--weight", type=click.IntRange(0, 100), required=True, help="Percent of traffic.")
@_deployer_options
@_config
def weight(release: str, weight: int, config_path: Path | None, **values: Any) -> None:
    """Send WEIGHT percent of the traffic to RELEASE, the rest to the other releases (for
    deployers that split traffic: haproxy, or a --weight-cmd)."""
    from migsafe.deploy.run import DeployError

    deployer = _deployer(values, (), _load_config(config_path))
    try:
        deployer.set_weight(release, weight)
        deployer.wait()
    except DeployError as exc:
        fail(str(exc))
    click.echo(f"release {release} now takes {weight}% of the traffic")


@click.command()
@_database_url
@click.option("--to", "to", help="The release to roll back to.")
@click.option("--previous", is_flag=True, help="Roll back to the release before the current one.")
@click.option(
    "--contract",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The target release's contract (default: from the ledger).",
)
@_migrations
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option(
    "--with-db-downgrade",
    is_flag=True,
    help="When the schema does not fit, run the down migrations back to the target's last "
    "migration first (--migrations), only if they lose no data.",
)
@click.option("--yes", is_flag=True, help="Do not ask before a database downgrade.")
@click.option(
    "--incident-log",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the incident record (a JSON line) to this file.",
)
@_format
@_deployer_options
@_config
def rollback(
    database_url: str,
    to: str | None,
    previous: bool,
    contract: Path | None,
    migration_paths: tuple[Path, ...],
    dry_run: bool,
    with_db_downgrade: bool,
    yes: bool,
    incident_log: Path | None,
    fmt: str,
    config_path: Path | None,
    **values: Any,
) -> None:
    """Roll back to an earlier release only if it works on the live schema.

    Exit codes: 0 rolled back (or --dry-run with a feasible plan), 3 refused (the schema does
    not fit; nothing changed), 2 cannot decide, bad input, or the deployer failed.
    """
    from migsafe import rollback as rollback_mod

    if (to is None) == (not previous):
        fail("give one of --to RELEASE or --previous")
    if with_db_downgrade and not migration_paths:
        fail("--with-db-downgrade needs --migrations DIR to find the down migrations")
    cfg = _load_config(config_path)
    migrations: list[Any] = []
    if migration_paths:
        from migsafe.cli import _discover

        migrations = _discover(migration_paths, cfg)
    deployer = _deployer(values, _secrets(database_url), cfg)

    def confirm(plan: str) -> bool:
        if yes:
            return True
        click.echo(plan, err=True)
        return click.confirm("run the database downgrade?", default=False, err=True)

    try:
        incident = rollback_mod.rollback(
            database_url,
            cfg,
            deployer,
            to=to,
            contract_file=contract,
            migrations=migrations,
            provenance=_provenance(migration_paths, cfg),
            dry_run=dry_run,
            with_db_downgrade=with_db_downgrade,
            confirm=confirm,
        )
    except rollback_mod.RollbackError as exc:
        fail(str(exc))
    except click.Abort:
        fail("the database downgrade was not confirmed; nothing was changed")
    if incident_log is not None:
        try:
            rollback_mod.write_incident(incident, incident_log)
        except OSError as exc:
            click.echo(f"migsafe: error: cannot write {incident_log}: {exc}", err=True)
    if fmt == "json":
        click.echo(json.dumps(incident.to_json()))
    elif incident.status == rollback_mod.FAILED:
        click.echo(f"migsafe: error: {incident.message}", err=True)
    else:
        click.echo(incident.message)
    codes = {rollback_mod.REFUSED: EXIT_REFUSED, rollback_mod.FAILED: EXIT_INPUT}
    code = codes.get(incident.status, 0)
    if incident.after is not None and incident.after.decision != "pass":
        code = EXIT_REFUSED
    if code:
        sys.exit(code)
