"""examples/alembic-app: the README shows the output `migsafe lint` really gives there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "alembic-app"


def test_readme_shows_the_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE)
    result = CliRunner().invoke(main, ["lint", "--no-color"])
    assert result.exit_code == 1, result.output
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ migsafe lint\n", 1)[1].split("```", 1)[0]
    assert shown == result.stdout
    # The safe revision has no findings; the unsafe one has its two errors.
    assert "0001_customers_and_orders.py" not in result.stdout
    assert "0002_email_and_totals.py:29:29: error[add-required-column]" in result.stdout
    assert "0002_email_and_totals.py:30:5: error[require-concurrent-index]" in result.stdout
