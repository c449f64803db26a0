"""Positions in source text: the one place that turns offsets into lines and columns."""

from __future__ import annotations

import bisect
import functools
import itertools
import re

from migsafe.ops import Span


class SourceText:
    """A file's text with fast offset → (line, column) lookups.

    libpg_query reports byte offsets into UTF-8; reports need character columns. For the
    common all-ASCII file the two are the same and no table is built.
    """

    __slots__ = ("_extra", "_line_starts", "_wide_bytes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        lengths = map((1).__add__, map(len, text.split("\n")))
        self._line_starts = [0, *itertools.accumulate(lengths)][:-1]
        # For each non-ASCII character: its byte offset, and the extra bytes it and those
        # before it take beyond one each. A byte offset maps to a character offset by
        # subtracting the extra bytes of the wide characters before it.
        self._wide_bytes: list[int] = []
        self._extra: list[int] = []
        extra = 0
        for m in _WIDE.finditer(text):
            self._wide_bytes.append(m.start() + extra)
            extra += len(m.group().encode("utf-8")) - 1
            self._extra.append(extra)

    def char_offset(self, byte_offset: int) -> int:
        i = bisect.bisect_left(self._wide_bytes, byte_offset)
        return byte_offset - (self._extra[i - 1] if i else 0)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Span(start, end, line, column, end_line, end_column)

    def line(self, number: int) -> str:
        start = self._line_starts[number - 1]
        end = self._line_starts[number] - 1 if number < len(self._line_starts) else len(self.text)
        return self.text[start:end]


@functools.lru_cache(maxsize=8)
def source_text(text: str) -> SourceText:
    """One SourceText per file text, however many times a file is asked about."""
    return SourceText(text)


_WIDE = re.compile(r"[^\x00-\x7f]")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)


def neutralise_templates(text: str) -> tuple[str, dict[str, str]]:
    """Replace Go-template placeholders (``{{ index .Options "Namespace" }}``) with an
    identifier of exactly the same length, so the SQL parses and every offset stays true.

    Returns the new text and a map from each identifier back to the placeholder it stands
    for, so names in reports read as the author wrote them.
    """
    if "{{" not in text:
        return text, {}
    placeholders: dict[str, str] = {}

    def ident(m: re.Match[str]) -> str:
        body = m.group(0)
        tag = f"tpl{len(placeholders)}"
        if len(body) < len(tag) + 1 or "\n" in body:
            # Too short to tag, or spread over lines: keep the newlines so lines stay put.
            return "".join(ch if ch == "\n" else "x" for ch in body)
        # PostgreSQL truncates identifiers to 63 bytes; pad a longer placeholder with
        # blanks after the identifier instead, which the grammar allows before a dot.
        name = (tag + "_" * len(body))[: min(len(body), 63)]
        placeholders.setdefault(name, body)
        return name + " " * (len(body) - len(name))

    return _TEMPLATE.sub(ident, text), placeholders
