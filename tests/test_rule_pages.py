"""Every rule has a page under rules/, and every page's examples behave as it says: the
Bad example fires the rule, the Good example does not. Docs cannot drift from behaviour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migsafe.analysis import Settings, lint_text
from migsafe.rules import all_rules

PAGES = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def sql_block(page: str, heading: str) -> str:
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```sql\n(.*?)```", section, re.S)
    assert m, f"no ```sql block under {heading}"
    return m.group(1)


def fired(rule_id: str, sql: str) -> list[str]:
    settings = Settings(select=frozenset({rule_id}))
    result = lint_text(sql, settings, path=f"{rule_id}.sql")
    assert not result.errors, result.errors
    return [f.message for f in result.findings if f.rule == rule_id]


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.stem for p in PAGES.glob("*.md") if p.stem != "README"}
    assert pages == set(all_rules())


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_page_examples(rule_id: str) -> None:
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {rule_id}\n")
    for heading in SECTIONS:
        assert heading in page, f"{rule_id}.md lacks {heading!r}"
    assert fired(rule_id, sql_block(page, "## Example")), "the Bad example does not fire"
    assert not fired(rule_id, sql_block(page, "## Use instead")), "the Good example fires"
