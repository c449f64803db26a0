"""Expand → contract held to real releases: what release N's migrations may take away.

During a rolling or canary deploy, and after a rollback, the releases inside the support
window (``compat-window``, default 1: release N-1) run on the schema release N's migrations
leave. These rules check those migrations against those releases' contracts: the captured
contract file where there is one, else the schema at that release's last migration minus
the objects ``[tool.migsafe.retired]`` says it no longer uses. Without releases configured
the context has no contracts and the rules find nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe import ops
from migsafe.findings import Severity
from migsafe.locks import type_change_narrows
from migsafe.ops import Op, Span, bare, in_schema_of
from migsafe.rules import Violation, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context
    from migsafe.compat import Key
    from migsafe.contracts import Contract


def _per(contract: Contract) -> str:
    where = contract.origin or f"the schema at its last migration ({contract.source})"
    return f"per {where}"


def _removals(op: Op, ctx: Context, contract: Contract) -> Iterator[tuple[str, str]]:
    """(what the op does, the object) for each object of ``contract`` that ``op`` removes,
    renames or narrows."""
    tables = contract.tables
    match op:
        case ops.DropTable():
            for t in op.tables:
                if bare(t) in tables and not ctx.is_new(t):
                    yield "drops table", bare(t)
        case ops.RenameTable() if bare(op.table) in tables and not ctx.is_new(op.table):
            new = bare(in_schema_of(op.table, op.new_name))
            yield f"renames table {bare(op.table)} to {new}", bare(op.table)
        case ops.DropColumn() | ops.RenameColumn() | ops.AlterColumnType() if not ctx.is_new(
            op.table
        ):
            use = tables.get(bare(op.table))
            need = use.columns.get(op.column) if use else None
            name = f"{bare(op.table)}.{op.column}"
            if need is None:
                return
            if isinstance(op, ops.DropColumn):
                yield "drops column", name
            elif isinstance(op, ops.RenameColumn):
                yield f"renames column {name} to {op.new_name}", name
            elif type_change_narrows(need.type, op.type):
                yield f"narrows column {name} from {need.type} to {op.type}", name
            else:
                from migsafe.compat import lost_members

                # Named as [tool.migsafe.retired] spells a member, so the help says it.
                for label in lost_members(need.type, op.type):
                    yield "removes label", f"{name}:{label}"
        case ops.RenameEnumValue() if op.old in contract.enums.get(bare(op.type_name), ()):
            yield f"renames label {op.old!r} of type {bare(op.type_name)}", bare(op.type_name)
        case ops.RenameType() if bare(op.type_name) in contract.enums:
            yield f"renames type {bare(op.type_name)} to {op.new_name}", bare(op.type_name)
        case ops.DropObject(object_kind="type"):
            for n in op.names:
                if bare(n) in contract.enums:
                    yield "drops type", bare(n)


@rule(
    "contract-before-retirement",
    Severity.ERROR,
    "a migration removes, renames or narrows what a supported earlier release still uses",
    "Expand, retire, contract: add the replacement first, ship a release whose code no "
    "longer uses the old object (declare it in [tool.migsafe.retired] or capture that "
    "release's contract), and remove it in a migration of a release after the support "
    "window (compat-window) has passed every release that used it.",
)
def contract_before_retirement(op: Op, ctx: Context) -> Iterator[Violation]:
    if ctx.migration.direction != "up":
        return
    found: dict[str, tuple[str, list[Contract]]] = {}
    for contract in ctx.supported:
        for action, name in _removals(op, ctx, contract):
            found.setdefault(name, (action, []))[1].append(contract)
    for name, (action, users) in found.items():
        releases = ", ".join(c.release for c in users)
        oldest = users[-1]
        yield Violation(
            f"This migration of release {ctx.release} {action}"
            f"{'' if name in action else ' ' + name}, which release {releases} still uses "
            f"({_per(users[0])}): that release breaks while it runs beside {ctx.release} "
            "or after a rollback to it.",
            help=(
                f"Release {oldest.release} uses {name}. Expand, retire, contract: add what "
                f"replaces {name} and switch the code to it; ship a release that no longer "
                f'uses {name} and say so ([tool.migsafe.retired] "<that release>" = '
                f'["{name}"], or capture its contract with `migsafe contract capture`); '
                "then make this change in a migration of a later release, once every "
                "release inside compat-window has stopped using it."
            ),
        )


def _cause(key: Key, touched: dict[Key, Span]) -> Span | None:
    span = touched.get(key)
    if span is None and key[0] == "column":
        span = touched.get(("table", key[1]))
    return span


@rule(
    "breaks-previous-release",
    Severity.ERROR,
    "after the migration, the schema fails the contract of a release that still runs",
    "Keep the previous release working on the new schema: add columns nullable or with a "
    "default, keep defaults its INSERTs rely on, keep types wide, and remove or tighten "
    "only what no release inside compat-window uses (expand, then contract later).",
)
def breaks_previous_release(op: Op, ctx: Context) -> Iterator[Violation]:
    # Judged once, on the migration's result: at its last op, with that op applied.
    last = ctx.index == len(ctx.statements) - 1 and op is ctx.statement.ops[-1]
    if ctx.migration.direction != "up" or not ctx.supported or not last:
        return
    from migsafe.compat import compat, touches

    after = ctx.schema.copy()
    after.apply(op)
    touched: dict[Key, Span] = {}
    for st in ctx.statements:
        for each in st.ops:
            for key in touches(each):
                touched[key] = st.span
    for contract in ctx.supported:
        for problem in compat(after, contract):
            span = _cause(problem.key, touched)
            if span is None:
                continue  # broken before this migration: reported where it happened
            yield Violation(
                f"After this migration release {contract.release} no longer works "
                f"({_per(contract)}): {problem.object}: it expects {problem.expected}, the "
                f"schema has {problem.found}.",
                span=span,
            )
