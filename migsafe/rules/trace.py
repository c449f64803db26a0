"""Rules whose evidence is an observation of a real server, made by ``migsafe trace``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migsafe.findings import Severity
from migsafe.ops import Op
from migsafe.rules import Violation, rule

if TYPE_CHECKING:
    from migsafe.analysis import Context

LOCK_MODEL_MISMATCH = "lock-model-mismatch"


@rule(
    LOCK_MODEL_MISMATCH,
    Severity.ERROR,
    "PostgreSQL took other locks, or rewrote or scanned other tables, than the lock model says",
    "Trust what PostgreSQL did; report the statement to migsafe so its lock model is fixed.",
    trace_only=True,
)
def lock_model_mismatch(op: Op, ctx: Context) -> Iterator[Violation]:
    """An op alone proves nothing here: :mod:`migsafe.trace` holds each observation against
    the model and reports the differences under this rule's id."""
    return iter(())
