"""pytest plugin: one test item per migration (Alembic revision or SQL file), failing with
its findings, so a team that runs pytest (pytest-alembic, say) gets migration safety in
the same run.

Off unless ``--migsafe`` is given or ``migsafe = true`` is set in the ini options. Then
every collected revision script and ``.sql`` file becomes an item; ``migsafe_paths`` (ini)
adds migration folders to what pytest collects. Each folder is linted once, in its tool's
order and with the context ``migsafe lint FILE`` gives the file, so a migration is judged
against the schema its history built; the item reports only its own file. Settings
(dialect and server version too) come from migsafe's own config (``migsafe.toml`` or
``[tool.migsafe]``); ``migsafe_fail_on`` (``error`` or ``warning``) sets which findings
fail an item.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from migsafe.analysis import Result

_CACHE = pytest.StashKey[dict[tuple[str, Path], "_Linted"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("migsafe")
    group.addoption(
        "--migsafe",
        action="store_true",
        default=False,
        help="Lint migrations (Alembic revisions, SQL files) as test items.",
    )
    parser.addini("migsafe", "Lint migrations as test items (true/false).", type="bool")
    parser.addini("migsafe_paths", "Migration folders to collect.", type="paths", default=[])
    parser.addini(
        "migsafe_fail_on", "Lowest severity that fails an item: error or warning.", default="error"
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("migsafe") or config.getini("migsafe"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "migsafe: a migration linted by migsafe")
    if not _enabled(config):
        return
    config.stash[_CACHE] = {}
    fail_on = config.getini("migsafe_fail_on")
    if fail_on not in ("error", "warning"):
        raise pytest.UsageError(f"migsafe_fail_on must be error or warning, got {fail_on!r}")
    extra = [str(p) for p in config.getini("migsafe_paths")]
    config.args.extend(p for p in extra if p not in config.args)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _enabled(parent.config):
        return None
    if file_path.suffix == ".sql":
        return MigrationFile.from_parent(parent, path=file_path, kind="sql")
    if file_path.suffix == ".py" and file_path.name != "__init__.py":
        from migsafe.sources.alembic import is_revision

        try:
            text = file_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if is_revision(text):
            return MigrationFile.from_parent(parent, path=file_path, kind="alembic")
    return None


class MigrationFile(pytest.File):
    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind

    def collect(self) -> list[pytest.Item]:
        return [MigrationItem.from_parent(self, name="migsafe", kind=self.kind)]


class MigsafeFindings(Exception):
    """The item's findings, already rendered."""


class _Linted:
    def __init__(self, result: Result, texts: dict[tuple[str, bool], str], notes: list[str]):
        self.result = result
        self.texts = texts
        self.notes = notes


class MigrationItem(pytest.Item):
    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.add_marker("migsafe")

    def runtest(self) -> None:
        from migsafe.findings import Severity
        from migsafe.sources.sqlfiles import _display

        linted = self._linted()
        display = _display(self.path)
        result = linted.result
        findings = [f for f in result.findings if f.path == display]
        errors = [e for e in result.errors if e.path == display]
        notes = [n for n in linted.notes if n.startswith(display + ":")]
        threshold = Severity(self.config.getini("migsafe_fail_on")).rank
        failing = [f for f in findings if f.severity.rank >= threshold]
        if errors or failing:
            from migsafe.analysis import Result as Own
            from migsafe.report import text as text_report

            own = Own(findings=findings, errors=errors, files=[display])
            report = text_report.render(own, linted.texts, colour=False)
            raise MigsafeFindings("\n".join([report, *notes]))

    def _linted(self) -> _Linted:
        """The lint of what the file is judged with, as ``migsafe lint FILE`` judges it: a
        revision with its versions folder, a SQL file with the ordered folder its tool
        reads it from (a diesel ``up.sql`` with every migration beside its own folder), a
        lone script alone. Linted once for all of that folder's items."""
        from migsafe.changed import migrations_folder

        cache = self.config.stash[_CACHE]
        where = self.path.parent if self.kind == "alembic" else migrations_folder(self.path)
        key = (self.kind, where or self.path)
        if key not in cache:
            cache[key] = _lint(self.kind, key[1])
        return cache[key]

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, MigsafeFindings):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"migsafe: {self.path.name}"


def _lint(kind: str, where: Path) -> _Linted:
    """Lint ``where``: a folder of migrations in its tool's order, or one SQL file."""
    from migsafe import config as config_mod
    from migsafe.analysis import Analyzer, Settings
    from migsafe.rules import all_rules
    from migsafe.sources import SourceError

    try:
        cfg = config_mod.load(Path.cwd(), None, all_rules())
    except config_mod.ConfigError as exc:
        raise pytest.UsageError(f"migsafe: {exc}") from None
    settings = Settings.from_config(cfg)
    if kind == "alembic":
        from migsafe.sources import alembic

        try:
            found = alembic.discover(paths=[where], exclude=cfg.exclude)
        except SourceError as exc:
            raise MigsafeFindings(str(exc)) from None
        migrations = found.migrations
        result = Analyzer(settings).run(migrations)
        notes = alembic.finish(found, result, strict=None, dialect=cfg.dialect)
    else:
        from migsafe.sources.sqlfiles import discover

        unreadable: list[SourceError] = []
        migrations = discover([where], cfg.exclude, unreadable)
        result = Analyzer(settings).run(migrations)
        result.errors[:0] = [e.as_input_error() for e in unreadable]
        notes = []
    texts = {(m.display, m.direction == "down"): m.text for m in migrations}
    return _Linted(result, texts, notes)
