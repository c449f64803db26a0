"""Output of ``migsafe trace``: what each statement did, then the findings as lint shows them.

Text: one compact line per statement (place, op, observed locks, rewrites and scans,
duration, autocommit), seeding notes, the findings in lint's compiler style, and a summary.
JSON: lint's document, each statement entry with an ``observed`` object (null with an
``error`` or ``not_run`` reason when it did not run), and a ``trace`` object for the run.
"""

from __future__ import annotations

import json
from typing import Any

import click

from migsafe.report import json as json_report
from migsafe.report import text as text_report
from migsafe.trace import Trace, Traced


def _version(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def _line(t: Traced, colour: bool) -> str:
    report = t.report
    where = f"{report.migration.display}:{report.statement.span.line}"
    head = f"{where}  {report.statement.kind}"
    if t.error is not None:
        failed = f"FAILED: {t.error}"
        return f"{head}  {click.style(failed, fg='red') if colour else failed}"
    if t.observation is None:
        return f"{head}  not run: {t.not_run}"
    seen = t.observation
    parts = []
    if seen.locks is None:
        parts.append("locks not observed")
    elif seen.locks:
        parts.append("locks " + ", ".join(f"{rel}={mode}" for rel, mode in seen.locks.items()))
    if seen.rewrites:
        parts.append("rewrite " + ", ".join(seen.rewrites))
    if seen.scans:
        parts.append("scan " + ", ".join(seen.scans))
    parts.append(f"{seen.duration_ms:.1f} ms")
    if seen.autocommit:
        parts.append("autocommit")
    return f"{head}  {'  '.join(parts)}"


def render_text(outcome: Trace, texts: dict[tuple[str, bool], str], colour: bool) -> str:
    lines = [_line(t, colour) for t in outcome.traced]
    for display, seeded in outcome.seeding:
        added = sum(s.rows for s in seeded)
        if added:
            lines.append(f"seeded {added} rows before {display}")
        lines.extend(
            f"seeding before {display}: skipped {s.table}: {s.skipped}" for s in seeded if s.skipped
        )
    lines.append("")
    lines.append(text_report.render(outcome.result, texts, colour))
    failed = len(outcome.failed)
    not_run = sum(1 for t in outcome.traced if t.not_run is not None)
    lines.append(
        f"Traced {len(outcome.traced)} statements on PostgreSQL "
        f"{_version(outcome.server_version_num)} ({outcome.provider}): "
        f"{failed} failed, {not_run} not run."
    )
    return "\n".join(lines)


def document(outcome: Trace) -> dict[str, Any]:
    index = {id(r): i for i, r in enumerate(outcome.result.statements)}
    doc = json_report.document(
        outcome.result, {index[id(t.report)]: t.as_json() for t in outcome.traced}
    )
    doc["trace"] = {
        "server_version_num": outcome.server_version_num,
        "provider": outcome.provider,
        "failed": len(outcome.failed),
        "not_run": sum(1 for t in outcome.traced if t.not_run is not None),
        "seeding": [
            {"before": display, "table": s.table, "rows": s.rows, "skipped": s.skipped}
            for display, seeded in outcome.seeding
            for s in seeded
        ],
    }
    return doc


def render_json(outcome: Trace) -> str:
    return json.dumps(document(outcome), indent=2, ensure_ascii=False)
