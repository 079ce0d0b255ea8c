"""Webhook tests that deliver for real: a callguard app with its lifespan (its delivery worker,
its LISTEN connection) on the session's scratch database, committing for real, and a receiver
on 127.0.0.1 (the allow flags on, retries and timeouts short). What a test made is deleted
afterwards, its hooks and deliveries first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.helpers import bearer, create_key, create_tenant
from tests.webhooks.receiver import Receiver
from tests.workers import _delete_what_was_made

# receivers on 127.0.0.1 over http, retried within a fraction of a second
FAST = {
    "webhook_allow_http": True,
    "webhook_allow_private": True,
    "webhook_retry_min_s": 0.05,
    "webhook_retry_max_s": 0.2,
    "webhook_timeout_s": 1.0,
    "webhook_poll_s": 0.05,
}
HOOK_SCOPES = [
    "dnc:read",
    "dnc:write",
    "optouts:read",
    "optouts:write",
    "consents:read",
    "consents:write",
    "keys:write",
    "webhooks:write",
]


@dataclass
class Live:
    apps: list[FastAPI]
    clients: list[httpx.AsyncClient]
    admin: dict[str, str]
    database: Database
    settings: Settings

    @property
    def client(self) -> httpx.AsyncClient:
        return self.clients[0]

    async def tenant(self, scopes: list[str] | None = None) -> tuple[str, dict[str, str]]:
        tenant_id = await create_tenant(self.client, self.admin)
        _, headers = await create_key(
            self.client, self.admin, tenant_id=tenant_id, scopes=scopes or HOOK_SCOPES
        )
        return tenant_id, headers

    async def hook(
        self, headers: dict[str, str], url: str, events: list[str], query: str = ""
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/webhooks{query}", json={"url": url, "events": events}, headers=headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def deliveries(self, headers: dict[str, str], hook_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=headers)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.database.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()


@asynccontextmanager
async def running(
    database_url: str, settings: Settings, *, apps: int = 1, **overrides: Any
) -> AsyncIterator[Live]:
    """`apps` serving processes' worth of callguard (each its own worker and listener)."""
    hook_settings = settings.model_copy(update={**FAST, **overrides})
    database = Database.from_url(database_url, hook_settings)
    async with database.sessionmaker() as session, session.begin():
        admin_key, secret = await auth_service.create_key(
            session=session, principal=None, data=ApiKeyIn(name="hooks", scopes=[Scope.ADMIN])
        )
    made = [create_app(hook_settings, Database.from_url(database_url, hook_settings))]
    made += [
        create_app(hook_settings, Database.from_url(database_url, hook_settings))
        for _ in range(apps - 1)
    ]
    try:
        async with AsyncExitStack() as stack:
            for app in made:
                await stack.enter_async_context(app.router.lifespan_context(app))
            for app in made:
                await asyncio.wait_for(app.state.listener.connected.wait(), timeout=5)
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app), base_url="http://callguard.test"
                    )
                )
                for app in made
            ]
            yield Live(made, clients, bearer(secret), database, hook_settings)
    finally:
        for app in made:
            await app.state.db.dispose()
        await _delete_hooks(database, admin_key.id)
        await _delete_what_was_made(database, admin_key.id)
        await database.dispose()


async def _delete_hooks(database: Database, admin_id: str) -> None:
    async with database.engine.begin() as conn:
        hooks = (
            "SELECT id FROM webhooks WHERE created_by = :admin OR tenant_id IN ("
            " SELECT target FROM change_events"
            " WHERE actor_key_id = :admin AND type = 'tenant.created')"
        )
        params = {"admin": admin_id}
        await conn.execute(
            text(f"DELETE FROM webhook_deliveries WHERE webhook_id IN ({hooks})"), params
        )
        await conn.execute(text(f"DELETE FROM webhooks WHERE id IN ({hooks})"), params)


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Wait until `check()` holds (polling every 50 ms), or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        await asyncio.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running_receiver:
        yield running_receiver
