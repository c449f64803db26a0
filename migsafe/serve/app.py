"""The Starlette application of ``migsafe serve``.

Contract of each endpoint (what Argo Rollouts and Flagger rely on):

- ``GET /healthz``: 200 ``{"status": "ok"}``; never touches the database, so an outage
  does not restart the server (the gate says so instead).
- ``GET /v1/gate?release=R[&previous=P]``: 200 with ``{"decision", "release", "previous",
  "problems", "reason"}`` whenever a decision was made, ``inconclusive`` included (a
  missing contract, an unknown release); 503 with ``"decision": "inconclusive"`` when the
  live schema cannot be read in time (database down); 400 for a missing release.
- ``POST /v1/flagger/<hook>``: Flagger's payload; status code per :mod:`.flagger`, 503 with
  ``inconclusive`` when the database is down (Flagger holds, and does not roll back).
- ``GET /metrics``: Prometheus text format.

Every other answer is JSON too: ``{"error": ...}`` with 400 (malformed body or query), 401
(missing or wrong token), 404, 405, 413 (body over the limit), 500 (a fault of the server,
logged, never with a traceback in the answer). The gate itself blocks on the database, so
it runs in a thread pool of its own, and an answer that takes longer than the deadline is
a 503 ``inconclusive`` rather than a Flagger timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from migsafe.gate import INCONCLUSIVE, Decision
from migsafe.serve import flagger
from migsafe.serve.gatekeeper import Answer, Gatekeeper
from migsafe.serve.metrics import CONTENT_TYPE, Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("migsafe.serve.access")
error_log = logging.getLogger("migsafe.serve.error")

DEFAULT_MAX_BODY = 64 * 1024  # bytes; Flagger's payload is a few hundred
DEFAULT_DEADLINE = 8.0  # seconds; Flagger gives a webhook 10 s by default
DEFAULT_WORKERS = 8  # threads deciding at once; single-flight keeps database load lower still
MAX_NAME = 200  # characters in a release name


@dataclass(frozen=True)
class Options:
    token: str | None  # None: no authentication (--insecure-no-auth)
    max_body: int = DEFAULT_MAX_BODY
    deadline: float = DEFAULT_DEADLINE
    workers: int = DEFAULT_WORKERS


class _Refused(Exception):
    """An answer other than the decision: status, message, and extra fields for the body."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _route(path: str) -> str:
    """The metrics label of a path: a fixed set, so a scan of random URLs adds no series."""
    if path in ("/healthz", "/metrics", "/v1/gate"):
        return path
    if path.startswith("/v1/flagger/") and path.removeprefix("/v1/flagger/") in flagger.HOOKS:
        return path
    return "other"


