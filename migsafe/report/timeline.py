"""The release timeline: one self-contained HTML page drawing each schema object's life
across releases, with the lint findings marked where they happen.

Expand → contract is a story over several releases (add a column, move the code, retire the
old one, drop it a release later), and a table of migrations hides that story: one has to
replay it in one's head to see that a column was dropped one release too early. So the page
draws it: rows are schema objects (tables, their columns, constraints and indexes, enums,
views), columns are releases in version order with the upcoming one last, each object's bar
runs from the release that introduced it to the one that dropped it, and every change is a
labelled mark carrying the migration id. Findings are attached to the objects their statement
changed, in red with the rule id, and listed in full under the drawing.

The page needs no network and no JavaScript (it is often opened from a CI artifact, offline,
or where scripts are blocked): CSS is inline and the drawing is a plain HTML table, which
also keeps it readable by screen readers. Every mark says in words what colour also says.

Objects are followed by replaying the migrations on a :class:`~migsafe.schema.Schema` and
comparing it before and after each op, so what PostgreSQL does as a side effect (a dropped
table takes its indexes, a column added to a partitioned table reaches every partition) shows
up as it happens; renames are followed explicitly so a renamed object keeps its row.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from migsafe import ops
from migsafe.analysis import Result
from migsafe.findings import Finding, Severity
from migsafe.ops import Op, Span, Statement, bare, in_schema_of
from migsafe.phases import Phase, statement_phases
from migsafe.releases import Entry, Release, migration_id
from migsafe.schema import ColumnState, Schema

_K = TypeVar("_K", str, tuple[int, str])


@dataclass(frozen=True)
class MigrationRecord:
    """One migration as the timeline needs it: its statements (ops), phase and findings.
    Down migrations are listed for their findings only; their ops are not drawn, since a
    rollback is not a step of the schema's history."""

    id: str
    path: str
    down: bool
    phase: Phase | None
    declared: bool
    statements: tuple[Statement, ...]
    findings: tuple[Finding, ...]
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseRecord:
    name: str
    upcoming: bool
    migrations: tuple[MigrationRecord, ...]


def records(
    releases: Sequence[Release], entries: Iterable[Entry], result: Result
) -> list[ReleaseRecord]:
    """The timeline's input from what ``migsafe releases`` already has: the releases, the
    phase of each up migration, and one lint run over the same migrations (which parsed
    every statement, so nothing is parsed twice)."""
    phase_of = {id(e.migration): e for e in entries}
    statements: dict[int, list[Statement]] = {}
    for report in result.statements:
        statements.setdefault(id(report.migration), []).append(report.statement)
    found: dict[tuple[str, bool], list[Finding]] = {}
    for f in result.findings:
        found.setdefault((f.path, f.down), []).append(f)
    errors: dict[str, list[str]] = {}
    for err in result.errors:
        errors.setdefault(err.path, []).append(str(err))
    out: list[ReleaseRecord] = []
    for r in releases:
        migrations: list[MigrationRecord] = []
        for m in r.migrations:
            down = m.direction == "down"
            entry = phase_of.get(id(m))
            migrations.append(
                MigrationRecord(
                    id=migration_id(m),
                    path=m.display,
                    down=down,
                    phase=entry.phase if entry else None,
                    declared=entry.declared if entry else False,
                    statements=tuple(statements.get(id(m), ())),
                    findings=tuple(found.get((m.display, down), ())),
                    errors=tuple(errors.get(m.display, ())) if not down else (),
                )
            )
        out.append(ReleaseRecord(r.name, r.version is None, tuple(migrations)))
    return out


# -- the model: objects and what happened to them ----------------------------------------------


@dataclass
class Event:
    """Something a migration did to an object, in the release at index ``release``."""

    life: Life
    release: int
    migration: str
    kind: str  # introduced, changed, renamed, retired, dropped, data
    text: str
    phase: Phase | None = None
    span: Span = ops.NO_SPAN
    statement: Span = ops.NO_SPAN
    findings: list[Finding] = field(default_factory=list)
    # Done as a side effect of another object's change (a column dropped with its table):
    # drawn, but a finding is about the object the statement names.
    cascade: bool = False


