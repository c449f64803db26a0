"""``migsafe serve`` and ``migsafe lint-deploy``: the commands for deployers on Kubernetes,
kept apart from :mod:`migsafe.cli`, which registers them. Both import their libraries
(Starlette, uvicorn, PyYAML) only when run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from migsafe import install_hint
from migsafe.cli import EXIT_FINDINGS, EXIT_INPUT, _load_config, fail

TOKEN_ENV = "MIGSAFE_SERVE_TOKEN"
DATABASE_ENV = ("MIGSAFE_DATABASE_URL", "DATABASE_URL")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help=f"Answer without a bearer token (only when {TOKEN_ENV} cannot be set, "
    "e.g. behind a proxy that authenticates).",
)
@click.option(
    "--cache-ttl",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds a decision is reused while the schema fingerprint is unchanged.",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=64 * 1024,
    show_default=True,
    help="Largest request body accepted, in bytes.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.1),
    default=8.0,
    show_default=True,
    help="Seconds to decide before answering 503 inconclusive (Flagger waits 10 s).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: migsafe.toml or [tool.migsafe] in pyproject.toml).",
)
def serve(
    host: str,
    port: int,
    insecure_no_auth: bool,
    cache_ttl: float,
    max_body: int,
    deadline: float,
    config_path: Path | None,
) -> None:
    """Serve the schema gate over HTTP for Argo Rollouts (GET /v1/gate) and Flagger
    (POST /v1/flagger/<hook>). The database URL comes from MIGSAFE_DATABASE_URL (or
    DATABASE_URL), the bearer token clients must send from MIGSAFE_SERVE_TOKEN."""
    dsn = next((os.environ[n] for n in DATABASE_ENV if os.environ.get(n)), None)
    if dsn is None:
        fail(
            "migsafe serve reads the database URL from MIGSAFE_DATABASE_URL (or DATABASE_URL), "
            "and neither is set; set it to the production PostgreSQL the gate should check"
        )
    token = os.environ.get(TOKEN_ENV) or None
    if token is None and not insecure_no_auth:
        fail(
            f"{TOKEN_ENV} is not set, so anyone who reaches the port could ask the gate; set "
            "it to a long random secret (clients send `Authorization: Bearer <token>`), or "
            "pass --insecure-no-auth when something in front of migsafe authenticates"
        )
    cfg = _load_config(config_path)
    try:
        from migsafe.serve.app import Options
        from migsafe.serve.run import serve as run
    except ImportError as exc:
        fail(
            f"migsafe serve needs the serve extra ({exc.name} is missing): " + install_hint("serve")
        )
    options = Options(token=token, max_body=max_body, deadline=deadline)
    run(dsn, cfg, options, host=host, port=port, cache_ttl=cache_ttl)


@click.command("lint-deploy")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
def lint_deploy(files: tuple[Path, ...], exit_zero: bool) -> None:
    """Warn on Argo Rollouts and Flagger manifests that would let a deploy past the schema
    gate: a rollback window, a promotion timer, traffic before the analysis, skipped
    analysis, no revision history, missing or miswired migsafe webhooks.

    Exit codes: 0 none found, 1 findings, 2 unreadable files.
    """
    from migsafe import deploy_lint

    try:
        import yaml  # noqa: F401  (deploy_lint imports it where it reads; fail early here)
    except ImportError as exc:
        fail(
            f"lint-deploy reads YAML and needs PyYAML ({exc.name} is missing): "
            + install_hint("k8s")
        )
    if not files:
        fail("no files given; try `migsafe lint-deploy k8s/rollout.yaml`")
    found: list[deploy_lint.Bypass] = []
    texts: dict[str, str] = {}
    broken = False
    for path in files:
        try:
            texts[str(path)] = text = deploy_lint.read(path)
            found.extend(deploy_lint.check_text(text, str(path)))
        except deploy_lint.ManifestError as exc:
            click.echo(f"migsafe: error: {exc}", err=True)
            broken = True
    if found:
        click.echo(deploy_lint.render(found, texts))
    n, where = len(found), f"{len(files)} file{'s' * (len(files) != 1)}"
    if found:
        click.echo(f"Found {n} way{'s' * (n != 1)} past the gate in {where}.")
    elif not broken:
        click.echo(f"No gate bypass found ({where}).")
    if broken:
        sys.exit(EXIT_INPUT)
    if found and not exit_zero:
        sys.exit(EXIT_FINDINGS)
