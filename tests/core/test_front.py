"""A check the fast path takes is answered before FastAPI's and Starlette's outer layers
(app/core/middleware.Application), with everything the request context gives every answer;
with FastAPI's telemetry on, every request goes through FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.helpers import app_client, tenant_with_key

CHECK = {"to": "+14155552671", "at": "2026-11-23T18:30:00Z"}


@pytest.fixture
def entered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests that went through Starlette's own entry."""
    paths: list[str] = []
    original = Starlette.__call__

    async def spy(self: Starlette, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(Starlette, "__call__", spy)
    return paths


async def test_a_check_skips_the_frameworks_outer_layers(
    client: httpx.AsyncClient, admin: dict[str, str], entered: list[str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    entered.clear()
    check = await client.post("/v1/checks", json=CHECK, headers=headers)
    assert check.status_code == 200, check.text
    assert check.json()["ok"] is True
    assert check.headers["x-request-id"]
    assert check.headers["x-content-type-options"] == "nosniff"
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": CHECK["to"]}], "at": CHECK["at"]},
        headers=headers,
    )
    assert batch.status_code == 200, batch.text
    assert entered == []  # neither went through FastAPI's and Starlette's layers
    me = await client.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert entered == ["/v1/me"]  # every other request does


async def test_a_check_the_fast_path_hands_on_gets_the_routes_answer(
    client: httpx.AsyncClient, admin: dict[str, str], entered: list[str]
) -> None:
    """A body the fast path does not take (an unknown field) goes on to the FastAPI route,
    whose validation error is the envelope with the request's id."""
    _, headers = await tenant_with_key(client, admin)
    entered.clear()
    answer = await client.post(
        "/v1/checks", json={**CHECK, "colour": "red"}, headers={**headers, "X-Request-Id": "r-1"}
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "validation_failed"
    assert body["details"]["fields"][0]["field"] == "colour"
    assert body["request_id"] == "r-1" == answer.headers["x-request-id"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert entered == []  # handed on from the request context, not from Starlette's entry


class Recorder:
    """A middleware that notes the paths it saw."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


async def test_middleware_added_in_front_of_the_request_context_sees_every_check(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], entered: list[str]
) -> None:
    """The shortcut passes only FastAPI's and Starlette's own layers, and looks again when
    the stack is built anew."""
    _, headers = await tenant_with_key(client, admin)
    assert (await client.post("/v1/checks", json=CHECK, headers=headers)).status_code == 200
    seen: list[str] = []
    app.middleware_stack = None
    app.add_middleware(Recorder, seen=seen)
    entered.clear()
    check = await client.post("/v1/checks", json=CHECK, headers=headers)
    assert check.status_code == 200, check.text
    assert seen == ["/v1/checks"]
    assert entered == ["/v1/checks"]


@pytest.fixture
async def traced_client(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with FastAPI's telemetry on."""
    app = create_app(
        settings.model_copy(update={"otel": True}), Database.joined_to(engine, connection)
    )
    async with app_client(app) as client:
        yield client


async def test_with_telemetry_on_a_check_goes_through_fastapi(
    traced_client: httpx.AsyncClient, admin: dict[str, str], entered: list[str]
) -> None:
    _, headers = await tenant_with_key(traced_client, admin)
    entered.clear()
    check = await traced_client.post("/v1/checks", json=CHECK, headers=headers)
    assert check.status_code == 200, check.text
    assert entered == ["/v1/checks"]
