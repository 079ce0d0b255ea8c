"""The outermost layer of every HTTP request.

Assigns the request id and adds X-Request-Id to every response that has none (only an
Idempotency-Key replay brings its own, the first response's), enforces the body limit, turns any
escaped exception into the envelope (503 when the database could not be consulted, 500
otherwise), and writes one access-log line (with this request's own id) and the request metrics.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.db import is_unavailable
from app.core.errors import (
    AppError,
    BodyTooLarge,
    InternalError,
    PayloadTooLarge,
    ServiceUnavailable,
    envelope,
)
from app.core.metrics import observe_request
from app.core.openapi import api_routes
from app.core.request_id import pick_request_id, reset_request_id, set_request_id
from app.core.routing import STREAMING_BODY

access_log = logging.getLogger("callguard.access")
# browsers must take every answer for the type it says (JSON, CSV), never guess another
NOSNIFF = (b"x-content-type-options", b"nosniff")
CLIENT_CLOSED = 499  # the status proxies log for a client that closed its request
error_log = logging.getLogger("callguard.error")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class UploadRoutes:
    """Which requests may send a file-sized body: those the router would hand to a route that
    streams its body (the upload routes, by their path template and method), nothing chosen by
    how a path happens to end. Resolved from the routes on first use (they are added after the
    middleware), whether or not they are in the OpenAPI document."""

    def __init__(self, routes: Callable[[], list[BaseRoute]]) -> None:
        self._routes = routes
        self._streaming: list[tuple[frozenset[str], re.Pattern[str]]] | None = None

    def _find(self) -> list[tuple[frozenset[str], re.Pattern[str]]]:
        found = []
        for route in api_routes(self._routes()):
            extra = getattr(route, "original_route", route).openapi_extra or {}
            if extra.get(STREAMING_BODY):
                found.append((frozenset(route.methods), compile_path(route.path_format)[0]))
        return found

    def __call__(self, scope: Scope) -> bool:
        if self._streaming is None:
            self._streaming = self._find()
        method, path = scope["method"], scope["path"]
        return any(method in methods and regex.match(path) for methods, regex in self._streaming)


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_routes: Callable[[Scope], bool] = lambda _: False,
        fast: FastPath | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes
        self.upload_routes = upload_routes
        self.fast = fast

    def fast_for(self, scope: Scope) -> FastPath | None:
        """The fast path, when it takes this HTTP request (see app/checks/fast)."""
        fast = self.fast
        return fast if fast is not None and fast.wants(scope) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, self.fast_for(scope))

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, fast: FastPath | None
    ) -> None:
        """An HTTP request, `fast` the fast path when it takes it (`fast_for`)."""
        request_id = pick_request_id(_header(scope, b"x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        rid_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                headers = message.get("headers", [])
                # an Idempotency-Key replay carries the first response's id: kept, not doubled
                # (a few headers scanned; the access log keeps this request's own id)
                if any(name == b"x-request-id" for name, _ in headers):
                    message["headers"] = [*headers, NOSNIFF]
                else:
                    message["headers"] = [*headers, rid_header, NOSNIFF]
            await send(message)

        # a request the fast path takes is never one of the upload routes
        limit = self.max_upload if fast is None and self.upload_routes(scope) else self.max_body
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                error: AppError = PayloadTooLarge(
                    f"The request body is larger than the limit of {limit} bytes.",
                    details={"limit_bytes": limit},
                )
                await self._send_error(send_with_id, error, request_id)
            elif fast is not None:
                body = await _read_body(limited_receive)
                if not await fast(scope, body, send_with_id):
                    await self.app(scope, _replay(body, receive), send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except ClientDisconnect:
            # the client left mid-request (an upload cut off): nobody to answer, nothing broke
            status["code"] = CLIENT_CLOSED
            access_log.info("client disconnected mid-request", extra=_ids(request_id))
        except Exception as exc:
            if status["sent"]:
                error_log.exception("error after the response started", extra=_ids(request_id))
                raise
            if isinstance(exc, BodyTooLarge):
                error = PayloadTooLarge(
                    f"The request body is larger than the limit of {exc.limit} bytes.",
                    details={"limit_bytes": exc.limit},
                )
            elif is_unavailable(exc):
                error_log.warning(
                    "database unavailable: %s", type(exc).__name__, extra=_ids(request_id)
                )
                error = ServiceUnavailable()
            else:
                error_log.exception("unhandled error", extra=_ids(request_id))
                error = InternalError()
            await self._send_error(send_with_id, error, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            observe_request(scope["method"], route, status["code"], elapsed)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status["code"],
                    "duration_ms": round(elapsed * 1000, 3),
                    "key_id": scope["state"].get("key_id"),
                },
            )
            reset_request_id(token)

    @staticmethod
    async def _send_error(send: Send, error: AppError, request_id: str) -> None:
        payload = envelope(error.code, error.message, error.details, request_id)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class FastPath(Protocol):
    """A handler answering some requests before the framework's routing (see app/checks/fast)."""

    def wants(self, scope: Scope) -> bool: ...

    async def __call__(self, scope: Scope, body: bytes, send: Send) -> bool: ...


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once more, for the framework, then whatever the client sends next."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _ids(request_id: str) -> dict[str, Any]:
    return {"request_id": request_id}


