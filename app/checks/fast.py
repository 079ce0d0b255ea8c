"""The hot path of POST /v1/checks as a plain ASGI handler.

FastAPI's routing, dependency solving and model validation cost several times what a check
itself costs. A well-formed check (JSON object with only the documented fields, in their plain
types, no query string, no Idempotency-Key) is answered here, by the same functions the FastAPI
route calls: `authenticate`, `service.check_one`, the same envelopes. Anything else, and any
validation problem, goes on to the FastAPI route, which owns the contract's validation errors and
the OpenAPI document. Authentication happens at most once per request: the principal it stores in
the request state is reused if the request falls through.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message, Scope, Send

from app.auth.dependencies import authenticate
from app.auth.errors import ScopeRequired
from app.auth.principal import Scope as KeyScope
from app.checks import service
from app.checks.pipeline import CheckUnavailable, CheckWriter
from app.core.errors import AppError, ServiceUnavailable, envelope
from app.core.metrics import observe_checks

PATH = "/v1/checks"
FIELDS = frozenset({"to", "at", "recipient_state", "channel"})
# what both this path and Pydantic read the same way; other spellings go to the FastAPI route
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
JSON_TYPE = b"application/json"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _unicode(text: str) -> bool:
    """False for text with lone surrogates, which the route's validation refuses."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _fields(body: bytes) -> dict[str, Any] | None:
    """The check's fields when the body is plainly well formed, else None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.keys() <= FIELDS:
        return None
    to = data.get("to")
    if not isinstance(to, str) or len(to) > 256 or not _unicode(to):
        return None
    at = data.get("at")
    if at is not None:
        if not isinstance(at, str) or not INSTANT.fullmatch(at):
            return None
        try:
            data["at"] = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return None
    state = data.get("recipient_state")
    if state is not None and (not isinstance(state, str) or len(state) != 2 or not _unicode(state)):
        return None
    if data.get("channel", "voice") not in ("voice", "sms"):
        return None
    return data


class FastChecks:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def wants(self, scope: Scope) -> bool:
        if scope["method"] != "POST" or scope["path"] != PATH or scope.get("query_string"):
            return False
        content_type = (_header(scope, b"content-type") or b"").split(b";", 1)[0].strip()
        return content_type.lower() == JSON_TYPE and _header(scope, b"idempotency-key") is None

    async def __call__(self, scope: Scope, body: bytes, send: Send) -> bool:
        """True when answered here; False sends the request on to the FastAPI route."""
        fields = _fields(body)
        if fields is None:
            return False
        app = self.app
        scope["app"] = app
        request = Request(scope, _no_body)
        try:
            principal = await authenticate(request)
            if not principal.has(KeyScope.CHECKS_WRITE):
                raise ScopeRequired(KeyScope.CHECKS_WRITE)
        except AppError as error:
            await _send_error(scope, send, error)
            return True
        snapshot = await app.state.reference.current(app.state.db.sessionmaker)
        state = fields.get("recipient_state")
        if state is not None and not service.known_state(state, snapshot):
            return False  # the FastAPI route answers the validation error
        ctx = service.Context(
            snapshot=snapshot,
            laws=app.state.laws,
            holidays=app.state.holidays,
            tenant_id=principal.tenant_id,
            api_key_id=principal.key_id,
            request_id=scope["state"]["request_id"],
            hours_cache=app.state.hours_cache,
        )
        writer: CheckWriter = app.state.checks
        try:
            decided = await service.check_one(
                writer,
                ctx,
                to=fields["to"],
                at=fields.get("at"),
                recipient_state=state,
                channel=fields.get("channel", "voice"),
            )
        except CheckUnavailable:
            await _send_error(scope, send, ServiceUnavailable())
            return True
        except AppError:
            return False  # e.g. `at` out of range: the route answers it
        observe_checks({(decided.record["outcome"], decided.record["error"] or ""): 1})
        scope["route"] = PATH  # the access log and metrics name the route (a template)
        await _send_json(send, decided.status, decided.body)
        return True


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send_json(
    send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    raw = [(b"content-type", JSON_TYPE), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_error(scope: Scope, send: Send, error: AppError) -> None:
    payload = envelope(error.code, error.message, error.details, scope["state"]["request_id"])
    await _send_json(send, error.status, payload, error.headers)
