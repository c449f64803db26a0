"""Every rule has a page under rules/, and every page's examples behave as it says: the
Bad example fires the rule, the Good example does not. Docs cannot drift from behaviour.

A section may hold two sql blocks: the first is an earlier migration that the example needs
as context (the old type of a column, say); only the last is checked for findings.

Trace-only rules (``lock-model-mismatch``) are checked for their sections, but their examples
are not expected to fire: the finding means migsafe's lock model was wrong, and each such
error is fixed when found, so no statement reproduces it. Their examples still run through
``migsafe trace`` with every other page's, in tests/test_trace.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migsafe.analysis import Analyzer, Settings
from migsafe.rules import all_rules
from migsafe.sources import Migration

PAGES = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def sql_blocks(page: str, heading: str) -> list[str]:
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert 1 <= len(blocks) <= 2, f"expected one or two ```sql blocks under {heading}"
    return blocks


def fired(rule_id: str, blocks: list[str]) -> list[str]:
    migrations = [
        Migration(path=Path(f"{i}.sql"), display=f"{i}.sql", text=sql)
        for i, sql in enumerate(blocks)
    ]
    result = Analyzer(Settings(select=frozenset({rule_id}))).run(migrations)
    assert not result.errors, result.errors
    checked = migrations[-1].display
    return [f.message for f in result.findings if f.rule == rule_id and f.path == checked]


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.stem for p in PAGES.glob("*.md") if p.stem != "README"}
    assert pages == set(all_rules())


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_page_examples(rule_id: str) -> None:
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {rule_id}\n")
    for heading in SECTIONS:
        assert heading in page, f"{rule_id}.md lacks {heading!r}"
    if all_rules()[rule_id].trace_only:
        return
    assert fired(rule_id, sql_blocks(page, "## Example")), "the Bad example does not fire"
    assert not fired(rule_id, sql_blocks(page, "## Use instead")), "the Good example fires"
