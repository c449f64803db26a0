"""Behaviour that changed across server releases: rows keyed by the version that brought
them, oldest first, as the PostgreSQL lock model and the MySQL online-DDL model hold it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

V = TypeVar("V", int, tuple[int, int, int])
R = TypeVar("R")


def as_of(rows: Sequence[tuple[V, R]], version: V) -> R:
    """The row of the latest version at or before ``version``. A version older than every
    row gets the first: the model starts at the oldest server it supports."""
    chosen = rows[0][1]
    for since, row in rows:
        if version >= since:
            chosen = row
    return chosen
