"""``migsafe serve``: the schema gate over HTTP, for deployers that ask a URL.

Argo Rollouts' web metric provider and Flagger's webhooks decide each canary step by calling
an HTTP endpoint. This package answers them with the same decision as ``migsafe gate``
(:mod:`migsafe.gate`): ``GET /v1/gate`` for Argo (always 200 with the decision in the body
when one was made), ``POST /v1/flagger/<hook>`` for Flagger (the answer is the status
code), ``GET /healthz`` and ``GET /metrics``.

Modules: :mod:`.gatekeeper` (thread-safe decisions with a short cache; no web framework),
:mod:`.flagger` (Flagger's payload and what each hook's status code means), :mod:`.app`
(the Starlette application), :mod:`.metrics` (Prometheus), :mod:`.run` (uvicorn). Only
:mod:`.gatekeeper` and :mod:`.flagger` import without the ``serve`` extra.
"""
