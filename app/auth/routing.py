"""The route class of every /v1 route: JSON-body checks plus Idempotency-Key on POST."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from app.auth import idempotency
from app.auth.dependencies import authenticate, required_scopes
from app.auth.errors import IdempotencyInProgress, IdempotencyKeyReused, ScopeRequired
from app.core.errors import AppError, ValidationFailed, error_response, validation_error_response
from app.core.routing import RETURNS_SECRET, STREAMING_BODY, JsonBodyRoute
from app.core.text import unstorable

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class V1Route(JsonBodyRoute):
    """Authenticate first (a caller without a valid key learns nothing else: not the route's
    media type, not its validation rules), then Idempotency-Key on POST, then the route."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        is_post = bool(self.methods and "POST" in self.methods)
        extra = self.openapi_extra or {}
        # a route that streams its body (uploads) claims the key itself, once the body is on
        # disk and hashed: reading it here would hold the whole file in memory
        streams = bool(extra.get(STREAMING_BODY))
        # an answer that carries a secret is never stored, so it cannot be replayed
        secret = bool(extra.get(RETURNS_SECRET))
        scopes = required_scopes(self.dependant)

        async def v1_handler(request: Request) -> Response:
            principal = await authenticate(request)
            _check_parameters(request)
            key = request.headers.get("idempotency-key") if is_post else None
            if key is None:
                response = await handler(request)
                if secret:  # no cache on the way may keep it
                    response.headers["Cache-Control"] = "no-store"
                return response
            _check_key(key)
            if secret:
                raise ValidationFailed.field(
                    "Idempotency-Key",
                    "not accepted on a route whose answer carries a secret",
                    "Idempotency-Key is not accepted here: this answer carries a new secret, "
                    "which callguard never stores. Send the request without it.",
                )
            # authorize before replaying: a stored answer goes only to a caller the route
            # itself would let in
            for scope in sorted(scopes):
                if not principal.has(scope):
                    raise ScopeRequired(scope)
            if streams:
                request.state.idempotency_key = key
                return await handler(request)
            return await _idempotent(request, key, handler)

        return v1_handler


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.field(
            "Idempotency-Key",
            "1 to 255 characters",
            "The Idempotency-Key header must be 1 to 255 characters.",
        )
    if (problem := unstorable(key)) is not None:
        raise ValidationFailed.field(
            "Idempotency-Key", problem, f"The Idempotency-Key header {problem}."
        )


def _check_parameters(request: Request) -> None:
    """Path and query values reach SQL as text: one PostgreSQL cannot hold (NUL) is a 400 here,
    not a 500 from the database."""
    fields = [
        {"field": name, "problem": problem}
        for name, value in [*request.path_params.items(), *request.query_params.multi_items()]
        if isinstance(value, str) and (problem := unstorable(value)) is not None
    ]
    if fields:
        raise ValidationFailed.fields(fields)


def replayed(stored: idempotency.Stored) -> Response:
    return Response(
        stored.body,
        status_code=stored.status,
        media_type=stored.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def _idempotent(request: Request, key: str, handler: Handler) -> Response:
    principal = await authenticate(request)  # cached on the request by now
    engine = request.app.state.db.engine
    settings = request.app.state.settings
    scope = principal.idempotency_scope
    fingerprint = idempotency.fingerprint(request, await request.body())
    claim = await idempotency.claim(engine, settings, scope=scope, key=key, fingerprint=fingerprint)
    if claim.reused:
        raise IdempotencyKeyReused()
    if claim.in_progress:
        raise IdempotencyInProgress()
    if claim.replay is not None:
        return replayed(claim.replay)
    try:
        try:
            response = await handler(request)
        except AppError as exc:
            response = error_response(exc)
        except RequestValidationError as exc:
            response = validation_error_response(exc)
    except BaseException:
        await asyncio.shield(idempotency.release(engine, scope=scope, key=key))
        raise
    body = getattr(response, "body", None)
    if response.status_code >= 500 or not isinstance(body, bytes):
        await idempotency.release(engine, scope=scope, key=key)
        return response
    stored = idempotency.Stored(response.status_code, response.media_type, body)
    await idempotency.complete(engine, scope=scope, key=key, stored=stored)
    return response


def make_v1_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=V1Route, **kwargs)
