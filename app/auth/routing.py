"""The route class of every /v1 route: JSON-body checks plus Idempotency-Key on POST."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import idempotency
from app.auth.dependencies import authenticate, required_scopes
from app.auth.errors import IdempotencyInProgress, IdempotencyKeyReused, ScopeRequired
from app.auth.principal import Principal
from app.core.config import Settings
from app.core.dependencies import database_of, settings_of
from app.core.errors import AppError, ValidationFailed, error_response, validation_error_response
from app.core.request_id import current_request_id
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
    """The first response exactly (status, body, X-Request-Id), marked as a replay: an envelope's
    `request_id` stays its header's (RequestContextMiddleware adds no second X-Request-Id)."""
    headers = {"Idempotent-Replayed": "true"}
    if stored.request_id is not None:  # else a record older than the column: this request's id
        headers["X-Request-Id"] = stored.request_id
    return Response(
        stored.body, status_code=stored.status, media_type=stored.content_type, headers=headers
    )


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """A request's Idempotency-Key, scoped to its API key: the one flow of claim, replay,
    completion and release, for routes whose body FastAPI reads and for those that stream it.
    `request_id`: this request's, stored with its response for the replays."""

    engine: AsyncEngine
    settings: Settings
    scope: str
    key: str
    request_id: str

    @classmethod
    def of(cls, request: Request, principal: Principal, key: str) -> KeyClaim:
        app = request.app
        return cls(
            database_of(app).engine,
            settings_of(app),
            principal.idempotency_scope,
            key,
            current_request_id(),  # the id the envelope's request_id and the header carry
        )

    async def take(self, request: Request, body: bytes) -> Response | None:
        """Claim the key for this request (None), or the first response to replay; a reused
        or still running key is a 409. `body`: the body, or a digest of a streamed one."""
        fingerprint = idempotency.fingerprint(request, body)
        claim = await idempotency.claim(
            self.engine, self.settings, scope=self.scope, key=self.key, fingerprint=fingerprint
        )
        if claim.reused:
            raise IdempotencyKeyReused()
        if claim.in_progress:
            raise IdempotencyInProgress()
        return replayed(claim.replay) if claim.replay is not None else None

    async def complete(self, status: int, content_type: str | None, body: bytes) -> None:
        stored = idempotency.Stored(status, content_type, body, self.request_id)
        await idempotency.complete(self.engine, scope=self.scope, key=self.key, stored=stored)

    async def release(self) -> None:
        await asyncio.shield(idempotency.release(self.engine, scope=self.scope, key=self.key))


def streamed_claim(request: Request, principal: Principal) -> KeyClaim | None:
    """The Idempotency-Key a streaming route claims itself, once its body is on disk."""
    key = getattr(request.state, "idempotency_key", None)
    return None if key is None else KeyClaim.of(request, principal, key)


async def _idempotent(request: Request, key: str, handler: Handler) -> Response:
    claim = KeyClaim.of(request, await authenticate(request), key)  # principal cached by now
    replay = await claim.take(request, await request.body())
    if replay is not None:
        return replay
    try:
        try:
            response = await handler(request)
        except AppError as exc:
            response = error_response(exc)
        except RequestValidationError as exc:
            response = validation_error_response(exc)
    except BaseException:
        await claim.release()
        raise
    body = getattr(response, "body", None)
    if response.status_code >= 500 or not isinstance(body, bytes):
        await claim.release()
        return response
    await claim.complete(response.status_code, response.media_type, body)
    return response


def make_v1_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=V1Route, **kwargs)
