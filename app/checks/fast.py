"""The hot paths of POST /v1/checks and POST /v1/checks/batch as a plain ASGI handler.

FastAPI's routing, dependency solving and model validation cost several times what a check
itself costs (for a batch of 10,000, Pydantic alone took longer than deciding them). A
well-formed request (JSON object with only the documented fields, in their plain types, no
query string, no Idempotency-Key) is answered here, by the same functions the FastAPI routes
call: `authenticate`, `service.check_one` / `service.check_batch`, the same envelopes.
Anything else, and any validation problem, goes on to the FastAPI route, which owns the
contract's validation errors and the OpenAPI document. Authentication happens at most once per
request: the principal it stores in the request state is reused if the request falls through.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message, Scope, Send

from app.auth.dependencies import authenticate, charge_items
from app.auth.errors import ScopeRequired
from app.auth.principal import Scope as KeyScope
from app.checks import service
from app.checks.dependencies import check_context, check_writer_of
from app.checks.jobs import CheckUnavailable
from app.core import gcpause
from app.core.channels import CHANNELS
from app.core.errors import AppError, envelope
from app.core.metrics import observe_checks
from app.core.text import encodable, unstorable

PATH = "/v1/checks"
BATCH_PATH = "/v1/checks/batch"
PATHS = (PATH, BATCH_PATH)
FIELDS = frozenset({"to", "at", "recipient_state", "channel", "reserve", "purpose"})
BATCH_FIELDS = frozenset({"items", "at", "channel", "reserve", "purpose"})
ITEM_FIELDS = frozenset({"to", "recipient_state"})
MAX_ITEMS = 10_000
# what both this path and Pydantic read the same way; other spellings go to the FastAPI route
INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
JSON_TYPE = b"application/json"
BIG_BODY = 32_768  # a batch body from which the garbage collector waits until it is answered


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _plain_to(to: Any) -> bool:
    return isinstance(to, str) and len(to) <= 256 and encodable(to)


def _plain_state(state: Any) -> bool:
    return state is None or (isinstance(state, str) and len(state) == 2 and encodable(state))


def _common(data: dict[str, Any]) -> bool:
    """`at` and `channel` as both paths read them; `at` parsed in place."""
    at = data.get("at")
    if at is not None:
        if not isinstance(at, str) or not INSTANT.fullmatch(at):
            return False
        try:
            data["at"] = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return False
    purpose = data.get("purpose", "default")
    if not isinstance(purpose, str) or not 1 <= len(purpose) <= 64 or unstorable(purpose):
        return False
    return data.get("channel", "voice") in CHANNELS and isinstance(data.get("reserve", False), bool)


def _fields(body: bytes) -> dict[str, Any] | None:
    """The check's fields when the body is plainly well formed, else None."""
    data = _load(body)
    if not isinstance(data, dict) or not data.keys() <= FIELDS:
        return None
    if not _plain_to(data.get("to")) or not _plain_state(data.get("recipient_state")):
        return None
    return data if _common(data) else None


def _batch_fields(body: bytes) -> dict[str, Any] | None:
    """The batch's fields when the body is plainly well formed, else None."""
    data = _load(body)
    if not isinstance(data, dict) or not data.keys() <= BATCH_FIELDS:
        return None
    items = data.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return None
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not item.keys() <= ITEM_FIELDS:
            return None
        to, state = item.get("to"), item.get("recipient_state")
        if not _plain_to(to) or not _plain_state(state):
            return None
        pairs.append((to, state))
    data["items"] = pairs
    return data if _common(data) else None


class FastChecks:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def wants(self, scope: Scope) -> bool:
        if scope["method"] != "POST" or scope["path"] not in PATHS or scope.get("query_string"):
            return False
        content_type = (_header(scope, b"content-type") or b"").split(b";", 1)[0].strip()
        return content_type.lower() == JSON_TYPE and _header(scope, b"idempotency-key") is None

    async def __call__(self, scope: Scope, body: bytes, send: Send) -> bool:
        """True when answered here; False sends the request on to the FastAPI route."""
        batch = scope["path"] == BATCH_PATH
        if batch and len(body) >= BIG_BODY:
            with gcpause.paused():
                return await self._answer(scope, body, send, batch)
        return await self._answer(scope, body, send, batch)

    async def _answer(self, scope: Scope, body: bytes, send: Send, batch: bool) -> bool:
        fields = _batch_fields(body) if batch else _fields(body)
        if fields is None:
            return False
        app = self.app
        scope["app"] = app
        request = Request(scope, _no_body)
        try:
            principal = await authenticate(request)
            if not principal.has(KeyScope.CHECKS_WRITE):
                raise ScopeRequired(KeyScope.CHECKS_WRITE)
            if batch:
                charge_items(request, principal, len(fields["items"]))
        except AppError as error:
            await _send_error(scope, send, error)
            return True
        ctx = await check_context(app, principal, principal.tenant_id, scope["state"]["request_id"])
        writer = check_writer_of(app)
        channel = fields.get("channel", "voice")
        try:
            if batch:
                answer = await service.check_batch(
                    writer,
                    ctx,
                    items=fields["items"],
                    at=fields.get("at"),
                    channel=channel,
                    purpose=fields.get("purpose", "default"),
                    reserve=fields.get("reserve", False),
                )
                counts, status, body = service.summary_counts(answer.summary), 200, answer.body
            else:
                state = fields.get("recipient_state")
                if state is not None and not service.known_state(state, ctx.snapshot):
                    return False  # the FastAPI route answers the validation error
                decided = await service.check_one(
                    writer,
                    ctx,
                    to=fields["to"],
                    at=fields.get("at"),
                    recipient_state=state,
                    channel=channel,
                    purpose=fields.get("purpose", "default"),
                    reserve=fields.get("reserve", False),
                )
                counts = {(decided.record["outcome"], decided.record["error"] or ""): 1}
                status, body = decided.status, orjson.dumps(decided.body)
        except CheckUnavailable as exc:
            await _send_error(scope, send, exc.answer)
            return True
        except AppError:
            return False  # e.g. `at` out of range, an unknown state: the route answers it
        observe_checks(counts)
        scope["route"] = scope["path"]  # the access log and metrics name the route (a template)
        await _send(send, status, body)
        return True


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send_json(
    send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    await _send(send, status, orjson.dumps(payload), headers)


async def _send(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", JSON_TYPE), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_error(scope: Scope, send: Send, error: AppError) -> None:
    payload = envelope(error.code, error.message, error.details, scope["state"]["request_id"])
    await _send_json(send, error.status, payload, error.headers)
