"""The ASGI app of ``gate serve`` (Starlette): routes, bearer auth, size and time limits, one
JSON log line and metrics per request.

=============================  ================================================  ==========
route                          what                                              auth
=============================  ================================================  ==========
``GET /healthz``               liveness and readiness: 200 ``{"status": "ok"}``  none
``GET /metrics``               Prometheus exposition of the server's metrics     bearer
``POST /v1/check``             :mod:`gate.serve.policy_gate`                     bearer
``POST /v1/judge``             :mod:`gate.serve.judging`                         bearer
``POST /v1/flagger/{hook}``    :mod:`gate.serve.flagger`                         bearer
=============================  ================================================  ==========

Every answer is JSON. 401: no or wrong ``Authorization: Bearer`` token (Flagger, which cannot
send headers, puts it in the payload's ``metadata.token`` instead); 413: body over the
size limit; 408: body not received in time; 504: no answer within the time limit; 500: a bug
(logged with its traceback, answered without it).

The blocking work (policy evaluation, live checks, Prometheus queries, flag providers) runs in
worker threads; a request that outlives the time limit is answered 504 and its thread is left
to finish on its own (each outside call it makes has its own timeout).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gate.errors import ConfigError, GateError, ProviderError
from gate.serve import flagger, judging, policy_gate
from gate.serve.body import BODY, RequestProblem, invalid, parse_body
from gate.serve.logs import log
from gate.serve.service import Service

OPEN_PATHS = frozenset({"/healthz"})
THREADS = 64  # blocking requests one worker process runs at once


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    outcome: str = ""  # decision, verdict or hook answer: logged and counted
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, data: Any, outcome: str = "", reason: str = "") -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False) + "\n", outcome, reason)


def _problem(p: RequestProblem) -> Reply:
    return _json(p.status, p.as_dict(), "error", p.lines[0])


class ServerMetrics:
    """The server's own metrics. With several worker processes (``PROMETHEUS_MULTIPROC_DIR``
    set by ``gate serve``) every worker writes its values to files and ``/metrics`` adds up all
    workers'."""

    def __init__(self, multiprocess: bool = False) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        target = None if multiprocess else self.registry
        if multiprocess:
            from prometheus_client import multiprocess as mp

            mp.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        self.requests = Counter(
            "gate_serve_requests", "Requests answered", ["route", "code"], registry=target
        )
        self.seconds = Histogram(
            "gate_serve_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=target,
        )
        self.outcomes = Counter(
            "gate_serve_outcomes",
            "Decisions, verdicts and hook answers given",
            ["route", "outcome"],
            registry=target,
        )

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _route(path: str) -> str:
    if path.startswith("/v1/flagger/"):
        return "/v1/flagger/{hook}"
    return path if path in ("/healthz", "/metrics", "/v1/check", "/v1/judge") else "other"


