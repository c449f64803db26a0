"""Finding migrations: the ``Migration`` record and the entry point that walks paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from migsafe.findings import InputError
    from migsafe.ops import Statement
    from migsafe.phases import Phase

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration to lint.

    ``text`` is the whole file; for a file holding both directions (dbmate) the other
    section is blanked to spaces, so offsets, lines and columns still match the file.
    ``in_transaction`` is whether the tool that applies it wraps it in a transaction;
    ``single_query`` whether it sends the whole file as one query string, which PostgreSQL
    runs as one implicit transaction when the file holds several statements.
    """

    path: Path
    display: str
    text: str
    direction: Direction = "up"
    layout: str = "plain"
    in_transaction: bool = False
    single_query: bool = False
    key: tuple[object, ...] = ()
    # Statements the source read itself, when ``text`` is not SQL (an Alembic revision's
    # Python, whose op calls were rendered to statements with spans into that Python).
    prepared: tuple[Statement, ...] | None = None

    def statements(self) -> list[Statement]:
        """What the migration runs: the source's own reading, or its SQL parsed as
        PostgreSQL. Raises :class:`migsafe.parse.postgres.SqlSyntaxError` for SQL PostgreSQL
        rejects. Commands that may meet MySQL read through :func:`migsafe.dialects.statements`,
        which picks the parser by dialect."""
        if self.prepared is not None:
            return list(self.prepared)
        from migsafe.parse.postgres import parse

        return parse(self.text)

    @property
    def declared_phase(self) -> Phase | None:
        """The phase the migration declares (``-- migsafe: phase=contract``), if any."""
        from migsafe import declarations

        return declarations.parse(self.text).phase

    @property
    def declared_release(self) -> str | None:
        """The release the migration declares (``-- migsafe: release=2.1.0``), if any."""
        from migsafe import declarations

        return declarations.parse(self.text).release


class SourceError(Exception):
    """A path that cannot be read as migrations (missing, unreadable, not UTF-8)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    def as_input_error(self) -> InputError:
        """The error as a lint result lists it: this file could not be linted (exit 2)."""
        from migsafe.findings import InputError

        return InputError(self.path, None, None, self.message)