@dataclass(eq=False)
class Life:
    """One schema object from its first release to its drop, under all its names."""

    kind: str  # table, column, constraint, index, enum, view
    names: list[str]
    start: int
    parent: Life | None = None
    preexisting: bool = False
    end: int | None = None
    retired: int | None = None
    events: list[Event] = field(default_factory=list)
    children: list[Life] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def label(self) -> str:
        """What the object is called, for people: its table too for a column, and every
        name it had, so a renamed column is found under its old and its new name."""
        own = " → ".join(self.names)
        if self.parent is not None and self.kind == "column":
            return f"{self.parent.name}.{own}"
        return own

    def all_names(self) -> list[str]:
        """Every name a person may look the object up by, for retirement matching."""
        if self.parent is not None and self.kind == "column":
            return [f"{t}.{c}" for t in self.parent.names for c in self.names]
        return list(self.names)


@dataclass
class Timeline:
    releases: list[ReleaseRecord]
    objects: list[Life]  # top-level, in order of appearance; columns etc. as children
    # Findings not tied to an object an event drew: (release index, migration, finding).
    loose: list[tuple[int, MigrationRecord, Finding]]

    def rows(self) -> list[Life]:
        out: list[Life] = []
        for life in self.objects:
            out.append(life)
            out.extend(life.children)
        return out


def _describe_column(before: ColumnState, after: ColumnState) -> list[str]:
    changes: list[str] = []
    if str(before.type) != str(after.type):
        changes.append(f"type {before.type} → {after.type}")
    if before.not_null != after.not_null:
        changes.append("set not null" if after.not_null else "drop not null")
    if before.default != after.default:
        changes.append(f"default {after.default.sql}" if after.default else "drop default")
    if (before.identity, before.generated) != (after.identity, after.generated):
        changes.append("identity/generated changed")
    return changes


def _data_text(op: Op) -> str | None:
    match op:
        case ops.Update():
            cols = f" ({', '.join(op.columns)})" if op.columns else ""
            return f"rows updated{cols}" + ("" if op.has_where else ", all rows")
        case ops.Insert():
            return "rows inserted"
        case ops.Delete():
            return "rows deleted" + ("" if op.has_where else ", all rows")
        case ops.Truncate():
            return "truncated"
    return None


