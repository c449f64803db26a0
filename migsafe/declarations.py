"""``-- migsafe: key=value`` declarations: what a migration says about itself.

A migration may declare its phase (``-- migsafe: phase=contract``) and the release it ships
in (``-- migsafe: release=2.1.0``), anywhere in the file, usually at the top. They are read
from the text, not from the parsed statements, because comments never reach the IR.
``-- migsafe:ignore`` directives share the prefix but are read by :mod:`migsafe.analysis`:
they have no ``=``, so they never match here.

Consumers ask :attr:`migsafe.sources.Migration.declared_phase` and ``declared_release``,
which call :func:`parse`; a source whose files are not SQL teaches :func:`parse` its own
syntax, so the API stays the same for every source: an Alembic revision declares
``migsafe_phase = "contract"`` / ``migsafe_release = "2.1.0"`` at module level.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from migsafe.phases import Phase

_ANNOTATION = re.compile(r"--\s*migsafe:\s*(?P<key>[A-Za-z_-]+)\s*=\s*(?P<value>\S*)")
# The Alembic form: a module-level string assignment, value quoted.
_PYTHON = re.compile(
    r"^migsafe_(?P<key>phase|release)\s*(?::\s*str\s*)?=\s*(?P<value>.*?)\s*(?:#.*)?$"
)
KEYS = ("phase", "release")


@dataclass(frozen=True, slots=True)
class Problem:
    """An annotation that cannot be used, at its 1-based line and column."""

    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Annotations:
    phase: Phase | None = None
    release: str | None = None
    problems: tuple[Problem, ...] = ()


NONE = Annotations()


# Rules ask once per op; the text's hash is cached by str, so the lookup costs nothing.
@functools.lru_cache(maxsize=64)
def parse(text: str) -> Annotations:
    """The annotations in one migration's text. An unknown key, a bad value or two different
    values for one key are problems (reported by lint and ``migsafe releases`` as input
    errors) and leave that key undeclared rather than guessing."""
    if "migsafe:" not in text and "migsafe_" not in text:
        return NONE
    values: dict[str, str] = {}
    conflicting: set[str] = set()
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        for m in (*_ANNOTATION.finditer(line), *_PYTHON.finditer(line)):
            key, value = m.group("key"), m.group("value")
            if m.re is _PYTHON:
                value = value[1:-1] if value[:1] in "'\"" and value[-1:] == value[:1] else ""
            column = m.start("key") + 1
            if key not in KEYS:
                problems.append(
                    Problem(
                        number,
                        column,
                        f"unknown annotation {key!r} in `-- migsafe: {key}=…`; known: "
                        f"{', '.join(KEYS)}",
                    )
                )
                continue
            if key == "phase" and value not in Phase.__members__.values():
                choices = ", ".join(p.value for p in Phase)
                problems.append(
                    Problem(number, column, f"phase must be one of {choices}, got {value!r}")
                )
                continue
            if not value:
                problems.append(Problem(number, column, f"{key}= needs a value"))
                continue
            if values.setdefault(key, value) != value:
                conflicting.add(key)
                problems.append(
                    Problem(
                        number,
                        column,
                        f"{key} declared twice, as {values[key]!r} and {value!r}; keep one",
                    )
                )
    for key in conflicting:
        del values[key]
    phase = values.get("phase")
    return Annotations(Phase(phase) if phase else None, values.get("release"), tuple(problems))
