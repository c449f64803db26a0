"""The shared corpus of real migrations (``../shared/corpus`` beside the checkout): where it
is, and its files in the order each project's ``FILES.tsv`` gives. Tests that read it skip
with a reason where it is absent (a user's fresh clone); CI always has it."""

from __future__ import annotations

import csv
from pathlib import Path

# Resolved, so a linked ../shared compares equal to the paths lint reports.
CORPUS = (Path(__file__).resolve().parents[2] / "shared" / "corpus").resolve()


def rows(project: str) -> list[dict[str, str]]:
    """The rows of ``project``'s FILES.tsv, in apply order."""
    with (CORPUS / project / "FILES.tsv").open(encoding="utf-8") as fh:
        return sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))


def files(dialect: str) -> list[Path]:
    """Every corpus file FILES.tsv marks with ``dialect`` (postgres, mysql), project by project."""
    found: list[Path] = []
    for project in sorted(CORPUS.iterdir()):
        if (project / "FILES.tsv").is_file():
            found.extend(project / r["path"] for r in rows(project.name) if r["dialect"] == dialect)
    return found