class RequestLog:
    """Outermost layer: a request id, one JSON log line and the metrics for every request."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        note: dict[str, str] = {}
        scope.setdefault("state", {})["gate"] = note
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - began
            route = _route(str(scope.get("path", "")))
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.seconds.labels(route).observe(seconds)
            if note.get("outcome"):
                self.metrics.outcomes.labels(route, note["outcome"]).inc()
            if route not in ("/healthz", "/metrics") or status >= 400:
                log(
                    logging.WARNING if status >= 500 else logging.INFO,
                    "request",
                    request_id=request_id,
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    seconds=round(seconds, 4),
                    **note,
                )


def same_token(given: str | bytes, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    raw = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(raw.strip(), expected.encode())


class BearerAuth:
    """Every path but ``/healthz`` needs ``Authorization: Bearer <token>``, compared in
    constant time. ``token=None`` (``--insecure-no-auth``) lets everything through.

    Flagger cannot send headers with a webhook: a Flagger hook without an ``Authorization``
    header goes on, marked, and must carry the token in its payload's ``metadata.token``
    (checked by the hook's endpoint once the body is read)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._token is not None and scope["path"] not in OPEN_PATHS:
            header: bytes | None = None
            for name, value in scope.get("headers", []):
                if name == b"authorization":
                    header = value
            if header is None and scope["path"].startswith("/v1/flagger/"):
                scope.setdefault("state", {})["token_in_body"] = True
                await self.app(scope, receive, send)
                return
            scheme, _, given = (header or b"").partition(b" ")
            if scheme.lower() != b"bearer" or not same_token(given, self._token):
                response = Response(
                    json.dumps({"error": "missing or wrong bearer token"}) + "\n",
                    status_code=401,
                    media_type="application/json",
                    headers={"WWW-Authenticate": 'Bearer realm="gate"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestProblem(400, [f"{BODY}: Content-Length {declared!r} is not a number"])
        if int(declared) > limit:
            raise RequestProblem(413, [f"{BODY}: body is {declared} bytes, more than {limit}"])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestProblem(413, [f"{BODY}: body is more than {limit} bytes"])
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    service: Service,
    *,
    token: str | None,
    flagger_token: str | None = None,
    multiprocess: bool = False,
) -> Starlette:
    """The app for one worker process. ``token=None`` turns authentication off;
    ``flagger_token`` is what Flagger's hooks carry in ``metadata.token`` (default: ``token``).
    """
    hook_token = flagger_token or token
    settings = service.settings
    metrics = ServerMetrics(multiprocess)

    async def answer(request: Request, work: Callable[[bytes], Reply]) -> Response:
        deadline = time.monotonic() + settings.timeout
        note: dict[str, str] = request.scope["state"]["gate"]
        try:
            try:
                with anyio.fail_after(settings.timeout):
                    raw = await _read_body(request, settings.max_body_bytes)
            except TimeoutError:
                raise RequestProblem(
                    408, [f"{BODY}: not received within {settings.timeout:g}s"]
                ) from None
            try:
                with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                    reply = await anyio.to_thread.run_sync(work, raw, abandon_on_cancel=True)
            except TimeoutError:
                raise RequestProblem(
                    504, [f"no answer within the time limit of {settings.timeout:g}s"]
                ) from None
        except RequestProblem as p:
            reply = _problem(p)
        note.update({k: v for k, v in (("outcome", reply.outcome), ("reason", reply.reason)) if v})
        return Response(
            reply.body, reply.status, headers=reply.headers, media_type="application/json"
        )

    def guarded(work: Callable[[bytes], Reply]) -> Callable[[bytes], Reply]:
        """Map what the core raises to answers; only a bug becomes a 500."""

        def run(raw: bytes) -> Reply:
            try:
                return work(raw)
            except RequestProblem as p:
                return _problem(p)
            except ConfigError as exc:
                return _problem(invalid(exc))
            except ProviderError as exc:
                return _problem(RequestProblem(502, [str(exc)]))
            except GateError as exc:
                return _problem(RequestProblem(500, [str(exc)]))
            except Exception as exc:  # a bug: logged, answered 500, and the server lives on
                logging.getLogger("gate.serve").exception(
                    "internal error", extra={"fields": {"error": type(exc).__name__}}
                )
                return _json(500, {"error": "internal error; see the server log"}, "error")

        return run

    async def healthz(request: Request) -> Response:
        return Response('{"status": "ok"}\n', media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = await anyio.to_thread.run_sync(metrics.exposition)
        return Response(body, headers={"Content-Type": content_type})

    async def check_endpoint(request: Request) -> Response:
        fail_on = request.query_params.get("failOn", "block")

        def work(raw: bytes) -> Reply:
            if fail_on not in ("block", "warn"):
                raise RequestProblem(400, [f"failOn: {fail_on!r} is not one of: block, warn"])
            result = policy_gate.check(service, parse_body(raw), fail_on=fail_on)
            return Reply(
                result.status,
                result.json(),
                result.decision,
                headers={"Gate-Decision": result.decision},
            )

        return await answer(request, guarded(work))

    async def judge_endpoint(request: Request) -> Response:
        def work(raw: bytes) -> Reply:
            doc = parse_body(raw)
            try:
                judge_request = judging.parse_judge_request(doc, service)
            except ConfigError as exc:
                raise invalid(exc) from None
            verdict = judging.judge(service, judge_request)
            return _json(200, verdict.as_dict(), verdict.verdict)

        return await answer(request, guarded(work))

    async def flagger_endpoint(request: Request) -> Response:
        hook = request.path_params["hook"]
        token_in_body = bool(request.scope["state"].get("token_in_body"))

        def work(raw: bytes) -> Reply:
            doc = parse_body(raw)
            if token_in_body and not _metadata_token_ok(doc.data, hook_token):
                raise RequestProblem(401, ["missing or wrong token in metadata.token"])
            hook_answer = flagger.answer(service, hook, doc)
            outcome = hook_answer.outcome
            return _json(outcome.status, hook_answer.as_dict(), outcome.answer, outcome.reason)

        return await answer(request, guarded(work))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        try:
            yield
        finally:
            service.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return Response(
            json.dumps({"error": exc.detail}) + "\n",
            exc.status_code,
            headers=exc.headers,
            media_type="application/json",
        )

    app = Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/v1/check", check_endpoint, methods=["POST"]),
            Route("/v1/judge", judge_endpoint, methods=["POST"]),
            Route("/v1/flagger/{hook}", flagger_endpoint, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BearerAuth, token=token)
    app.add_middleware(RequestLog, metrics=metrics)
    return app


def _metadata_token_ok(data: object, expected: str | None) -> bool:
    if expected is None:
        return True
    metadata = data.get("metadata") if isinstance(data, dict) else None
    given = metadata.get("token") if isinstance(metadata, dict) else None
    return isinstance(given, str) and same_token(given, expected)


def app_from_environment() -> Starlette:
    """uvicorn's app factory in each worker process started by ``gate serve``."""
    import os

    from gate.serve.settings import ServeSettings

    settings = ServeSettings.from_environment()
    service = Service.load(settings)
    return create_app(
        service,
        token=settings.token(),
        flagger_token=settings.flagger_token(),
        multiprocess=bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
    )
