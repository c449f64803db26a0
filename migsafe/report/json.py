"""Machine output: a stable, versioned JSON document (``"version": 1``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from migsafe.analysis import Result
from migsafe.findings import Finding, Severity
from migsafe.ops import Span

VERSION = 1


def _span(span: Span) -> dict[str, int]:
    return {
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _finding(f: Finding) -> dict[str, Any]:
    fix = None
    if f.fix is not None:
        fix = {
            "description": f.fix.description,
            "edits": [{**_span(e.span), "text": e.text} for e in f.fix.edits],
        }
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "path": f.path,
        **_span(f.span),
        "message": f.message,
        "help": f.help,
        "fix": fix,
        "direction": "down" if f.down else "up",
    }


def document(
    result: Result, extra: Mapping[int, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The document; ``extra`` adds keys to the entry of the statement at that index of
    ``result.statements`` (what ``migsafe trace`` observed)."""
    files: dict[str, list[dict[str, Any]]] = {path: [] for path in result.files}
    for index, report in enumerate(result.statements):
        st = report.statement
        entry: dict[str, Any] = {
            **_span(st.span),
            "sql": st.sql,
            "op": st.kind,
            "locks": dict(report.effect.locks),
            "rewrites": list(report.effect.rewrites),
            "scans": list(report.effect.scans),
            "direction": report.migration.direction,
        }
        if st.kind == "alter_table":
            entry["ops"] = [op.kind for op in st.ops]
        if report.online is not None:
            # MySQL/MariaDB: how the server runs it; null for what is not an ALTER.
            entry["online"] = report.online.as_json()
        if extra and index in extra:
            entry.update(extra[index])
        files.setdefault(report.migration.display, []).append(entry)
    counts = Counter(f.severity for f in result.findings)
    return {
        "version": VERSION,
        "files": [{"path": path, "statements": stmts} for path, stmts in files.items()],
        "findings": [_finding(f) for f in result.sorted_findings()],
        "errors": [
            {"path": e.path, "line": e.line, "column": e.column, "message": e.message}
            for e in result.errors
        ],
        "summary": {
            "files": len(result.files),
            "statements": len(result.statements),
            "errors": counts[Severity.ERROR],
            "warnings": counts[Severity.WARNING],
        },
    }


def render(result: Result) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False)
