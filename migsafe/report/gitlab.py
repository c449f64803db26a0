"""GitLab Code Quality report: the JSON array a job publishes as ``artifacts: reports:
codequality`` so the merge request's widget lists what the change introduced.

GitLab tells new findings from old ones by ``fingerprint`` alone, so it must not move when
unrelated lines are added above a finding: it hashes the rule, the file, the text of the
statement (whitespace folded) and, for identical statements, which occurrence it is, never
the line number. Without the file's text, the occurrence alone tells findings of one rule in
one file apart.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from migsafe.analysis import Result
from migsafe.findings import Finding, Severity

_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor"}


def _statement_text(f: Finding, texts: Mapping[tuple[str, bool], str]) -> str:
    text = texts.get((f.path, f.down))
    if text is None:
        return ""  # the occurrence count in the fingerprint keeps findings apart
    return " ".join(text[f.span.start : f.span.end].split())


def document(result: Result, texts: Mapping[tuple[str, bool], str]) -> list[dict[str, Any]]:
    """``texts`` maps (path, is a down migration) to the migration's text, as for the text
    report."""
    seen: Counter[tuple[str, ...]] = Counter()
    issues: list[dict[str, Any]] = []
    for e in result.errors:
        basis: tuple[str, ...] = ("input-error", e.path, e.message)
        seen[basis] += 1
        issues.append(_issue("input-error", e.message, "blocker", e.path, e.line or 1, basis, seen))
    for f in result.sorted_findings():
        basis = (f.rule, f.path, "down" if f.down else "up", _statement_text(f, texts))
        seen[basis] += 1
        description = f"{f.rule}: {f.message}"
        issues.append(
            _issue(f.rule, description, _SEVERITIES[f.severity], f.path, f.span.line, basis, seen)
        )
    return issues


def _issue(
    check: str,
    description: str,
    severity: str,
    path: str,
    line: int,
    basis: tuple[str, ...],
    seen: Counter[tuple[str, ...]],
) -> dict[str, Any]:
    digest = hashlib.sha256("\0".join((*basis, str(seen[basis]))).encode("utf-8")).hexdigest()
    return {
        "type": "issue",
        "description": description,
        "check_name": check,
        "categories": ["Bug Risk"],
        "fingerprint": digest,
        "severity": severity,
        "location": {"path": path, "lines": {"begin": line}},
    }


def render(result: Result, texts: Mapping[tuple[str, bool], str]) -> str:
    return json.dumps(document(result, texts), indent=2, ensure_ascii=False)
