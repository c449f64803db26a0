"""Every rule has a page under rules/, and every page's examples behave as it says: the
Bad example fires the rule, the Good example does not. Docs cannot drift from behaviour.

A section may hold two sql blocks: the first is an earlier migration that the example needs
as context (the old type of a column, say); only the last is checked for findings.

Trace-only rules (``lock-model-mismatch``) are checked for their sections, but their examples
are not expected to fire: the finding means migsafe's lock model was wrong, and each such
error is fixed when found, so no statement reproduces it. Their examples still run through
``migsafe trace`` with every other page's, in tests/test_trace.py.

Release rules (``contract-before-retirement``, ``breaks-previous-release``) need to know
which release each block ships in, which SQL cannot say. A section gives it in an HTML
comment, invisible on the rendered page: ``<!-- releases: 1.0.0 2.0.0 -->`` puts its blocks
in those releases, in order; ``<!-- retired: 2.0.0 users.legacy_name -->`` declares that
release 2.0.0 no longer uses ``users.legacy_name`` (as ``[tool.migsafe.retired]`` would).
The support window is the default, one release.

A page whose rule is about MySQL/MariaDB says so with ``<!-- dialect: mysql -->`` under its
title: its examples are linted as that dialect (and run on MariaDB by
tests/test_mysql_rules.py, not through the PostgreSQL trace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migsafe.analysis import Analyzer, Settings
from migsafe.contracts import ReleaseLayout
from migsafe.releases import version_key
from migsafe.rules import all_rules
from migsafe.sources import Migration

PAGES = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def section_of(page: str, heading: str) -> str:
    return page.split(heading, 1)[1].split("\n## ", 1)[0]


def sql_blocks(page: str, heading: str) -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", section_of(page, heading), re.S)
    assert 1 <= len(blocks) <= 2, f"expected one or two ```sql blocks under {heading}"
    return blocks


def release_layout(section: str, count: int) -> ReleaseLayout | None:
    """The releases a section's HTML comments give its blocks (see the module docstring)."""
    m = re.search(r"<!-- releases: ([^>]*?) -->", section)
    if m is None:
        return None
    names = m.group(1).split()
    assert len(names) == count, "<!-- releases: --> must name one release per sql block"
    retired: dict[str, list[str]] = {}
    for version, obj in re.findall(r"<!-- retired: (\S+) (\S+) -->", section):
        retired.setdefault(version, []).append(obj)
    order = sorted({*names, *retired}, key=lambda v: version_key(v, "page"))
    return ReleaseLayout(
        release_of={(f"{i}.sql", "up"): name for i, name in enumerate(names)},
        order=tuple(order),
        retired=retired,
    )


def dialect_of(page: str) -> str | None:
    m = re.search(r"<!-- dialect: (\w+) -->", page)
    return m.group(1) if m else None


def fired(
    rule_id: str, blocks: list[str], section: str = "", dialect: str | None = None
) -> list[str]:
    migrations = [
        Migration(path=Path(f"{i}.sql"), display=f"{i}.sql", text=sql)
        for i, sql in enumerate(blocks)
    ]
    settings = Settings(
        select=frozenset({rule_id}),
        releases=release_layout(section, len(blocks)),
        dialect=dialect,
    )
    result = Analyzer(settings).run(migrations)
    assert not result.errors, result.errors
    checked = migrations[-1].display
    return [f.message for f in result.findings if f.rule == rule_id and f.path == checked]


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    """lint-deploy's rules have their pages here too (tests/test_deploy_rule_pages.py)."""
    from migsafe.deploy_lint import RULES

    pages = {p.stem for p in PAGES.glob("*.md") if p.stem != "README"}
    assert pages == set(all_rules()) | set(RULES)


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_page_examples(rule_id: str) -> None:
    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {rule_id}\n")
    for heading in SECTIONS:
        assert heading in page, f"{rule_id}.md lacks {heading!r}"
    if all_rules()[rule_id].trace_only:
        return
    bad, good = "## Example", "## Use instead"
    dialect = dialect_of(page)
    assert fired(rule_id, sql_blocks(page, bad), section_of(page, bad), dialect), (
        "the Bad example does not fire"
    )
    assert not fired(rule_id, sql_blocks(page, good), section_of(page, good), dialect), (
        "the Good example fires"
    )
