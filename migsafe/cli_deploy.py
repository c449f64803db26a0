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
    from migsafe.db import DatabaseError, require_psycopg
    from migsafe.gate import database_problem

    try:
        return require_psycopg().connect(dsn, autocommit=True, connect_timeout=10)
    except DatabaseError as exc:
        fail(str(exc))
    except Exception as exc:  # psycopg's connection errors, whatever their class
        fail(database_problem(dsn, exc))


def _database_fail(dsn: str, exc: Exception) -> NoReturn:
    from migsafe.gate import database_problem

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
@click.option("--last-migration", help="The id of the release's last migration.")
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
    status: str,
    config_path: Path | None,
) -> None:
    """Record a release, its contract and its last migration in the ledger (created on first
    use; recording a release again updates it)."""
    from migsafe import contracts, ledger

    cfg = _load_config(config_path)
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
