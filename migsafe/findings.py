"""What analysis hands to reporters: findings with their rule, place, advice and fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from migsafe.ops import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        return 2 if self is Severity.ERROR else 1


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text in ``span`` (possibly empty, for an insertion) with ``text``."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Fix:
    description: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    path: str
    span: Span
    message: str
    help: str
    fix: Fix | None = None
    down: bool = False


@dataclass(frozen=True, slots=True)
class InputError:
    """Bad input that stops one file from being linted (syntax error, unreadable file)."""

    path: str
    line: int
    column: int
    message: str
