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

    def apply(self, text: str) -> str:
        """The file text with the edits made (edits never overlap)."""
        for edit in sorted(self.edits, key=lambda e: e.span.start, reverse=True):
            text = text[: edit.span.start] + edit.text + text[edit.span.end :]
        return text

    def changed_lines(self, text: str) -> tuple[int, list[str]]:
        """The first changed line's number and the lines the edits produce there."""
        first = min(e.span.line for e in self.edits)
        last = max(e.span.end_line for e in self.edits)
        grown = sum(e.text.count("\n") - (e.span.end_line - e.span.line) for e in self.edits)
        return first, self.apply(text).split("\n")[first - 1 : last + grown]


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
    """Bad input that stops one file from being linted (syntax error, unreadable file);
    line and column are None where there is no position to give."""

    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = f":{self.line}:{self.column}" if self.line is not None else ""
        return f"{self.path}{where}: {self.message}"