def _route_template(scope: Scope) -> str:
    """The matched route's template (/v1/api-keys/{key_id}), for logs and metric labels: never
    the raw path, so no request can mint a label of its own; unmatched paths share one."""
    route = scope.get("route")
    if isinstance(route, str):  # the check fast path names its own (fixed) route
        return route
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return "<unmatched>"
    # the route of an included router knows its own path, not the prefixes above it (/v1):
    # those are the path's leading segments, literal, since the route matched behind them
    own = template.count("/")
    path: str = scope["path"]
    if path.count("/") > own:
        return path.rsplit("/", own)[0] + template if own else path + template
    return template


# What FastAPI and Starlette put in front of the middleware we add that does nothing for a
# request the fast path takes: the exception wrappers (the request context answers whatever
# they would; one raised after the response started goes on up either way) and FastAPI's body
# limit when it has none (its inner app is then ours itself). FastAPI's two are in private
# modules: should they move, the walk stops at them and every request goes through FastAPI.
_PASSING: tuple[type, ...] = (ServerErrorMiddleware,)
try:
    from fastapi._body_limit import AppBodyLimitMiddleware
    from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware

    _PASSING += (ExceptionTelemetryMiddleware, AppBodyLimitMiddleware)
except ImportError:  # pragma: no cover - another FastAPI
    pass
_TELEMETRY = ("tracing", "metrics", "logs")


class Application(FastAPI):
    """FastAPI, with the requests the check fast path takes handed straight to the request
    context, past FastAPI's and Starlette's outer layers (`_PASSING`), which cost a check
    several µs a request and do nothing for it. Only while nothing else stands in front of the
    request context (middleware added after it, a body limit of FastAPI's own) and FastAPI's
    telemetry is off; otherwise every request goes through FastAPI."""

    # the middleware stack last looked at, and the request context behind it (None: no shortcut)
    _front: tuple[ASGIApp, RequestContextMiddleware | None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            context = self._front_door()
            fast = context.fast_for(scope) if context is not None else None
            if context is not None and fast is not None:
                scope["app"] = self  # as Starlette sets it (a route the request falls to reads it)
                await context.handle(scope, receive, send, fast)
                return
        await super().__call__(scope, receive, send)

    def _front_door(self) -> RequestContextMiddleware | None:
        """The request context, when a fast-path request may go straight to it; looked up
        again whenever the stack is built anew."""
        front, stack = self._front, self.middleware_stack
        if front is not None and front[0] is stack:
            return front[1]
        if stack is None:
            stack = self.middleware_stack = self.build_middleware_stack()
        telemetry = getattr(self, "_telemetry", None)  # FastAPI's own (CALLGUARD_OTEL)
        if not isinstance(telemetry, dict) or any(telemetry.get(k) for k in _TELEMETRY):
            self._front = (stack, None)
            return None
        layer: Any = stack
        while isinstance(layer, _PASSING):
            layer = getattr(layer, "app", None)
        context = layer if isinstance(layer, RequestContextMiddleware) else None
        self._front = (stack, context)
        return context
