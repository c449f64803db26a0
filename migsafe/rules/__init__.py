"""The rule registry. A rule is a function over ``(op, context)`` that yields violations;
:func:`rule` registers it with its id, default severity, summary and the safe alternative.

Rule modules register on import; :func:`all_rules` imports them all, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe.findings import Fix, Severity
from migsafe.ops import Op, Span

if TYPE_CHECKING:
    from migsafe.analysis import Context


@dataclass(frozen=True, slots=True)
class Violation:
    message: str
    span: Span | None = None
    fix: Fix | None = None
    help: str | None = None


Check = Callable[[Op, "Context"], Iterator[Violation]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    help: str
    family: str
    check: Check
    default_enabled: bool = True
    # Findings come from ``migsafe trace`` comparing what PostgreSQL did with the lock model,
    # not from ops: lint never enables the rule.
    trace_only: bool = False
    # The dialects whose migrations the rule checks; None: every dialect.
    dialects: frozenset[str] | None = None


_REGISTRY: dict[str, Rule] = {}
_LOADED = False  # every family imported (a family imported on its own does not count)
_FAMILIES = (
    "locking",
    "destructive",
    "types",
    "transactions",
    "quality",
    "phases",
    "contracts",
    "trace",
    "mysql",
)
POSTGRESQL = frozenset({"postgresql"})
MYSQL = frozenset({"mysql", "mariadb"})
# The lock-model families reason about PostgreSQL's own locks; rules of other families
# that do (its types, CONCURRENTLY, IF [NOT] EXISTS forms) say so with ``dialects=POSTGRESQL``.
# MySQL and MariaDB have their online-DDL rules in rules/mysql.py.
_POSTGRESQL_FAMILIES = frozenset({"locking", "trace"})


def rule(
    id: str,
    severity: Severity,
    summary: str,
    help: str,
    *,
    default_enabled: bool = True,
    trace_only: bool = False,
    dialects: frozenset[str] | None = None,
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        family = check.__module__.rsplit(".", 1)[-1]
        if id in _REGISTRY:
            raise RuntimeError(f"rule {id} registered twice")
        only = dialects
        if only is None and family in _POSTGRESQL_FAMILIES:
            only = POSTGRESQL
        _REGISTRY[id] = Rule(
            id,
            severity,
            summary,
            help,
            family,
            check,
            default_enabled and not trace_only,
            trace_only,
            only,
        )
        return check

    return register


def quoted(name: str) -> str:
    """A relation or column name as messages show it."""
    return f'"{name}"'


# Where the pages sit in a source checkout that is not installed.
_CHECKOUT_PAGES = Path(__file__).resolve().parents[2] / "rules"


@dataclass(frozen=True, slots=True)
class Page:
    """A rule's page (``rules/<id>.md``): where it is, and its Markdown."""

    path: Path
    text: str


def page(rule_id: str) -> Page | None:
    """The rule's page: the one shipped inside the package (``migsafe.rule_docs``), else
    the one beside a source checkout; None when neither exists."""
    from contextlib import suppress
    from importlib.resources import files

    candidates = [_CHECKOUT_PAGES / f"{rule_id}.md"]
    with suppress(ModuleNotFoundError):  # not installed: only the checkout's pages
        candidates.insert(0, Path(str(files("migsafe.rule_docs").joinpath(f"{rule_id}.md"))))
    for path in candidates:
        if path.is_file():
            return Page(path, path.read_text(encoding="utf-8"))
    return None


def all_rules() -> dict[str, Rule]:
    """Every registered rule; importing all families here, whichever were imported first."""
    global _LOADED
    if not _LOADED:
        import importlib

        for family in _FAMILIES:
            importlib.import_module(f"migsafe.rules.{family}")
        _LOADED = True
    return _REGISTRY