class _Builder:
    """Replays the migrations release by release and records each object's life."""

    def __init__(self, retired: Mapping[str, Collection[str]]) -> None:
        self.schema = Schema()
        self.retired = retired
        self.objects: list[Life] = []
        self.tables: dict[str, Life] = {}
        self.columns: dict[tuple[int, str], Life] = {}
        self.constraints: dict[tuple[int, str], Life] = {}
        self.indexes: dict[str, Life] = {}
        self.enums: dict[str, Life] = {}
        self.views: dict[str, Life] = {}
        self.all: list[Life] = []

    def _new(self, kind: str, name: str, at: int, parent: Life | None = None) -> Life:
        life = Life(kind, [name], at, parent)
        self.all.append(life)
        (parent.children if parent else self.objects).append(life)
        return life

    def build(self, releases: Sequence[ReleaseRecord]) -> Timeline:
        loose: list[tuple[int, MigrationRecord, Finding]] = []
        for at, release in enumerate(releases):
            self._retire(at, release.name)
            for m in release.migrations:
                events: list[Event] = []
                if not m.down:
                    phases = statement_phases(m.statements, self.schema)
                    for st, st_phases in zip(m.statements, phases, strict=True):
                        for op, phase in zip(st.ops, st_phases, strict=True):
                            made = self._op(op, at, m.id)
                            for e in made:
                                e.phase, e.span, e.statement = phase, op.span, st.span
                            events.extend(made)
                for f in m.findings:
                    hit = [] if m.down else _events_for(f, events)
                    for e in hit:
                        e.findings.append(f)
                    if not hit:
                        loose.append((at, m, f))
        return Timeline(list(releases), self.objects, loose)

    def _retire(self, at: int, release: str) -> None:
        names = set(self.retired.get(release, ()))
        if not names:
            return
        for life in self.all:
            if life.end is None and life.retired is None and names & set(life.all_names()):
                life.retired = at
                life.events.append(Event(life, at, "", "retired", f"retired in {release}"))

    def _event(self, life: Life, at: int, mid: str, kind: str, text: str) -> Event:
        e = Event(life, at, mid, kind, text)
        life.events.append(e)
        return e

    def _op(self, op: Op, at: int, mid: str) -> list[Event]:
        made = self._rename(op, at, mid)
        before = self.schema.copy()
        self.schema.apply(op)
        made.extend(self._diff(before, self.schema, at, mid, op))
        text = _data_text(op)
        tables = op.tables if isinstance(op, ops.Truncate) else (getattr(op, "table", None),)
        for name in tables:
            if not isinstance(name, str) or (t := self.tables.get(bare(name))) is None:
                continue
            if text is not None:
                made.append(self._event(t, at, mid, "data", text))
            elif not made and op.kind != "lock_table":
                # Nothing the model tracks changed (a trigger, a comment, VALIDATE on an
                # unknown constraint), but the op touched the table: keep it visible, so a
                # finding on it has a place to be drawn.
                made.append(self._event(t, at, mid, "changed", op.kind.replace("_", " ")))
        return made

    def _rename(self, op: Op, at: int, mid: str) -> list[Event]:
        """Renames move the life to its new name before the diff, which then sees no
        change: the object keeps its row under all its names."""
        match op:
            case ops.RenameTable():
                old, new = bare(op.table), bare(in_schema_of(op.table, op.new_name))
                return [
                    *self._move(self.tables, old, new, new, at, mid),
                    *self._move(self.views, old, new, new, at, mid),
                ]
            case ops.RenameColumn() if (t := self.tables.get(bare(op.table))) is not None:
                key, to = (id(t), op.column), (id(t), op.new_name)
                return self._move(self.columns, key, to, op.new_name, at, mid)
            case ops.RenameIndex():
                old, new = bare(op.index), bare(in_schema_of(op.index, op.new_name))
                return self._move(self.indexes, old, new, new, at, mid)
        return []

    def _move(
        self, lives: dict[_K, Life], old: _K, new: _K, name: str, at: int, mid: str
    ) -> list[Event]:
        life = lives.pop(old, None)
        if life is None:
            return []
        lives[new] = life
        text = f"renamed {life.name} → {name}"
        life.names.append(name)
        return [self._event(life, at, mid, "renamed", text)]

    def _diff(self, before: Schema, after: Schema, at: int, mid: str, op: Op) -> list[Event]:
        made: list[Event] = []
        for key in before.tables.keys() - after.tables.keys():
            if (life := self.tables.pop(key, None)) is not None:
                for child in life.children:
                    if child.end is None:
                        child.end = at
                        e = self._event(child, at, mid, "dropped", "dropped with table")
                        e.cascade = True
                        made.append(e)
                life.end = at
                made.append(self._event(life, at, mid, "dropped", "dropped"))
        for key, table in after.tables.items():
            old = before.tables.get(key)
            found = self.tables.get(key)
            if found is None:
                t = self.tables[key] = self._new("table", key, at)
                if old is None and isinstance(op, ops.CreateTable):
                    made.append(self._event(t, at, mid, "introduced", "created"))
                else:
                    # Changed but never created here: made before these migrations.
                    t.preexisting = True
            else:
                t = found
            old_cols = old.columns if old else {}
            for name in old_cols.keys() - table.columns.keys():
                if (c := self.columns.pop((id(t), name), None)) is not None:
                    c.end = at
                    made.append(self._event(c, at, mid, "dropped", "dropped"))
            for name, state in table.columns.items():
                prior = old_cols.get(name)
                c = self.columns.get((id(t), name))
                if c is None:
                    c = self.columns[(id(t), name)] = self._new("column", name, at, t)
                    if isinstance(op, ops.AddColumn | ops.CreateTable) and prior is None:
                        made.append(self._event(c, at, mid, "introduced", f"added {state.type}"))
                    else:
                        # ALTER of a column migsafe never saw added: it existed before.
                        c.preexisting = True
                        text = op.kind.replace("_", " ")
                        made.append(self._event(c, at, mid, "changed", text))
                elif prior is not None:
                    for text in _describe_column(prior, state):
                        made.append(self._event(c, at, mid, "changed", text))
            old_cons = old.constraints if old else {}
            for name in old_cons.keys() - table.constraints.keys():
                if (k := self.constraints.pop((id(t), name), None)) is not None:
                    k.end = at
                    made.append(self._event(k, at, mid, "dropped", "dropped"))
            for name, con in table.constraints.items():
                was = old_cons.get(name)
                k = self.constraints.get((id(t), name))
                if k is None:
                    k = self.constraints[(id(t), name)] = self._new("constraint", name, at, t)
                    what = con.kind.replace("_", " ")
                    cols = f" ({', '.join(con.columns)})" if con.columns else ""
                    valid = "" if con.validated else ", not valid"
                    made.append(self._event(k, at, mid, "introduced", f"added {what}{cols}{valid}"))
                elif was is not None and con.validated and not was.validated:
                    made.append(self._event(k, at, mid, "changed", "validated"))
        for key in before.indexes.keys() - after.indexes.keys():
            if (i := self.indexes.pop(key, None)) is not None:
                i.end = at
                made.append(self._event(i, at, mid, "dropped", "dropped"))
        for key, idx in after.indexes.items():
            if key not in self.indexes:
                parent = self.tables.get(idx.table)
                i = self.indexes[key] = self._new("index", key, at, parent)
                what = "unique index" if idx.unique else "index"
                cols = f" on ({', '.join(idx.columns)})" if idx.columns else ""
                made.append(self._event(i, at, mid, "introduced", f"{what}{cols}"))
        made.extend(self._named(before.enums, after.enums, self.enums, "enum", at, mid))
        made.extend(self._named(before.views, after.views, self.views, "view", at, mid))
        return made

    def _named(
        self,
        before: Mapping[str, object],
        after: Mapping[str, object],
        lives: dict[str, Life],
        kind: str,
        at: int,
        mid: str,
    ) -> list[Event]:
        """Enums and views: created, changed (an enum's labels), dropped."""
        made: list[Event] = []
        for key in before.keys() - after.keys():
            if (life := lives.pop(key, None)) is not None:
                life.end = at
                made.append(self._event(life, at, mid, "dropped", "dropped"))
        for key, value in after.items():
            if key not in lives:
                lives[key] = life = self._new(kind, key, at)
                made.append(self._event(life, at, mid, "introduced", "created"))
            elif key in before and before[key] != value:
                made.append(self._event(lives[key], at, mid, "changed", f"now {value}"))
        return made


