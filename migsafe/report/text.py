"""Human output, compiler style: location, rule and message, the source line with the span
underlined, then what to do instead. Text from the migrations (messages quote names, the
snippet shows the line) goes through :func:`visible`, so a control character in a file
cannot drive the terminal."""

from __future__ import annotations

from collections import Counter

import click

from migsafe.analysis import Result
from migsafe.findings import Finding, Severity
from migsafe.parse.text import SourceText, source_text
from migsafe.report.visible import visible

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow"}


def _snippet(source: SourceText, f: Finding, colour: bool) -> list[str]:
    span = f.span
    text = source.line(span.line).rstrip("\r")
    end = span.end_column if span.end_line == span.line else len(text) + 1
    width = max(end - span.column, 1)
    gutter = " " * len(str(span.line))
    # Keep the line's tabs in the indent so the carets sit under the span.
    indent = "".join(ch if ch == "\t" else " " for ch in text[: span.column - 1])
    marks = indent + "^" * width
    if span.end_line > span.line:
        marks += " …"
    if colour:
        marks = click.style(marks, fg=_COLOURS[f.severity], bold=True)
    return [f"{gutter} |", f"{span.line} | {visible(text)}", f"{gutter} | {marks}"]


def _fixed(f: Finding, text: str, colour: bool) -> list[str]:
    """The lines as the fix leaves them, at most four."""
    assert f.fix is not None
    first, changed = f.fix.changed_lines(text)
    width = len(str(first + len(changed)))
    shown = [
        f"{first + i:>{width}} + {visible(line.rstrip(chr(13)))}"
        for i, line in enumerate(changed[:4])
    ]
    if colour:
        shown = [click.style(line, fg="green") for line in shown]
    return shown


def render(result: Result, texts: dict[tuple[str, bool], str], colour: bool) -> str:
    """``texts`` maps (path, is a down migration) to the text that migration was read from:
    for a file holding both directions (dbmate) each has its own, the other half blanked."""
    lines: list[str] = []
    for err in result.errors:
        shown = visible(str(err))
        lines.append(click.style(shown, fg="red", bold=True) if colour else shown)
    for f in result.sorted_findings():
        label = f"{f.severity.value}[{f.rule}]"
        if colour:
            label = click.style(label, fg=_COLOURS[f.severity], bold=True)
        down = " (down migration)" if f.down else ""
        where = f"{visible(f.path)}:{f.span.line}:{f.span.column}"
        lines.append(f"{where}: {label}{down} {visible(f.message)}")
        text = texts.get((f.path, f.down))
        if text is not None:
            lines.extend(_snippet(source_text(text), f, colour))
        gutter = " " * len(str(f.span.line))
        lines.append(f"{gutter} = help: {f.help}")
        if f.fix is not None:
            lines.append(f"{gutter} = fix: {f.fix.description}")
            if text is not None:
                lines.extend(_fixed(f, text, colour))
        lines.append("")
    lines.append(summary(result))
    return "\n".join(lines)


def summary(result: Result) -> str:
    counts = Counter(f.severity for f in result.findings)
    errors, warnings = counts[Severity.ERROR], counts[Severity.WARNING]
    files = len(result.files)
    where = (
        f"{files} file{'s' * (files != 1)}, "
        f"{len(result.statements)} statement{'s' * (len(result.statements) != 1)}"
    )
    parts = []
    if result.errors:
        n = len(result.errors)
        parts.append(f"{n} file{'s' * (n != 1)} could not be linted")
    if errors or warnings:
        parts.append(
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    if not parts:
        return f"No problems found ({where})."
    return f"Found {'; '.join(parts)} ({where})."
