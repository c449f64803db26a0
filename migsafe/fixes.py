"""``migsafe lint --fix`` and ``--diff``: apply the fixes that are safe to make without a
person's judgement, and only those.

A fix is applied when its rule is in :data:`SAFE` (the change keeps what the migration does
to the schema and only changes how: CONCURRENTLY where no transaction forbids it, a
lock_timeout before a strong lock, IF [NOT] EXISTS guards). Type changes, NOT VALID and the
like change the schema or what it enforces, so they stay suggestions in the report.

Fixes are made in rounds, like ruff's: lint, take the fixes that do not touch each other
(two insertions at one point count as touching, since their order would be a guess), apply
them, lint again, until no safe fix is left. So a second ``--fix`` finds nothing to do. A
file with a syntax error is never rewritten, and a round whose edits would make a file fail
to parse, or give it a finding it did not have, is undone for that file.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migsafe.analysis import Result
from migsafe.findings import Edit, Finding
from migsafe.sources import Migration, SourceError
from migsafe.sources.sqlfiles import split

# The rules whose fixes are applied, in the order they are preferred when two fire on one
# statement: CONCURRENTLY first, since it also removes the need for a lock_timeout.
SAFE = (
    "require-concurrent-index",
    "require-concurrent-index-drop",
    "require-concurrent-reindex",
    "prefer-robust-statements",
    "require-lock-timeout",
)
# One SET lock_timeout covers every later statement of the session: one per round.
_ONCE_PER_FILE = frozenset({"require-lock-timeout"})
MAX_ROUNDS = 20
_BOM = "\ufeff"


@dataclass
class FileEdit:
    path: Path
    display: str
    before: str
    after: str
    applied: list[str] = field(default_factory=list)  # fix descriptions, in order
    bom: bool = False

    def diff(self) -> str:
        """A unified diff that ``git apply`` and ``patch`` take: lines split at ``\n`` only
        (as they count lines), the byte order mark kept, and a last line without a newline
        marked so."""
        bom = _BOM if self.bom else ""
        out: list[str] = []
        for line in difflib.unified_diff(
            _lines(bom + self.before),
            _lines(bom + self.after),
            f"a/{self.display}",
            f"b/{self.display}",
        ):
            out.append(line)
            if not line.endswith("\n"):
                out.append("\n\\ No newline at end of file\n")
        return "".join(out)

    def write(self) -> None:
        data = (_BOM if self.bom else "") + self.after
        self.path.write_bytes(data.encode("utf-8"))


def _lines(text: str) -> list[str]:
    """``text`` as lines ending in ``\n`` (the last one may not). ``str.splitlines`` also
    splits at form feeds, ``\x1c``, U+2028 and others, which diff tools do not."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


@dataclass
class Outcome:
    result: Result  # the lint of the fixed text
    migrations: list[Migration]  # with the fixed text
    files: list[FileEdit]  # files with at least one fix, in the order first seen
    unfinished: list[str] = field(default_factory=list)  # still had fixes after MAX_ROUNDS


def _edits_span(f: Finding) -> tuple[int, int]:
    assert f.fix is not None
    return min(e.span.start for e in f.fix.edits), max(e.span.end for e in f.fix.edits)


def _apart(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Neither overlapping nor meeting: two insertions at one point are not apart."""
    return a[1] < b[0] or b[1] < a[0]


def choose(findings: Sequence[Finding]) -> list[Finding]:
    """The fixes to make in one round: safe ones, at most one per statement (fixes to one
    statement interact: CONCURRENTLY makes the lock_timeout moot), at most one lock_timeout
    per file, and edits that neither overlap nor meet."""
    chosen: list[Finding] = []
    candidates = [f for f in findings if f.fix is not None and f.rule in SAFE]
    for f in sorted(candidates, key=lambda f: (SAFE.index(f.rule), f.span.start)):
        edits = _edits_span(f)
        statement = (f.span.start, f.span.end)
        if all(
            _apart(edits, _edits_span(c))
            and _apart(statement, (c.span.start, c.span.end))
            and not (f.rule == c.rule and f.rule in _ONCE_PER_FILE)
            for c in chosen
        ):
            chosen.append(f)
    return chosen


def _apply(text: str, chosen: Sequence[Finding]) -> str:
    edits: list[Edit] = [e for f in chosen if f.fix for e in f.fix.edits]
    for edit in sorted(edits, key=lambda e: e.span.start, reverse=True):
        text = text[: edit.span.start] + edit.text + text[edit.span.end :]
    return text


def _read(path: Path) -> tuple[str, bool]:
    try:
        raw = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(str(path), f"cannot read it to fix it: {exc}") from None
    return raw.removeprefix(_BOM), raw.startswith(_BOM)


def fix(
    migrations: Sequence[Migration],
    reported: frozenset[str] | None,
    analyse: Callable[[list[Migration]], Result],
) -> Outcome:
    """Fix the reported migrations' files in memory (the caller writes them, or shows the
    diff); ``analyse`` lints a list of migrations as the command would."""
    current = list(migrations)
    files: dict[str, FileEdit] = {}
    stuck: set[str] = set()  # a round's edits broke the file: it keeps the last good text
    result = analyse(current)
    for _ in range(MAX_ROUNDS):
        broken = {e.path for e in result.errors} | stuck
        by_file: dict[str, list[Finding]] = {}
        for f in result.findings:
            if f.path not in broken and (reported is None or f.path in reported):
                by_file.setdefault(f.path, []).append(f)
        changed: dict[str, tuple[str, int]] = {}  # text and fixes applied before the round
        for display, found in by_file.items():
            chosen = choose(found)
            if not chosen:
                continue
            if display not in files:
                path = next(m.path for m in current if m.display == display)
                text, bom = _read(path)
                files[display] = FileEdit(path, display, text, text, bom=bom)
            edit = files[display]
            changed[display] = (edit.after, len(edit.applied))
            edit.after = _apply(edit.after, chosen)
            edit.applied.extend(f.fix.description for f in chosen if f.fix)
        if not changed:
            return Outcome(result, current, [e for e in files.values() if e.after != e.before])
        before = _counts(result, changed)
        current = _rebuild(current, files, changed)
        result = analyse(current)
        after = _counts(result, changed)
        # A file that no longer parses, or gained a finding (SET lock_timeout turning a
        # one-statement file into an implicit transaction, say), keeps its earlier text.
        broke = {e.path for e in result.errors} & set(changed)
        broke |= {d for d in changed if after[d] - before[d]}
        if broke:
            stuck |= broke
            for display in broke:
                files[display].after, kept = changed[display]
                del files[display].applied[kept:]
            current = _rebuild(current, files, broke)
            result = analyse(current)
    unfinished = [
        e.display
        for e in files.values()
        if choose([f for f in result.findings if f.path == e.display])
    ]
    return Outcome(result, current, [e for e in files.values() if e.after != e.before], unfinished)


def _counts(result: Result, paths: Iterable[str]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {p: Counter() for p in paths}
    for f in result.findings:
        if f.path in counts:
            counts[f.path][f.rule] += 1
    return counts


def _rebuild(
    migrations: list[Migration], files: dict[str, FileEdit], changed: Collection[str]
) -> list[Migration]:
    """The migrations with the changed files' new text, split as their files are."""
    out: list[Migration] = []
    done: set[str] = set()
    for m in migrations:
        if m.display not in changed:
            out.append(m)
        elif m.display not in done:
            done.add(m.display)
            out.extend(split(m.path, m.display, files[m.display].after))
    return out
