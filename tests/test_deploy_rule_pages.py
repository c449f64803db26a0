"""Every lint-deploy rule is registered once and has a page under rules/, and every page's
YAML behaves as it says: the Example trips the rule, the Use-instead does not. The pages
share the folder with the lint rules' pages, so no id may be both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.deploy_lint import RULES
from migsafe.rules import all_rules

PAGES = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def yaml_block(page: str, heading: str) -> str:
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"expected one ```yaml block under {heading}"
    return str(blocks[0])


def test_no_deploy_rule_id_is_a_lint_rule_id() -> None:
    assert not set(RULES) & set(all_rules())


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_deploy_rule_page(rule_id: str) -> None:
    pytest.importorskip("yaml", reason="lint-deploy reads YAML with PyYAML (the k8s extra)")
    from migsafe.deploy_lint import check_text

    page = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {rule_id}\n")
    for heading in (*SECTIONS, "## Fix safety"):
        assert heading in page, f"{rule_id}.md lacks {heading!r}"
    assert f"reports it as an {RULES[rule_id].severity.value}" in page or (
        f"reports it as a {RULES[rule_id].severity.value}" in page
    )
    bad = [b.rule for b in check_text(yaml_block(page, "## Example"), "example.yaml")]
    assert rule_id in bad, "the Example does not trip the rule"
    good = [b.rule for b in check_text(yaml_block(page, "## Use instead"), "good.yaml")]
    assert good == [], "the Use-instead example trips a rule"


def test_explain_prints_a_deploy_rule_page() -> None:
    done = CliRunner().invoke(main, ["explain", "webhook-mismatch"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("# webhook-mismatch\n")
    assert "## Use instead" in done.output