def _contains(outer: Span, inner: Span) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end and outer.end > outer.start


def _events_for(f: Finding, events: Sequence[Event]) -> list[Event]:
    """The events a finding is about: those of the op its span falls in, else those of its
    statement (rules often point at the whole statement)."""
    own = [e for e in events if not e.cascade]
    hit = [e for e in own if _contains(e.span, f.span)]
    hit = hit or [e for e in own if _contains(e.statement, f.span)]
    # A finding on CREATE TABLE is about the table, not each of its columns: drop the
    # events of objects whose table is itself among the hits.
    lives = {id(e.life) for e in hit}
    return [e for e in hit if e.life.parent is None or id(e.life.parent) not in lives]


def build(
    releases: Sequence[ReleaseRecord], retired: Mapping[str, Collection[str]] | None = None
) -> Timeline:
    """The objects' lives over ``releases``; ``retired`` maps a release to the objects its
    application no longer uses (``users.legacy_name``), drawn as retired from there on."""
    return _Builder(retired or {}).build(releases)


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin: 24px; color: #1d2330;
  background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
p.summary { margin: 0 0 12px; color: #444; }
.key { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 0 0 14px; padding: 0;
  list-style: none; font-size: 12px; }
.key li { display: flex; align-items: center; gap: 4px; }
.scroll { overflow-x: auto; border: 1px solid #d6dae3; border-radius: 6px; }
table.timeline { border-collapse: separate; border-spacing: 0; table-layout: fixed; }
table.timeline col.objects { width: 270px; }
table.timeline caption { text-align: left; padding: 6px 10px; font-size: 12px; color: #555;
  caption-side: bottom; }
.timeline th, .timeline td { border-bottom: 1px solid #eceef3; padding: 4px 10px;
  vertical-align: middle; }
.timeline thead th { background: #f4f6fa; text-align: left; border-bottom: 2px solid #c9cfdb;
  font-size: 15px; }
.timeline td + td, .timeline th + th { border-left: 1px dashed #dde1e8; }
.timeline thead th.upcoming { background: repeating-linear-gradient(135deg, #f4f6fa 0 8px,
  #e9edf5 8px 16px); }
.timeline thead th .sub { display: block; font-weight: normal; font-size: 11px; color: #555; }
.timeline th[scope=row] { text-align: left; font-weight: normal; overflow-wrap: anywhere;
  position: sticky; left: 0; background: #fff; z-index: 2; border-right: 1px solid #d6dae3; }
.timeline thead th:first-child { position: sticky; left: 0; z-index: 3; }
tr.table th[scope=row] { font-weight: bold; }
tr.table { background: #fafbfd; }
tr.table th[scope=row] { background: #fafbfd; }
tr.child th[scope=row] { padding-left: 28px; }
.kind { display: inline-block; min-width: 68px; font-size: 10px; text-transform: uppercase;
  letter-spacing: .04em; color: #5b6475; font-weight: normal; }
.owner { color: #7a8291; }
.dead { color: #8a8f99; text-decoration: line-through; }
tr.migrations td { vertical-align: top; font-size: 12px; background: #f9fafc; }
tr.migrations ul { list-style: none; margin: 0; padding: 0; }
tr.migrations li { margin: 2px 0; }
.mid { font-family: "DejaVu Sans Mono", monospace; font-size: 11px; }
.phase { display: inline-block; font-size: 10px; border-radius: 3px; padding: 0 4px;
  border: 1px solid; margin-left: 4px; }
.phase.expand { color: #11632f; border-color: #79c08f; background: #eaf7ee; }
.phase.backfill { color: #6a4a00; border-color: #d8b45a; background: #fdf6e3; }
.phase.contract { color: #7a1f5c; border-color: #c98ab4; background: #f9edf5; }
.phase.neutral { color: #555; border-color: #bbb; background: #f4f4f4; }
td.cell { position: relative; height: 30px; }
td.alive::before { content: ""; position: absolute; left: 0; right: 0; top: 50%; height: 8px;
  margin-top: -4px; background: #8fb3e8; z-index: 0; }
td.alive.first::before { left: 10px; border-radius: 4px 0 0 4px; }
td.alive.before::before { left: 0; border-radius: 0; background: repeating-linear-gradient(
  90deg, #8fb3e8 0 6px, transparent 6px 10px); }
td.alive.last::before { right: auto; width: 24px; }
td.alive.retired::before { background: repeating-linear-gradient(135deg, #b9c2d0 0 5px,
  #e4e8ef 5px 10px); }
td.alive.upcoming-col::before { opacity: .65; }
.marks { position: relative; z-index: 1; display: flex; flex-direction: column;
  align-items: flex-start; gap: 3px; }
.mark { display: inline-block; background: #fff; border: 1px solid #7f95b8; border-radius: 10px;
  padding: 1px 7px; font-size: 11px; max-width: 100%; overflow-wrap: anywhere; }
.mark .mid { color: #4a5160; margin-left: 3px; }
.mark.introduced { border-color: #2f8a4b; }
.mark.changed { border-color: #b5831a; }
.mark.renamed { border-color: #8a4fb5; }
.mark.dropped { border-color: #1d2330; background: #1d2330; color: #fff; }
.mark.dropped .mid { color: #d7dbe3; }
.mark.retired { border-style: dashed; border-color: #5b6475; }
.mark.data { border-color: #b5831a; border-style: dotted; }
.mark.violation { box-shadow: 0 0 0 2px #c8102e; margin: 2px; }
.mark.violation.warning { box-shadow: 0 0 0 2px #a65c00; }
.flag { display: inline-block; font-size: 11px; font-weight: bold; color: #fff;
  background: #c8102e; border-radius: 3px; padding: 0 5px; margin: 1px 0 1px 3px;
  text-decoration: none; white-space: nowrap; }
.flag.warning { background: #a65c00; }
table.findings { border-collapse: collapse; width: 100%; font-size: 13px; }
table.findings th, table.findings td { border: 1px solid #d6dae3; padding: 4px 8px;
  text-align: left; vertical-align: top; }
table.findings th { background: #f4f6fa; }
table.findings tr.error td.sev { color: #c8102e; font-weight: bold; }
table.findings tr.warning td.sev { color: #a65c00; font-weight: bold; }
table.findings .help { color: #444; font-size: 12px; }
p.none { color: #11632f; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _phase(phase: Phase | None, declared: bool | None = None) -> str:
    name = phase.value if phase else "neutral"
    how = "" if declared is None else (" (declared)" if declared else " (inferred)")
    return f'<span class="phase {name}" title="phase: {name}{how}">{name}</span>'


_GLYPH = {
    "introduced": "+",
    "changed": "Δ",
    "renamed": "→",
    "retired": "⊘",
    "dropped": "\u00d7",
    "data": "≡",
}


@dataclass(frozen=True)
class _Listed:
    """A finding as the table under the drawing lists it."""

    finding: Finding
    release: str
    migration: str
    objects: tuple[str, ...]


def _listing(t: Timeline) -> list[_Listed]:
    """Every finding in release, migration and source order; its position in this list
    (from 1) is its footnote number, so a mark in the drawing points at its row below."""
    objects: dict[int, list[str]] = {}
    for life in t.rows():
        for e in life.events:
            for f in e.findings:
                names = objects.setdefault(id(f), [])
                if life.label not in names:
                    names.append(life.label)
    return [
        _Listed(f, r.name, m.id, tuple(objects.get(id(f), ())))
        for r in t.releases
        for m in r.migrations
        for f in sorted(m.findings, key=lambda f: (f.span.start, f.rule))
    ]


def _by(numbers: Mapping[int, int]) -> Callable[[Finding], int]:
    return lambda f: numbers[id(f)]


def _flag(f: Finding, n: int) -> str:
    return (
        f'<a class="flag {f.severity.value}" href="#finding-{n}" data-rule="{_e(f.rule)}" '
        f'title="{_e(f.severity.value)}: {_e(f.message)}">⚠ {_e(f.rule)} [{n}]</a>'
    )


def _mark(e: Event, life: Life, numbers: Mapping[int, int]) -> str:
    classes = ["mark", e.kind]
    flags = ""
    if e.findings:
        classes.append("violation")
        worst = max(f.severity.rank for f in e.findings)
        classes.append("error" if worst == Severity.ERROR.rank else "warning")
        flags = "".join(_flag(f, numbers[id(f)]) for f in sorted(e.findings, key=_by(numbers)))
    where = f" in {e.migration}" if e.migration else ""
    phase = f" ({e.phase.value})" if e.phase else ""
    title = f"{life.label}: {e.text}{where}{phase}"
    rules = " ".join(sorted({f.rule for f in e.findings}))
    data = f' data-rules="{_e(rules)}"' if rules else ""
    mid = f'<span class="mid">{_e(e.migration)}</span>' if e.migration else ""
    return (
        f'<span class="{" ".join(classes)}" title="{_e(title)}"{data}>'
        f"{_GLYPH[e.kind]} {_e(e.text)}{mid}{flags}</span>"
    )


def _cell(
    life: Life, at: int, release: ReleaseRecord, last: int, numbers: Mapping[int, int]
) -> str:
    classes = ["cell"]
    end = life.end if life.end is not None else last
    if life.start <= at <= end:
        classes.append("alive")
        if at == life.start:
            classes.append("before" if life.preexisting else "first")
        if life.end == at:
            classes.append("last")
        if life.retired is not None and at >= life.retired:
            classes.append("retired")
        if release.upcoming:
            classes.append("upcoming-col")
    marks = "".join(_mark(e, life, numbers) for e in life.events if e.release == at)
    if marks:
        inner = f'<div class="marks">{marks}</div>'
    elif "alive" in classes:
        # Screen readers and text dumps get the bar in words too.
        inner = f'<span class="sr">{"retired" if "retired" in classes else "exists"}</span>'
    else:
        inner = ""
    return f'<td class="{" ".join(classes)}">{inner}</td>'


def _row(life: Life, t: Timeline, numbers: Mapping[int, int]) -> str:
    child = life.parent is not None
    name_class = ' class="dead"' if life.end is not None else ""
    shown = _e(" → ".join(life.names))
    if life.parent is not None and life.kind == "column":
        shown = f'<span class="owner">{_e(life.parent.name)}.</span>{shown}'
    status = "dropped" if life.end is not None else ("retired" if life.retired is not None else "")
    status_text = f' <span class="kind">({status})</span>' if status else ""
    head = (
        f'<th scope="row" title="{_e(life.kind)} {_e(life.label)}">'
        f'<span class="kind">{_e(life.kind)}</span> <span{name_class}>{shown}</span>'
        f"{status_text}</th>"
    )
    last = len(t.releases) - 1
    cells = "".join(_cell(life, i, r, last, numbers) for i, r in enumerate(t.releases))
    classes = f"obj {life.kind}{' child' if child else ''}"
    return f'<tr class="{classes}" data-object="{_e(life.label)}">{head}{cells}</tr>'


def _migrations_row(t: Timeline, numbers: Mapping[int, int]) -> str:
    cells: list[str] = []
    loose: dict[int, list[tuple[MigrationRecord, Finding]]] = {}
    for at, m, f in t.loose:
        loose.setdefault(at, []).append((m, f))
    for at, r in enumerate(t.releases):
        items: list[str] = []
        for m in r.migrations:
            if m.down and not m.findings:
                continue
            mine = sorted((f for mm, f in loose.get(at, []) if mm is m), key=_by(numbers))
            flags = "".join(_flag(f, numbers[id(f)]) for f in mine)
            errors = "".join(
                f' <span class="flag" title="{_e(err)}">could not be linted</span>'
                for err in m.errors
            )
            label = f"{m.id} (down)" if m.down else m.id
            phase = "" if m.down else _phase(m.phase, m.declared)
            items.append(
                f'<li title="{_e(m.path)}"><span class="mid">{_e(label)}</span>'
                f"{phase}{flags}{errors}</li>"
            )
        body = f"<ul>{''.join(items)}</ul>" if items else "<em>no migrations</em>"
        cells.append(f"<td>{body}</td>")
    return f'<tr class="migrations"><th scope="row">Migrations</th>{"".join(cells)}</tr>'


def _findings_table(listed: Sequence[_Listed]) -> str:
    if not listed:
        return '<p class="none">No findings: every migration passed the lint rules.</p>'
    rows: list[str] = []
    for n, item in enumerate(listed, 1):
        f, objects = item.finding, item.objects
        where = f"{f.path}:{f.span.line}:{f.span.column}" + (" (down)" if f.down else "")
        rows.append(
            f'<tr id="finding-{n}" class="{f.severity.value}" data-rule="{_e(f.rule)}">'
            f"<td>{n}</td>"
            f'<td class="sev">{_e(f.severity.value)}</td>'
            f"<td><code>{_e(f.rule)}</code></td>"
            f"<td>{_e(item.release)}</td>"
            f'<td><span class="mid">{_e(item.migration)}</span><br><small>{_e(where)}</small></td>'
            f"<td>{_e(', '.join(objects)) or '—'}</td>"
            f'<td>{_e(f.message)}<div class="help">{_e(f.help)}</div></td></tr>'
        )
    return (
        '<table class="findings"><thead><tr><th scope="col">#</th><th scope="col">Severity</th>'
        '<th scope="col">Rule</th><th scope="col">Release</th><th scope="col">Migration</th>'
        '<th scope="col">Objects</th><th scope="col">What and what to do</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _key() -> str:
    items = [
        ('<span class="mark introduced">+ added</span>', "introduced"),
        ('<span class="mark changed">Δ changed</span>', "type, nullability, default"),
        ('<span class="mark renamed">→ renamed</span>', "old → new name"),
        ('<span class="mark data">≡ data</span>', "rows changed"),
        ('<span class="mark retired">⊘ retired</span>', "code no longer uses it"),
        ('<span class="mark dropped">&times; dropped</span>', "bar ends"),
        ('<span class="flag">⚠ rule-id [n]</span>', "a finding; n is its row below"),
    ]
    return (
        '<ul class="key" aria-label="Key">'
        + "".join(f"<li>{mark} {_e(what)}</li>" for mark, what in items)
        + "</ul>"
    )


def _release_head(r: ReleaseRecord) -> str:
    n = sum(not m.down for m in r.migrations)
    upcoming = ' class="upcoming"' if r.upcoming else ""
    note = "not released yet · " if r.upcoming else ""
    return (
        f'<th scope="col"{upcoming}>{_e(r.name)} '
        f'<span class="sub">{note}{n} migration{"s" * (n != 1)}</span></th>'
    )


def render(
    releases: Sequence[ReleaseRecord],
    retired: Mapping[str, Collection[str]] | None = None,
    title: str = "migsafe release timeline",
) -> str:
    """The page: a self-contained HTML5 document (inline CSS, no script, no external
    resource) with the timeline drawing and the findings under it."""
    t = build(releases, retired)
    listed = _listing(t)
    numbers = {id(item.finding): n for n, item in enumerate(listed, 1)}
    head_cells = "".join(_release_head(r) for r in releases)
    migrations = _migrations_row(t, numbers)
    body = "".join(_row(life, t, numbers) for life in t.rows())
    if not body:
        body = (
            f'<tr><th scope="row">—</th><td colspan="{len(releases) or 1}">'
            "No schema objects: these migrations create or change none.</td></tr>"
        )
    width = 270 + 210 * len(releases)
    findings = _findings_table(listed)
    count = len(listed)
    errors = sum(item.finding.severity is Severity.ERROR for item in listed)
    summary = (
        f"{len(releases)} release{'s' * (len(releases) != 1)}, "
        f"{sum(not m.down for r in releases for m in r.migrations)} migrations, "
        f"{len(t.rows())} schema objects; {count} finding{'s' * (count != 1)}"
        f" ({errors} error{'s' * (errors != 1)})."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="summary">{_e(summary)}</p>'
        f"{_key()}"
        # Each release gets room for its marks; more releases scroll sideways.
        f'<div class="scroll"><table class="timeline" style="width: max(100%, {width}px)">'
        f'<colgroup><col class="objects"><col span="{len(releases) or 1}"></colgroup>'
        "<caption>Each row is a schema object; its bar runs from the release that introduced "
        "it to the one that dropped it (striped: retired, dashed start: existed before these "
        "migrations). Releases in version order, upcoming last.</caption>"
        f'<thead><tr><th scope="col">Schema object</th>{head_cells}</tr>{migrations}</thead>'
        f"<tbody>{body}</tbody></table></div>"
        f"<h2>Findings</h2>{findings}"
        "</body></html>\n"
    )
