"""SARIF 2.1.0, the format GitHub code scanning and most editors' problem panes read.

One ``reportingDescriptor`` per rule id that has results, carrying the rule's summary, its
help and its page (as Markdown, which code scanning shows beside the alert, and as a URI);
results point at their region, and a finding with a fix carries it as ``fixes`` with
``artifactChanges``. Columns count Unicode code points (``columnKind``), as migsafe's do.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path, PurePath
from typing import Any

from migsafe import __version__
from migsafe.analysis import Result
from migsafe.findings import Finding, Fix, Severity
from migsafe.ops import Span
from migsafe.rules import Rule, all_rules, page

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def uri(path: str) -> str:
    """A relative path as a relative URI reference (what code scanning maps onto the
    repository); an absolute one as a file URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        return Path(path).as_uri()
    return urllib.parse.quote(pure.as_posix())


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def _rule(r: Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": r.id,
        "name": "".join(part.capitalize() for part in r.id.split("-")),
        "shortDescription": {"text": r.summary},
        "help": {"text": r.help},
        "defaultConfiguration": {"level": _LEVELS[r.severity]},
        "properties": {"tags": [r.family]},
    }
    found = page(r.id)
    if found is not None:
        descriptor["helpUri"] = found.path.as_uri()
        descriptor["help"]["markdown"] = found.text
    return descriptor


def _fix(f: Finding, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": fix.description},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": uri(f.path)},
                "replacements": [
                    {"deletedRegion": _region(e.span), "insertedContent": {"text": e.text}}
                    for e in sorted(fix.edits, key=lambda e: e.span.start)
                ],
            }
        ],
    }


def document(result: Result) -> dict[str, Any]:
    findings = result.sorted_findings()
    known = all_rules()
    ids = sorted({f.rule for f in findings})
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    results: list[dict[str, Any]] = []
    for f in findings:
        entry: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVELS[f.severity],
            "message": {"text": f"{f.message}\nhelp: {f.help}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(f.path)},
                        "region": _region(f.span),
                    }
                }
            ],
        }
        if f.down:
            entry["properties"] = {"direction": "down"}
        if f.fix is not None:
            entry["fixes"] = [_fix(f, f.fix)]
        results.append(entry)
    notifications = []
    for e in result.errors:
        location: dict[str, Any] = {"artifactLocation": {"uri": uri(e.path)}}
        if e.line is not None:
            location["region"] = {"startLine": e.line, "startColumn": e.column or 1}
        notifications.append(
            {
                "level": "error",
                "message": {"text": str(e)},
                "locations": [{"physicalLocation": location}],
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "migsafe",
                        "version": __version__,
                        "rules": [_rule(known[rule_id]) for rule_id in ids],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }


def render(result: Result) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False)
