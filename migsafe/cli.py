"""The ``migsafe`` command: parse arguments, call the library, pick a reporter, set the exit
code (0 clean, 1 findings at or above --fail-on, 2 usage or input error)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from migsafe import __version__

if TYPE_CHECKING:
    from migsafe.analysis import Result
    from migsafe.config import Config
    from migsafe.contracts import ReleaseLayout
    from migsafe.releases import Release
    from migsafe.sources import Migration

EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_REFUSED = 3


def fail(message: str) -> NoReturn:
    click.echo(f"migsafe: error: {message}", err=True)
    sys.exit(EXIT_INPUT)


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _configuration(
    config_path: Path | None, select: tuple[str, ...], ignore: tuple[str, ...]
) -> tuple[Config, frozenset[str] | None, frozenset[str]]:
    """The config file's settings and the rule selection, command-line options winning;
    a bad value ends the command with exit 2."""
    from migsafe import config as config_mod
    from migsafe.rules import all_rules

    known = all_rules()
    try:
        cfg = config_mod.load(Path.cwd(), config_path, known)
        selected = (
            config_mod.check_rule_ids(_split(select), "--select", known) if select else cfg.select
        )
        if selected is not None and not selected:
            raise config_mod.ConfigError("select names no rule ids, so nothing would be checked")
        ignored = cfg.ignore | config_mod.check_rule_ids(_split(ignore), "--ignore", known)
    except config_mod.ConfigError as exc:
        fail(str(exc))
    return cfg, selected, ignored


def _exit(result: Result, fail_on: str, *, failed: bool = False, exit_zero: bool = False) -> None:
    """Exit 2 for input errors (or statements that failed), 1 for findings at or above
    ``fail_on``; return (exit 0) otherwise."""
    from migsafe.findings import Severity

    if result.errors or failed:
        sys.exit(EXIT_INPUT)
    threshold = Severity(fail_on).rank
    if not exit_zero and any(f.severity.rank >= threshold for f in result.findings):
        sys.exit(EXIT_FINDINGS)


# Options several commands share, defined once.
_select = click.option("--select", multiple=True, help="Only these rule ids (comma-separated).")
_ignore = click.option("--ignore", multiple=True, help="Skip these rule ids (comma-separated).")
_fail_on = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1.",
)
_config = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: migsafe.toml or [tool.migsafe] in pyproject.toml, "
    "found from the current directory up).",
)
_color = click.option("--color/--no-color", default=None, help="Colour output (default: on a TTY).")


# The deploy-time commands live in modules of their own, imported only when one of them runs
# (or `--help` lists them): a pre-commit `migsafe lint` pays nothing for them.
_LAZY_COMMANDS = {
    "deploy": "migsafe.cli_deploy",
    "gate": "migsafe.cli_deploy",
    "rollback": "migsafe.cli_deploy",
    "serve": "migsafe.cli_serve",
    "lint-deploy": "migsafe.cli_serve",
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _LAZY_COMMANDS and name not in self.commands:
            from importlib import import_module

            module = import_module(_LAZY_COMMANDS[name])
            command = getattr(module, name.replace("-", "_"))
            assert isinstance(command, click.Command)
            self.add_command(command, name)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migsafe")
def main() -> None:
    """Keep database migrations from taking production down."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif", "gitlab", "junit"]),
    default="text",
    show_default=True,
    help="Output format: github (workflow annotations), sarif (code scanning), gitlab "
    "(Code Quality), junit.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file; the text report still goes to the terminal.",
)
@click.option("--pg-version", type=int, help="Target PostgreSQL major version (11 to 17).")
@click.option(
    "--dialect",
    type=click.Choice(["postgresql", "mysql", "mariadb"]),
    help="SQL dialect of the migrations (default: mysql/mariadb for files under a folder of "
    "that name, else postgresql).",
)
@click.option(
    "--server-version",
    metavar="FAMILY-X.Y",
    help="Target server: mysql-8.0, mysql-8.4, mariadb-10.6, mariadb-10.11, mariadb-11.4 "
    "(or a patch release, mysql-8.0.35; postgresql-16 is --pg-version 16).",
)
@_select
@_ignore
@click.option("--strict", is_flag=True, help="Also report statements migsafe has no model for.")
@click.option(
    "--assume-in-transaction/--no-assume-in-transaction",
    default=None,
    help="Whether the migration tool wraps each migration in a transaction "
    "(default: per layout, see README).",
)
@_fail_on
@_config
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--alembic",
    "alembic_ini",
    type=click.Path(path_type=Path, dir_okay=False),
    help="An alembic.ini: lint its project's revisions (also found as a path, or in the "
    "current directory when no path is given).",
)
@click.option(
    "--render-online",
    is_flag=True,
    help="Render Alembic revisions that need a live connection (op.get_bind()) in a "
    "throwaway PostgreSQL (the providers of `migsafe trace`).",
)
@click.option(
    "--database-url",
    help="With --render-online: make the scratch database on this server instead.",
)
@_color
@click.option(
    "--changed",
    is_flag=True,
    help="Report only migration files added or modified since the merge base with --base; "
    "the earlier ones are still replayed for their schema.",
)
@click.option(
    "--base",
    metavar="REF",
    help="With --changed: the branch or commit to compare with "
    "(default: origin/HEAD, then main, then master).",
)
@click.option(
    "--fix",
    "apply_fixes",
    is_flag=True,
    help="Apply the fixes that are safe to make "
    "mechanically, in place (never to a file with a syntax error).",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Show what --fix would change, as a "
    "unified diff, without writing; exit 1 when there is something to fix.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Lint everything again instead of reusing results from .migsafe_cache/.",
)
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    pg_version: int | None,
    dialect: str | None,
    server_version: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool,
    assume_in_transaction: bool | None,
    fail_on: str,
    config_path: Path | None,
    exit_zero: bool,
    alembic_ini: Path | None,
    render_online: bool,
    database_url: str | None,
    color: bool | None,
    output: Path | None,
    changed: bool,
    base: str | None,
    apply_fixes: bool,
    show_diff: bool,
    no_cache: bool,
) -> None:
    """Lint migrations: SQL files, or folders of them in their tool's order, and Alembic
    revisions (an alembic.ini, a versions folder, or revision files). A file of an ordered
    migrations folder is linted after the folder's earlier migrations."""
    from migsafe import changed as changed_mod
    from migsafe import config as config_mod
    from migsafe.analysis import Analyzer, Settings
    from migsafe.sources import SourceError

    if not paths and alembic_ini is None and Path("alembic.ini").is_file():
        alembic_ini = Path("alembic.ini")
    if not paths and alembic_ini is None:
        fail("no paths given; try `migsafe lint migrations/`")
    if database_url is not None and not render_online:
        fail("--database-url is for --render-online (lint itself needs no database)")
    cfg, selected, ignored = _configuration(config_path, select, ignore)
    try:
        settings = Settings.from_config(
            cfg,
            dialect=dialect,
            pg_version=(
                config_mod.check_pg_version(pg_version, "--pg-version")
                if pg_version is not None
                else None
            ),
            server_version=(
                config_mod.check_server_version(server_version, "--server-version")
                if server_version is not None
                else None
            ),
            select=selected,
            ignore=ignored,
            assume_in_transaction=assume_in_transaction,
            strict=strict,
        )
    except config_mod.ConfigError as exc:
        fail(str(exc))
    if base is not None and not changed:
        fail("--base only applies with --changed")
    from migsafe.sources import alembic

    revisions, sql_paths = alembic.split(paths)
    unreadable: list[SourceError] = []
    found = None

    def notify(message: str) -> None:
        click.echo(f"note: {message}", err=True)

    try:
        touched = changed_mod.touched(base, Path.cwd(), notify) if changed else None
        if not sql_paths:
            selection = changed_mod.Selection([])
        elif touched is not None:
            selection = changed_mod.changed(sql_paths, touched, cfg.exclude, unreadable, notify)
        else:
            selection = changed_mod.with_context(sql_paths, cfg.exclude, unreadable, notify)
        if revisions or alembic_ini is not None:
            online = (
                alembic.Online(database_url, lambda m: click.echo(m, err=True))
                if render_online
                else None
            )
            found = alembic.discover(alembic_ini, revisions, cfg.exclude, online=online)
            if touched is not None:
                keep = {m.display for m in found.migrations if changed_mod.is_touched(m, touched)}
                found.only = keep if found.only is None else found.only & keep
    except changed_mod.ChangedError as exc:
        fail(str(exc))
    except SourceError as exc:
        fail(str(exc))
    migrations = selection.migrations + (found.migrations if found else [])
    reported = selection.reported
    if reported is not None and found is not None:
        # Alembic revisions are narrowed by alembic.finish (their own named-files rule).
        reported = reported | {m.display for m in found.migrations}
    selection = changed_mod.Selection(migrations, reported)
    if cfg.releases is not None:
        settings = replace(settings, releases=_release_layout(cfg, migrations))

    def lint_all(ms: list[Migration]) -> Result:
        return Analyzer(settings).run(ms)

    analyse: Callable[[list[Migration]], Result] = lint_all
    if not no_cache and cfg.releases is None:
        from migsafe.cache import Cache

        analyse = Cache(_project_root(cfg), settings).wrap(lint_all)

    def complete(result: Result) -> Result:
        """The result with what discovery found (unreadable files; Alembic's errors and,
        under --strict, its unanalysed calls, else notes shown here), narrowed to the
        selected files."""
        result.errors[:0] = [e.as_input_error() for e in unreadable]
        result = changed_mod.restrict(result, selection)
        if found is not None:
            for note in alembic.finish(found, result, strict=strict, dialect=settings.dialect):
                click.echo(f"note: {note}", err=True)
        return result

    if apply_fixes or show_diff:
        from migsafe import fixes

        try:
            outcome = fixes.fix(migrations, selection.reported, analyse)
        except SourceError as exc:
            fail(str(exc))
        for display in outcome.unfinished:
            click.echo(
                f"migsafe: {display}: stopped after {fixes.MAX_ROUNDS} rounds of fixes; "
                "run again to apply the rest",
                err=True,
            )
        if show_diff:
            click.echo("".join(f.diff() for f in outcome.files), nl=False)
            errors = complete(outcome.result).errors
            for err in errors:
                click.echo(f"migsafe: not fixed: {err}", err=True)
            sys.exit(EXIT_INPUT if errors else EXIT_FINDINGS if outcome.files else 0)
        for edited in outcome.files:
            try:
                edited.write()
            except OSError as exc:
                fail(f"cannot write {edited.display}: {exc.strerror or exc}")
            click.echo(f"fixed {edited.display}: {'; '.join(edited.applied)}", err=True)
        result, migrations = outcome.result, outcome.migrations
    else:
        result = analyse(migrations)
    result = complete(result)

    texts = {(m.display, m.direction == "down"): m.text for m in migrations}
    if output is not None:
        _write(output, _report(fmt, result, texts, colour=False))
    if output is not None or fmt == "text":
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(_report("text", result, texts, use_colour), color=use_colour)
    else:
        click.echo(_report(fmt, result, texts, colour=False))

    _exit(result, fail_on, exit_zero=exit_zero)


