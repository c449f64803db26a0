"""The ``migsafe`` command: parse arguments, call the library, pick a reporter, set the exit
code (0 clean, 1 findings at or above --fail-on, 2 usage or input error)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from migsafe import __version__

EXIT_FINDINGS = 1
EXIT_INPUT = 2


def fail(message: str) -> NoReturn:
    click.echo(f"migsafe: error: {message}", err=True)
    sys.exit(EXIT_INPUT)


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migsafe")
def main() -> None:
    """Keep database migrations from taking production down."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--pg-version", type=int, help="Target PostgreSQL major version (11 to 17).")
@click.option("--select", multiple=True, help="Only these rule ids (comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rule ids (comma-separated).")
@click.option("--strict", is_flag=True, help="Also report statements migsafe has no model for.")
@click.option(
    "--assume-in-transaction/--no-assume-in-transaction",
    default=None,
    help="Whether the migration tool wraps each migration in a transaction "
    "(default: per layout, see README).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: migsafe.toml or [tool.migsafe] in pyproject.toml, "
    "found from the current directory up).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--color/--no-color", default=None, help="Colour output (default: on a TTY).")
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    pg_version: int | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool,
    assume_in_transaction: bool | None,
    fail_on: str,
    config_path: Path | None,
    exit_zero: bool,
    color: bool | None,
) -> None:
    """Lint migrations: SQL files, or folders of them in their tool's order."""
    from migsafe import config as config_mod
    from migsafe.analysis import Analyzer, Settings
    from migsafe.findings import InputError, Severity
    from migsafe.rules import all_rules
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import discover

    if not paths:
        fail("no paths given; try `migsafe lint migrations/`")
    known = all_rules()
    try:
        cfg = config_mod.load(Path.cwd(), config_path, known)
        selected = (
            config_mod.check_rule_ids(_split(select), "--select", known) if select else cfg.select
        )
        if selected is not None and not selected:
            raise config_mod.ConfigError("select names no rule ids, so nothing would be checked")
        ignored = cfg.ignore | config_mod.check_rule_ids(_split(ignore), "--ignore", known)
        version = (
            config_mod.check_pg_version(pg_version, "--pg-version")
            if pg_version is not None
            else cfg.pg_version
        )
    except config_mod.ConfigError as exc:
        fail(str(exc))
    settings = Settings(
        pg_version=version,
        select=selected,
        ignore=ignored,
        severity=cfg.severity,
        assume_in_transaction=(
            assume_in_transaction
            if assume_in_transaction is not None
            else cfg.assume_in_transaction
        ),
        strict=strict,
    )
    unreadable: list[SourceError] = []
    migrations = discover(paths, cfg.exclude, unreadable)
    result = Analyzer(settings).run(migrations)
    result.errors[:0] = [InputError(e.path, None, None, e.message) for e in unreadable]

    if fmt == "json":
        from migsafe.report import json as json_report

        click.echo(json_report.render(result))
    else:
        from migsafe.report import text as text_report

        texts = {(m.display, m.direction == "down"): m.text for m in migrations}
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(text_report.render(result, texts, use_colour), color=use_colour)

    if result.errors:
        sys.exit(EXIT_INPUT)
    threshold = Severity(fail_on).rank
    if not exit_zero and any(f.severity.rank >= threshold for f in result.findings):
        sys.exit(EXIT_FINDINGS)


@main.command("rules")
def list_rules() -> None:
    """List the rules with their default severity and summary."""
    from migsafe.rules import all_rules

    rules = all_rules()
    width = max(len(r) for r in rules)
    for r in sorted(rules.values(), key=lambda r: (r.family, r.id)):
        note = "" if r.default_enabled else " (only with --strict or --select)"
        click.echo(f"{r.id:<{width}}  {r.severity.value:<7}  {r.family:<12}  {r.summary}{note}")


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's page: what it flags, why, and the safe way."""
    from importlib.resources import files

    from migsafe.config import ConfigError, check_rule_ids
    from migsafe.rules import all_rules

    try:
        check_rule_ids([rule_id], "explain", all_rules())
    except ConfigError as exc:
        fail(str(exc))
    try:
        text = files("migsafe.rule_docs").joinpath(f"{rule_id}.md").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        # Running from a source checkout that is not installed: the pages sit beside it.
        text = (Path(__file__).parents[1] / "rules" / f"{rule_id}.md").read_text(encoding="utf-8")
    click.echo(text)
