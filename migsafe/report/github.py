"""GitHub Actions workflow commands: one ``::error`` or ``::warning`` line per finding, which
the runner turns into an annotation on the pull request's diff.

The runner reads a command up to the end of its line and splits the properties on ``,`` and
``:``, so values are escaped as GitHub's toolkit does: ``%``, CR and LF everywhere, and ``:``
and ``,`` inside properties too. Other control characters do not end a command, but would
be invisible in the annotation: they are written as escapes (``\\x1a``).
"""

from __future__ import annotations

from migsafe.analysis import Result
from migsafe.findings import Finding, InputError, Severity
from migsafe.report.visible import visible

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def escape_data(text: str) -> str:
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items())
    return f"::{level} {props}::{escape_data(message)}"


def _finding(f: Finding) -> str:
    span = f.span
    properties: dict[str, object] = {"file": f.path, "line": span.line, "endLine": span.end_line}
    if span.end_line == span.line:
        # GitHub only reads columns on a one-line annotation; its end column is inclusive.
        properties.update(col=span.column, endColumn=max(span.end_column - 1, span.column))
    down = " (down migration)" if f.down else ""
    properties["title"] = f"{f.rule}{down}"
    return command(_LEVELS[f.severity], properties, f"{f.message}\nhelp: {f.help}")


def _error(e: InputError) -> str:
    properties: dict[str, object] = {"file": e.path}
    if e.line is not None:
        properties["line"] = e.line
        if e.column is not None:
            properties["col"] = e.column
    properties["title"] = "migsafe: cannot lint this file"
    return command("error", properties, e.message)


def render(result: Result) -> str:
    lines = [_error(e) for e in result.errors]
    lines += [_finding(f) for f in result.sorted_findings()]
    return "\n".join(lines)