class Service:
    """Handlers and their shared state: the gatekeeper, options, metrics, thread pool."""

    def __init__(self, gatekeeper: Gatekeeper, options: Options, metrics: Metrics) -> None:
        self.gatekeeper = gatekeeper
        self.options = options
        self.metrics = metrics
        self.pool = ThreadPoolExecutor(options.workers, thread_name_prefix="migsafe-gate")

    # -- endpoints ----------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def gate(self, request: Request) -> Response:
        self._authorize(request, None)
        release = self._name(request.query_params.get("release"), "release", required=True)
        previous = self._name(request.query_params.get("previous"), "previous", required=False)
        answer = await self._decide(request, release, previous or None, "gate")
        body = answer.decision.to_json()
        return JSONResponse(body, status_code=503 if answer.database_down else 200)

    async def flagger_hook(self, request: Request) -> Response:
        hook = request.path_params["hook"]
        if hook not in flagger.HOOKS:
            raise _Refused(
                404,
                f"no Flagger hook {hook!r} here; migsafe answers {', '.join(flagger.HOOKS)}",
            )
        raw = await self._body(request)
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._authorize(request, None)
            raise _Refused(400, f"the body is not JSON: {exc}") from None
        self._authorize(request, _metadata_token(doc))
        try:
            payload = flagger.parse(doc)
        except flagger.PayloadError as exc:
            raise _Refused(400, str(exc)) from None
        self._name(payload.release, "metadata.release", required=True)
        self._name(payload.previous, "metadata.previous", required=False)
        request.state.canary = f"{payload.namespace}/{payload.name}"
        answer = await self._decide(request, payload.release, payload.previous, "flagger")
        body: dict[str, object] = {"hook": hook, **answer.decision.to_json()}
        if answer.database_down:
            body["action"] = "hold" if hook != flagger.ROLLBACK else "keep the canary"
            return JSONResponse(body, status_code=503)
        status, action = flagger.verdict(hook, answer)
        body["action"] = action
        return JSONResponse(body, status_code=status)

    # -- helpers ------------------------------------------------------------------------------

    def _authorize(self, request: Request, body_token: str | None) -> None:
        expected = self.options.token
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        offered = given.strip() if scheme.lower() == "bearer" else body_token
        if not offered:
            raise _Refused(401, "missing bearer token (Authorization: Bearer <token>)")
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            raise _Refused(401, "wrong bearer token")

    def _name(self, value: str | None, what: str, *, required: bool) -> str:
        value = (value or "").strip()
        if required and not value:
            raise _Refused(400, f"{what} is required, e.g. ?release=2.0.0")
        if len(value) > MAX_NAME or not value.isprintable():
            raise _Refused(400, f"{what} must be a printable name of at most {MAX_NAME} chars")
        return value

    async def _body(self, request: Request) -> bytes:
        limit = self.options.max_body
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(413, f"the body is larger than {limit} bytes", limit=limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refused(413, f"the body is larger than {limit} bytes", limit=limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _decide(
        self, request: Request, release: str, previous: str | None, endpoint: str
    ) -> Answer:
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self.pool, self.gatekeeper.decide, release, previous)
        try:
            answer = await asyncio.wait_for(work, self.options.deadline)
        except TimeoutError:
            reason = (
                f"no answer from the database within {self.options.deadline:g} s; "
                "the gate cannot decide"
            )
            answer = Answer(Decision(INCONCLUSIVE, release, previous, (), reason), True)
        self.metrics.decisions.labels(endpoint, answer.decision.decision).inc()
        if not answer.database_down:
            self.metrics.cache.labels("hit" if answer.cached else "miss").inc()
        request.state.release = release
        request.state.decision = answer.decision.decision
        return answer


def _metadata_token(doc: object) -> str | None:
    """The token in a Flagger payload's metadata, whatever shape the rest of it has."""
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    token = metadata.get("token") if isinstance(metadata, dict) else None
    return token if isinstance(token, str) else None


def _error(status: int, message: str, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Refused)
    return _error(exc.status, str(exc), **exc.extra)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail)


async def _fault(request: Request, exc: Exception) -> Response:
    error_log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal error in migsafe serve; see its log")


class AccessLog:
    """One JSON line per request: what was asked and answered, never a header or body (the
    token travels in both), timed, and counted in the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        state: dict[str, Any] = scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope["path"])
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            client = scope.get("client")
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "method": scope["method"],
                "path": scope["path"] if route != "other" else scope["path"][:100],
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": client[0] if client else None,
            }
            for key in ("release", "decision", "canary"):
                if key in state:
                    line[key] = state[key]
            access_log.info(json.dumps(line, separators=(",", ":")))


def create_app(gatekeeper: Gatekeeper, options: Options, metrics: Metrics | None = None) -> Any:
    """The ASGI application (access log around Starlette), ready for uvicorn."""
    metrics = metrics or Metrics()
    service = Service(gatekeeper, options, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.pool.shutdown(wait=False, cancel_futures=True)
        gatekeeper.close()

    inner = Starlette(
        routes=[
            Route("/healthz", service.healthz, methods=["GET"]),
            Route("/metrics", service.metrics_endpoint, methods=["GET"]),
            Route("/v1/gate", service.gate, methods=["GET"]),
            Route("/v1/flagger/{hook}", service.flagger_hook, methods=["POST"]),
        ],
        exception_handlers={
            _Refused: _refused,
            HTTPException: _http_error,
            Exception: _fault,
        },
        lifespan=lifespan,
    )
    return AccessLog(inner, metrics)