def _report(fmt: str, result: Result, texts: dict[tuple[str, bool], str], colour: bool) -> str:
    """The lint report in one of ``lint --format``'s formats; each reads the same findings."""
    from importlib import import_module

    module = import_module(f"migsafe.report.{fmt}")
    if fmt == "text":
        return str(module.render(result, texts, colour))
    if fmt == "gitlab":
        return str(module.render(result, texts))
    return str(module.render(result))


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


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
@click.option(
    "--dialect",
    type=click.Choice(["postgresql", "mysql", "mariadb"]),
    help="mysql/mariadb: apply to a MySQL or MariaDB server (--database-url mysql://…) and "
    "check the online-DDL model there (default: from the URL's scheme).",
)
@_select
@_ignore
@_fail_on
@_config
@_color
def trace(
    paths: tuple[Path, ...],
    database_url: str | None,
    dialect: str | None,
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
    from migsafe import trace as trace_mod
    from migsafe.db import DatabaseError
    from migsafe.db.ephemeral import scratch_database
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import discover

    if not paths:
        fail("no paths given; try `migsafe trace migrations/ --database-url URL`")
    cfg, selected, ignored = _configuration(config_path, select, ignore)
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
    scheme = (database_url or "").partition("://")[0]
    if (dialect or cfg.dialect) in ("mysql", "mariadb") or scheme in ("mysql", "mariadb"):
        _trace_mysql(migrations, database_url, options, unreadable, fmt, fail_on, color)
        return
    progress = _progress_bar if sys.stderr.isatty() else None
    try:
        with scratch_database(database_url, lambda m: click.echo(m, err=True)) as scratch:
            outcome = trace_mod.trace(migrations, scratch, options, progress)
    except DatabaseError as exc:
        fail(str(exc))
    result = outcome.result
    result.errors[:0] = [e.as_input_error() for e in unreadable]

    from migsafe.report import trace as trace_report

    if fmt == "json":
        click.echo(trace_report.render_json(outcome))
    else:
        texts = {(m.display, False): m.text for m in migrations if m.direction == "up"}
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(trace_report.render_text(outcome, texts, use_colour), color=use_colour)

    _exit(result, fail_on, failed=bool(outcome.failed))


def _trace_mysql(
    migrations: list[Migration],
    database_url: str | None,
    options: Any,
    unreadable: list[Any],
    fmt: str,
    fail_on: str,
    color: bool | None,
) -> None:
    """``migsafe trace`` on MySQL/MariaDB: the server judges the online-DDL model."""
    from migsafe.analysis import Settings
    from migsafe.db import DatabaseError, mariadb

    if not database_url:
        fail("tracing MySQL/MariaDB migrations needs --database-url mysql://user:password@host")
    settings = Settings(select=options.select, ignore=options.ignore, severity=options.severity)
    try:
        outcome = mariadb.trace(migrations, database_url, settings)
    except DatabaseError as exc:
        fail(str(exc))
    outcome.result.errors[:0] = [e.as_input_error() for e in unreadable]
    if fmt == "json":
        import json

        click.echo(json.dumps(mariadb.document(outcome), indent=2, ensure_ascii=False))
    else:
        texts = {(m.display, False): m.text for m in migrations if m.direction == "up"}
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(mariadb.render_text(outcome, texts, use_colour), color=use_colour)
    _exit(outcome.result, fail_on, failed=bool(outcome.failed))


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
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="Output format; html is the timeline page: each schema object's life across "
    "releases, with the lint findings marked.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
@_config
def releases(
    paths: tuple[Path, ...],
    source: str | None,
    fmt: str,
    output: Path | None,
    config_path: Path | None,
) -> None:
    """Show which release each migration ships in, with its phase (declared or inferred);
    the upcoming release, not tagged yet, comes last. ``--format html`` draws the timeline,
    linting the migrations with the release rules to mark the findings."""
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
    phases = releases_mod.entries(migrations, cfg.dialect, cfg.server_version, _project_root(cfg))
    index = {id(m): i for i, m in enumerate(migrations)}
    rows = [
        (r, [phases[index[id(m)]] for m in r.migrations if index[id(m)] in phases]) for r in table
    ]
    if fmt == "html":
        from migsafe import contracts
        from migsafe.analysis import Analyzer, Settings
        from migsafe.report import timeline

        try:
            layout = contracts.layout(table, cfg.compat_window, cfg.retired, _project_root(cfg))
        except contracts.ContractError as exc:
            fail(str(exc))
        settings = replace(Settings.from_config(cfg), releases=layout)
        result = Analyzer(settings).run(migrations)
        text = timeline.render(timeline.records(table, phases.values(), result), cfg.retired)
    elif fmt == "json":
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
        text = json.dumps(doc, indent=2)
    else:
        width = max(
            (len(releases_mod.migration_id(e.migration)) for _, f in rows for e in f), default=0
        )
        lines: list[str] = []
        for r, found in rows:
            lines.append(r.name)
            if not found:
                lines.append("  (no migrations)")
            for e in found:
                phase = e.phase.value if e.phase else "neutral"
                how = "declared" if e.declared else "inferred"
                mid = releases_mod.migration_id(e.migration)
                lines.append(f"  {mid:<{width}}  {phase:<8}  ({how})")
        text = "\n".join(lines)
    if output is None:
        click.echo(text)
        return
    try:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")


def _project_root(cfg: Config) -> Path:
    """Where ``.migsafe/contracts`` lives: beside the config file, else the current folder."""
    return cfg.path.parent if cfg.path is not None else Path.cwd()


def _assign(cfg: Config, migrations: Sequence[Migration]) -> list[Release]:
    from migsafe import releases as releases_mod

    try:
        return releases_mod.assign(
            migrations,
            cfg.releases or "git",
            tag_pattern=cfg.tag_pattern,
            releases_file=cfg.releases_file,
        )
    except releases_mod.ReleaseError as exc:
        fail(str(exc))


def _release_layout(cfg: Config, migrations: Sequence[Migration]) -> ReleaseLayout:
    """Releases and contracts for the release rules of ``migsafe lint``."""
    from migsafe import contracts

    try:
        return contracts.layout(
            _assign(cfg, migrations), cfg.compat_window, cfg.retired, _project_root(cfg)
        )
    except contracts.ContractError as exc:
        fail(str(exc))


def _load_config(config_path: Path | None) -> Config:
    from migsafe import config as config_mod
    from migsafe.rules import all_rules

    try:
        return config_mod.load(Path.cwd(), config_path, all_rules())
    except config_mod.ConfigError as exc:
        fail(str(exc))


def _discover(paths: tuple[Path, ...], cfg: Config) -> list[Migration]:
    from migsafe.sources import SourceError
    from migsafe.sources.sqlfiles import discover

    try:
        return discover(paths, cfg.exclude)
    except SourceError as exc:
        fail(str(exc))


def _database_error(dsn: str, exc: Exception) -> NoReturn:
    """One paragraph naming the server without its password: no traceback, no secret."""
    from migsafe.db import database_problem

    fail(database_problem(dsn, exc, "read the schema of the database"))


@main.group()
def contract() -> None:
    """Release contracts: what each release's application needs from the schema."""


@contract.command("capture")
@click.option("--release", "release", required=True, help="The release version, e.g. 2.0.0.")
@click.option("--from-models", "models", metavar="MODULE:ATTR", help="SQLAlchemy MetaData.")
@click.option("--from-database", "database", metavar="URL", help="A live PostgreSQL.")
@click.option(
    "--from-migrations",
    "from_migrations",
    is_flag=True,
    help="The schema at the release's last migration (PATHS), without retired objects.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Default: .migsafe/contracts/."
)
@_config
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def capture(
    release: str,
    models: str | None,
    database: str | None,
    from_migrations: bool,
    output: Path | None,
    config_path: Path | None,
    paths: tuple[Path, ...],
) -> None:
    """Write a release's contract (.migsafe/contracts/RELEASE.json) from its SQLAlchemy
    models, a live database, or the migrations in PATHS."""
    from migsafe import contracts
    from migsafe.db import DatabaseError

    chosen = [s for s in (models, database, from_migrations or None) if s]
    if len(chosen) != 1:
        fail("give exactly one of --from-models, --from-database, --from-migrations PATHS")
    if from_migrations and not paths:
        fail("--from-migrations needs the migration PATHS; try `--from-migrations migrations/`")
    if paths and not from_migrations:
        fail("PATHS are only read with --from-migrations")
    cfg = _load_config(config_path)
    try:
        if models:
            captured = contracts.from_models(models, release)
        elif database:
            try:
                ledger = f"{cfg.ledger_schema}.{cfg.ledger_table}"
                captured = contracts.from_database(database, release, ledger)
            except DatabaseError as exc:
                fail(str(exc))
            except Exception as exc:  # psycopg's connection errors, whatever their class
                _database_error(database, exc)
        else:
            table = _assign(cfg, _discover(paths, cfg))
            captured = contracts.from_migrations(table, release, cfg.retired, cfg.dialect)
        target = output or contracts.path_for(release, _project_root(cfg))
        contracts.save(captured, target)
    except contracts.ContractError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the contract: {exc}")
    click.echo(f"wrote {target} ({len(captured.tables)} tables)")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--against", "release", required=True, help="The release whose contract to check.")
@click.option(
    "--database-url",
    envvar="MIGSAFE_DATABASE_URL",
    help="Check the schema of this live database (default: $MIGSAFE_DATABASE_URL when no "
    "PATHS are given, which keeps the password out of the process list).",
)
@click.option("--at", "at", metavar="MIGRATION", help="Check the schema at this migration.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_config
def check(
    paths: tuple[Path, ...],
    release: str,
    database_url: str | None,
    at: str | None,
    fmt: str,
    config_path: Path | None,
) -> None:
    """Check that a release still works on a schema: a live database (--database-url), or
    the migrations in PATHS replayed up to --at (default: all of them).

    Exit codes: 0 compatible, 3 problems found, 2 input errors.
    """
    from migsafe import compat, contracts
    from migsafe.db import DatabaseError

    source = click.get_current_context().get_parameter_source("database_url")
    if source == click.core.ParameterSource.ENVIRONMENT and (at or paths):
        database_url = None  # PATHS replay migrations; the environment's URL is for others
    if database_url and (at or paths):
        fail("--database-url reads a live database; --at and PATHS replay migrations instead")
    if not database_url and not paths:
        fail("give --database-url URL, or the migration PATHS (with --at MIGRATION)")
    cfg = _load_config(config_path)
    path = contracts.path_for(release, _project_root(cfg))
    if not path.is_file():
        fail(
            f"no contract for release {release} at {path}; capture one with `migsafe contract "
            f"capture --release {release} --from-models MODULE:ATTR` (or --from-database, "
            "--from-migrations) and commit it."
        )
    try:
        wanted = contracts.load(path)
        provenance: compat.Provenance | None = None
        if database_url:
            from migsafe.dialects import introspector

            try:
                schema = introspector(database_url)(database_url)
            except DatabaseError as exc:
                fail(str(exc))
            except Exception as exc:  # psycopg's connection errors, whatever their class
                _database_error(database_url, exc)
        else:
            replayed = compat.replay(_up_to(_discover(paths, cfg), at), cfg.dialect)
            schema, provenance = replayed.schema, replayed.provenance
    except contracts.ContractError as exc:
        fail(str(exc))
    problems = compat.compat(schema, wanted, provenance)
    if fmt == "json":
        import json

        doc = {
            "release": release,
            "compatible": not problems,
            "tables_checked": len(wanted.tables),
            "problems": [p.to_json() for p in problems],
        }
        click.echo(json.dumps(doc, indent=2))
        sys.exit(EXIT_REFUSED if problems else 0)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"release {release} breaks on this schema: {len(problems)} problem(s)")
        sys.exit(EXIT_REFUSED)
    click.echo(f"release {release} works on this schema ({len(wanted.tables)} tables checked)")


def _up_to(migrations: list[Migration], at: str | None) -> list[Migration]:
    """The up migrations through ``at`` (an id such as 0004_email, or a file name)."""
    from migsafe.releases import migration_id

    ups = [m for m in migrations if m.direction == "up"]
    if at is None:
        return ups
    for i, m in enumerate(ups):
        if at in (migration_id(m), m.path.name, m.display):
            return ups[: i + 1]
    fail(f"--at {at}: no such migration among the PATHS; use its id, e.g. 0004_add_email")


@main.command("rules")
def list_rules() -> None:
    """List the rules with their default severity and summary: those of `migsafe lint`,
    then those of `migsafe lint-deploy`."""
    from migsafe.deploy_lint import RULES as DEPLOY_RULES
    from migsafe.rules import all_rules

    rules = all_rules()
    width = max(len(r) for r in [*rules, *DEPLOY_RULES])
    for r in sorted(rules.values(), key=lambda r: (r.family, r.id)):
        note = (
            " (migsafe trace only)"
            if r.trace_only
            else ("" if r.default_enabled else " (only with --strict or --select)")
        )
        click.echo(f"{r.id:<{width}}  {r.severity.value:<7}  {r.family:<12}  {r.summary}{note}")
    for d in sorted(DEPLOY_RULES.values(), key=lambda d: d.id):
        click.echo(f"{d.id:<{width}}  {d.severity.value:<7}  {'lint-deploy':<12}  {d.summary}")


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's page: what it flags, why, and the safe way."""
    from migsafe.config import ConfigError, check_rule_ids
    from migsafe.rules import all_rules, page

    try:
        from migsafe.deploy_lint import RULES as DEPLOY_RULES  # their pages sit beside these

        check_rule_ids([rule_id], "explain", {**all_rules(), **DEPLOY_RULES})
    except ConfigError as exc:
        fail(str(exc))
    found = page(rule_id)
    if found is None:
        fail(f"the page of {rule_id} is not installed (rules/{rule_id}.md)")
    click.echo(found.text)
