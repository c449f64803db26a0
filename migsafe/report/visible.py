"""Characters a report format cannot carry, made visible instead.

SQL text can hold any character: a DOS end-of-file mark (Ctrl-Z) left at the end of a file
ends up in the syntax error's message, and a quoted identifier may hold control characters.
XML 1.0 forbids most C0 controls, lone surrogates, U+FFFE and U+FFFF outright (a parser
rejects the whole JUnit file), and in a GitHub annotation a control character is invisible.
Each is written as the escape a programmer would type for it (``\\x1a``), so the message
still says which character is there.
"""

from __future__ import annotations

import re

# Tab, LF and CR are allowed in XML 1.0 and mean what they say.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with each character XML 1.0 forbids (and DEL) written as an escape."""
    return _INVISIBLE.sub(_escape, text)
