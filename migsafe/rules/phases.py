"""Expand and contract kept apart: a migration has one phase (see :mod:`migsafe.phases`).

An expand change must be live before the code that uses it, a contract change only once no
running release uses what it removes; one migration cannot be both at the right time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe.findings import Severity
from migsafe.ops import Op
from migsafe.phases import CONTRACT, EXPAND, Phase, contradicts
from migsafe.rules import Violation, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context


def _position(op: Op, ctx: Context) -> int:
    """Which op of its statement ``op`` is (a multi-command ALTER TABLE has several)."""
    return next(j for j, other in enumerate(ctx.statement.ops) if other is op)


def _describe(op: Op) -> str:
    return op.kind.replace("_", " ").upper()


@rule(
    "phase-mismatch",
    Severity.ERROR,
    "a statement whose phase contradicts the migration's declared phase",
    "Move the statement to a migration of its own phase: expand changes ship with or before "
    "the code that uses them, contract changes in a later release, once no supported release "
    "uses what they remove; or correct the declared phase.",
)
def phase_mismatch(op: Op, ctx: Context) -> Iterator[Violation]:
    declared = ctx.migration.declared_phase
    if declared is None or not ctx.phases:
        return
    phases = ctx.phases[ctx.index]
    j = _position(op, ctx)
    # One finding per statement: the first contradicting op of a multi-command ALTER.
    if contradicts(declared, phases[j]) and not any(contradicts(declared, p) for p in phases[:j]):
        yield Violation(
            f"{_describe(op)} is a {phases[j]} change, but the migration declares phase={declared}."
        )


def _first(phases: list[tuple[int, int, Phase | None]], wanted: Phase) -> tuple[int, int] | None:
    return next(((i, j) for i, j, p in phases if p is wanted), None)


@rule(
    "mixed-phase",
    Severity.WARNING,
    "one migration both expands and contracts the schema",
    "Split it: the expand statements into a migration that ships with (or before) the code "
    "that uses them, the contract statements into a migration of a later release, once no "
    "supported release uses what they remove.",
)
def mixed_phase(op: Op, ctx: Context) -> Iterator[Violation]:
    # A declared phase turns every out-of-phase statement into a phase-mismatch instead.
    if ctx.migration.declared_phase is not None or not ctx.phases:
        return
    position = _position(op, ctx)
    if ctx.phases[ctx.index][position] is not CONTRACT:
        return
    flat = [(i, j, p) for i, st in enumerate(ctx.phases) for j, p in enumerate(st)]
    first_contract = _first(flat, CONTRACT)
    first_expand = _first(flat, EXPAND)
    if first_expand is None or first_contract != (ctx.index, position):
        return
    expand_op = ctx.statements[first_expand[0]].ops[first_expand[1]]
    line = ctx.statements[first_expand[0]].span.line
    yield Violation(
        f"{_describe(op)} contracts the schema, but this migration also expands it "
        f"({_describe(expand_op)} on line {line}): one of them ships in the wrong release."
    )
