"""Flagger's webhook payload, and what migsafe's answer to each hook means to Flagger.

Flagger POSTs ``{"name", "namespace", "phase", "checksum", "metadata"}`` to each webhook
of a Canary (``metadata`` is the webhook's own string map from the Canary spec) and reads
only the status code: a 2xx lets a confirm or pre-rollout hook proceed, anything else holds
it. migsafe reads only ``name``, ``namespace`` and ``metadata``, so a field Flagger adds or
retypes never gets a real request refused. The ``rollback`` hook is the other way round: a
2xx makes Flagger roll the canary back now. So for the gating hooks migsafe answers 200 on
``pass`` and 409 on ``fail`` or ``inconclusive``; for ``rollback`` it answers 200 only when
the live schema breaks the canary's own release, and 409 otherwise (a schema that only the
previous release cannot use is no reason to route traffic back to it).

The release to check comes from ``metadata.release``, the previous one from
``metadata.previous`` or else the ledger. Flagger cannot send headers, so the bearer token
may come in ``metadata.token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from migsafe.gate import PASS

if TYPE_CHECKING:
    from migsafe.serve.gatekeeper import Answer

GATING = (
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
)
ROLLBACK = "rollback"
HOOKS = (*GATING, ROLLBACK)

PROCEED, HOLD = 200, 409


class PayloadError(ValueError):
    """The body is not a Flagger webhook payload; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Payload:
    name: str
    namespace: str
    release: str
    previous: str | None
    token: str | None


def _text(doc: dict[str, object], key: str, where: str, *, required: bool) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PayloadError(f"{where}{key} must be a non-empty string, got {value!r}")
    return value


def parse(doc: object) -> Payload:
    """The payload from decoded JSON; :class:`PayloadError` when it is not Flagger's shape
    or names no release."""
    if not isinstance(doc, dict):
        raise PayloadError("the body must be a JSON object (Flagger's webhook payload)")
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise PayloadError("metadata must be an object of strings, as Flagger sends it")
    previous = _text(metadata, "previous", "metadata.", required=False).strip()
    return Payload(
        name=_text(doc, "name", "", required=True),
        namespace=_text(doc, "namespace", "", required=True),
        release=_text(metadata, "release", "metadata.", required=True).strip(),
        previous=previous or None,
        token=metadata.get("token"),
    )


def verdict(hook: str, answer: Answer) -> tuple[int, str]:
    """The status code for ``hook`` and the action it makes Flagger take."""
    if hook == ROLLBACK:
        if answer.canary_problems():
            return PROCEED, "roll back"
        return HOLD, "keep the canary"
    if answer.decision.decision == PASS:
        return PROCEED, "proceed"
    return HOLD, "hold"
