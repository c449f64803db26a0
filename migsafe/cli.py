"""The ``migsafe`` command: parse arguments, call the library, pick a reporter, set the exit
code (0 clean, 1 findings at or above --fail-on, 2 usage or input error)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--database-url", help="A PostgreSQL server to make the scratch database on.")
@click.option(
    "--seed-rows",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Fill every table with this many generated rows before each migration.",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help='Value for a template placeholder such as {{ index .Options "NAME" }}.',
)
@click.option(
    "--setup",
    "setup_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQL run in the scratch database first: schemas or extensions the migrations "
    "expect their environment to provide.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--select", multiple=True, help="Only these rule ids (comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rule ids (comma-separated).")
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
    help="Config file (default: as for lint).",
)
@click.option("--color/--no-color", default=None, help="Colour output (default: on a TTY).")
def trace(
    paths: tuple[Path, ...],
    database_url: str | None,
    seed_rows: int,
    variables: tuple[str, ...],
    setup_path: Path | None,
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str,
    config_path: Path | None,
    color: bool | None,
) -> None:
    """Apply migrations to a scratch database and report what each statement did (locks,
    rewrites, scans, duration) where it differs from the lock model.

    Exit codes: 0 as predicted, 1 findings at or above --fail-on, 2 input errors, statements
    that failed, or no usable database.
    """
    from migsafe import config as config_mod
    from migsafe import trace as trace_mod
    from migsafe.db import DatabaseError
    from migsafe.db.ephemeral import scratch_database
    from migsafe.findings import InputError, Severity
    from migsafe.rules import all_rules
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import discover

    if not paths:
        fail("no paths given; try `migsafe trace migrations/ --database-url URL`")
    known = all_rules()
    try:
        cfg = config_mod.load(Path.cwd(), config_path, known)
        selected = (
            config_mod.check_rule_ids(_split(select), "--select", known) if select else cfg.select
        )
        ignored = cfg.ignore | config_mod.check_rule_ids(_split(ignore), "--ignore", known)
    except config_mod.ConfigError as exc:
        fail(str(exc))
    values: dict[str, str] = {}
    for item in variables:
        name, eq, value = item.partition("=")
        if not eq or not name:
            fail(f"--var {item!r}: expected NAME=VALUE")
        values[name] = value
    setup = None
    if setup_path is not None:
        try:
            setup = setup_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--setup {setup_path}: {exc}")
    options = trace_mod.Options(
        seed_rows=seed_rows,
        variables=values,
        setup=setup,
        select=selected,
        ignore=ignored,
        severity=cfg.severity,
    )
    unreadable: list[SourceError] = []
    migrations = discover(paths, cfg.exclude, unreadable)
    progress = _progress_bar if sys.stderr.isatty() else None
    try:
        with scratch_database(database_url, lambda m: click.echo(m, err=True)) as scratch:
            outcome = trace_mod.trace(migrations, scratch, options, progress)
    except DatabaseError as exc:
        fail(str(exc))
    result = outcome.result
    result.errors[:0] = [InputError(e.path, None, None, e.message) for e in unreadable]

    from migsafe.report import trace as trace_report

    if fmt == "json":
        click.echo(trace_report.render_json(outcome))
    else:
        texts = {(m.display, False): m.text for m in migrations if m.direction == "up"}
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(trace_report.render_text(outcome, texts, use_colour), color=use_colour)

    if result.errors or outcome.failed:
        sys.exit(EXIT_INPUT)
    threshold = Severity(fail_on).rank
    if any(f.severity.rank >= threshold for f in result.findings):
        sys.exit(EXIT_FINDINGS)


@contextlib.contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int], None]]:
    """A bar over the statements on stderr, which only a person watching a TTY sees."""
    with click.progressbar(length=total, label="tracing", file=sys.stderr) as bar:
        yield bar.update


@main.command("releases")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--source",
    type=click.Choice(["git", "file", "annotations"]),
    help="Where releases come from (default: `releases` in the config, else git).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: as for lint).",
)
def releases(
    paths: tuple[Path, ...], source: str | None, fmt: str, config_path: Path | None
) -> None:
    """Show which release each migration ships in, with its phase (declared or inferred);
    the upcoming release, not tagged yet, comes last."""
    import json

    from migsafe import config as config_mod
    from migsafe import releases as releases_mod
    from migsafe.rules import all_rules
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import discover

    if not paths:
        fail("no paths given; try `migsafe releases migrations/`")
    try:
        cfg = config_mod.load(Path.cwd(), config_path, all_rules())
        migrations = discover(paths, cfg.exclude)
        table = releases_mod.assign(
            migrations,
            source or cfg.releases or "git",
            tag_pattern=cfg.tag_pattern,
            releases_file=cfg.releases_file,
        )
    except (config_mod.ConfigError, SourceError, releases_mod.ReleaseError) as exc:
        fail(str(exc))
    phases = releases_mod.entries(migrations)
    index = {id(m): i for i, m in enumerate(migrations)}
    rows = [
        (r, [phases[index[id(m)]] for m in r.migrations if index[id(m)] in phases]) for r in table
    ]
    if fmt == "json":
        doc = {
            "version": 1,
            "releases": [
                {
                    "release": r.name,
                    "upcoming": r.version is None,
                    "migrations": [
                        {
                            "id": releases_mod.migration_id(e.migration),
                            "path": e.migration.display,
                            "phase": e.phase.value if e.phase else None,
                            "declared": e.declared,
                        }
                        for e in found
                    ],
                }
                for r, found in rows
            ],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    width = max(
        (len(releases_mod.migration_id(e.migration)) for _, f in rows for e in f), default=0
    )
    for r, found in rows:
        click.echo(r.name)
        if not found:
            click.echo("  (no migrations)")
        for e in found:
            phase = e.phase.value if e.phase else "neutral"
            how = "declared" if e.declared else "inferred"
            mid = releases_mod.migration_id(e.migration)
            click.echo(f"  {mid:<{width}}  {phase:<8}  ({how})")


@main.command("rules")
def list_rules() -> None:
    """List the rules with their default severity and summary."""
    from migsafe.rules import all_rules

    rules = all_rules()
    width = max(len(r) for r in rules)
    for r in sorted(rules.values(), key=lambda r: (r.family, r.id)):
        note = (
            " (migsafe trace only)"
            if r.trace_only
            else ("" if r.default_enabled else " (only with --strict or --select)")
        )
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
