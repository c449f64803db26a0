"""Configuration from ``[tool.migsafe]`` in pyproject.toml or from migsafe.toml.

The file is found by walking up from the current directory; the first ``migsafe.toml``, or
``pyproject.toml`` that has a ``[tool.migsafe]`` table, wins. Every key and rule id is
checked: a typo is an error that names it, never a silently ignored setting.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migsafe import locks
from migsafe.findings import Severity


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    pg_version: int = locks.DEFAULT_VERSION
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    severity: dict[str, Severity | None] = field(default_factory=dict)
    assume_in_transaction: bool | None = None
    exclude: tuple[str, ...] = ()
    # Where releases come from (migsafe.releases); None: releases not configured.
    releases: str | None = None
    tag_pattern: str = "v*"
    releases_file: Path = Path("releases.toml")
    compat_window: int = 1
    # Release version → the objects ("table", "table.column") its application no longer
    # uses: contracts built from migrations for that release and later ones leave them out.
    retired: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Where `migsafe deploy` keeps the release ledger (migsafe.ledger).
    ledger_schema: str = "public"
    ledger_table: str = "migsafe_releases"
    # [tool.migsafe.deploy]: deployer options (checked by migsafe.deploy.check_settings).
    deploy: dict[str, object] = field(default_factory=dict)
    # postgresql | mysql | mariadb (None: per file, see migsafe.dialects), and the target
    # server ("mysql-8.0", "mariadb-10.11", "postgresql-16").
    dialect: str | None = None
    server_version: str | None = None


KEYS = (
    "pg-version",
    "select",
    "ignore",
    "severity",
    "assume-in-transaction",
    "exclude",
    "releases",
    "tag-pattern",
    "releases-file",
    "compat-window",
    "retired",
    "ledger-schema",
    "ledger-table",
    "deploy",
    "dialect",
    "server-version",
)
RELEASE_SOURCES = ("git", "file", "annotations")


def find(start: Path) -> tuple[Path, dict[str, Any]] | None:
    import tomllib

    for folder in (start, *start.parents):
        own = folder / "migsafe.toml"
        if own.exists():
            return own, _load(own, tomllib)
        project = folder / "pyproject.toml"
        if project.is_file():
            data = _load(project, tomllib)
            table = data.get("tool", {}).get("migsafe")
            if isinstance(table, dict):
                return project, table
    return None


def _load(path: Path, tomllib: Any) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if path.name == "migsafe.toml" and isinstance(data.get("tool"), dict):
        data = data["tool"].get("migsafe", data)
    return data


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_rule_ids(ids: Any, where: str, known: Any) -> frozenset[str]:
    if not isinstance(ids, list | tuple | set | frozenset) or not all(
        isinstance(i, str) for i in ids
    ):
        raise ConfigError(f"{where}: expected a list of rule ids")
    for rule_id in ids:
        if rule_id not in known:
            raise ConfigError(
                f"{where}: unknown rule id {rule_id!r}{_suggest(rule_id, known)}; "
                "`migsafe rules` lists them"
            )
    return frozenset(ids)


def check_pg_version(value: Any, where: str) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value not in locks.SUPPORTED_VERSIONS
    ):
        versions = locks.SUPPORTED_VERSIONS
        raise ConfigError(
            f"{where}: PostgreSQL major version must be {versions.start} to {versions.stop - 1}, "
            f"got {value!r}"
        )
    return value


_OBJECT = re.compile(
    r"^(?:[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}"
    r"|[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){1,2}:.+"
    r"|type [A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?(:.+)?)$"
)


def check_retired(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    """``[tool.migsafe.retired]``: each key a release version, each value a list of
    ``table`` or ``table.column`` names (``schema.table.column`` outside public), enum
    labels as ``type mood:sad`` (``type mood`` for the whole type), or members of a
    MySQL/MariaDB ENUM or SET column as ``orders.status:cancelled``. Checked
    strictly: a misspelt version or object would silently keep a retired object in the
    contract, or drop one still in use."""
    from migsafe.releases import ReleaseError, version_key

    if not isinstance(value, dict):
        raise ConfigError(
            f'{where}: retired must be a table of release version = ["table.column", ...], '
            f"got {value!r}"
        )
    retired: dict[str, tuple[str, ...]] = {}
    for version, objects in value.items():
        try:
            version_key(version, f"{where}: retired")
        except ReleaseError as exc:
            raise ConfigError(str(exc)) from None
        if not isinstance(objects, list) or not all(isinstance(o, str) for o in objects):
            raise ConfigError(
                f'{where}: retired."{version}" must be a list of "table" or "table.column" '
                f"names, got {objects!r}"
            )
        for name in objects:
            if not _OBJECT.match(name):
                raise ConfigError(
                    f'{where}: retired."{version}": {name!r} is not a "table", '
                    '"table.column", "type enum:label" or "table.column:label" name'
                )
        retired[version] = tuple(objects)
    return retired


def parse(data: dict[str, Any], path: Path | None, known_rules: Any) -> Config:
    where = str(path) if path else "configuration"
    for key in data:
        if key not in KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [tool.migsafe]{_suggest(key, KEYS)}; "
                f"known keys: {', '.join(KEYS)}"
            )
    severity: dict[str, Severity | None] = {}
    levels = data.get("severity") or {}
    if not isinstance(levels, dict):
        raise ConfigError(
            f'{where}: severity must be a table of rule id = "error" | "warning" | '
            f'"off", got {levels!r}'
        )
    for rule_id, level in levels.items():
        check_rule_ids([rule_id], f"{where}: severity", known_rules)
        if level not in ("error", "warning", "off"):
            raise ConfigError(
                f'{where}: severity of {rule_id!r} must be "error", "warning" or "off", '
                f"got {level!r}"
            )
        severity[rule_id] = None if level == "off" else Severity(level)
    assume = data.get("assume-in-transaction")
    if assume is not None and not isinstance(assume, bool):
        raise ConfigError(f"{where}: assume-in-transaction must be true or false, got {assume!r}")
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise ConfigError(f"{where}: exclude must be a list of glob patterns")
    releases = data.get("releases")
    if releases is not None and releases not in RELEASE_SOURCES:
        raise ConfigError(
            f'{where}: releases must be "git", "file" or "annotations", got {releases!r}'
        )
    tag_pattern = data.get("tag-pattern", "v*")
    if not isinstance(tag_pattern, str) or not tag_pattern:
        raise ConfigError(f'{where}: tag-pattern must be a git tag glob such as "v*"')
    releases_file = data.get("releases-file", "releases.toml")
    if not isinstance(releases_file, str) or not releases_file:
        raise ConfigError(f"{where}: releases-file must be a path, got {releases_file!r}")
    window = data.get("compat-window", 1)
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise ConfigError(
            f"{where}: compat-window must be a whole number of releases (0 or more), got {window!r}"
        )
    retired = check_retired(data.get("retired", {}), where)
    ledger = {}
    for key, default in (("ledger-schema", "public"), ("ledger-table", "migsafe_releases")):
        value = data.get(key, default)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][\w$]{0,62}", value):
            raise ConfigError(f"{where}: {key} must be an SQL identifier, got {value!r}")
        ledger[key] = value
    from migsafe.deploy import check_settings
    from migsafe.sources.sqlfiles import Glob

    try:
        deploy = check_settings(data.get("deploy", {}), where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if isinstance(deploy.get("socket"), str):
        deploy["socket"] = (path.parent if path is not None else Path()) / str(deploy["socket"])
    dialect = check_dialect(data.get("dialect"), where + ": dialect")
    server_version = check_server_version(data.get("server-version"), where + ": server-version")
    # A relative releases-file is read from the config file's folder, where it was written.
    base = path.parent if path is not None else Path()
    return Config(
        path=path,
        pg_version=check_pg_version(
            data.get("pg-version", locks.DEFAULT_VERSION), where + ": pg-version"
        ),
        select=check_rule_ids(data["select"], where + ": select", known_rules)
        if "select" in data
        else None,
        ignore=check_rule_ids(data.get("ignore", []), where + ": ignore", known_rules),
        severity=severity,
        assume_in_transaction=assume,
        # Relative to the config file's folder, wherever migsafe runs from.
        exclude=tuple(Glob(e, path.parent) for e in exclude) if path else tuple(exclude),
        releases=releases,
        tag_pattern=tag_pattern,
        releases_file=base / releases_file,
        compat_window=window,
        retired=retired,
        ledger_schema=ledger["ledger-schema"],
        ledger_table=ledger["ledger-table"],
        deploy=deploy,
        dialect=dialect,
        server_version=server_version,
    )


def check_dialect(value: Any, where: str) -> str | None:
    from migsafe.dialects import DIALECTS

    if value is None or value in DIALECTS:
        return value  # type: ignore[no-any-return]
    raise ConfigError(f"{where} must be one of {', '.join(DIALECTS)}, got {value!r}")


def check_server_version(value: Any, where: str) -> str | None:
    from migsafe import dialects

    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f'{where} must be a string such as "mariadb-10.11", got {value!r}')
    try:
        return dialects.check_server_version(value, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def load(start: Path, explicit: Path | None, known_rules: Any) -> Config:
    if explicit is not None:
        import tomllib

        if explicit.is_dir():
            raise ConfigError(f"{explicit}: is a directory, not a config file")
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        data = _load(explicit, tomllib)
        tool = data.get("tool")
        if isinstance(tool, dict) and ("migsafe" in tool or explicit.name == "pyproject.toml"):
            data = tool.get("migsafe", {})
        return parse(data, explicit, known_rules)
    found = find(start)
    if found is None:
        return Config()
    return parse(found[1], found[0], known_rules)
