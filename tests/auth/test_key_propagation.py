"""A revocation reaches every process: at once where it was made, within 1 s elsewhere.

Two app instances with their own key caches and LISTEN connections stand for two worker
processes. NOTIFY is delivered only on commit, so these tests commit for real (in the session's
scratch database) and delete what they made afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth import service
from app.auth.cache import KeyCache
from app.auth.principal import Scope, hash_secret
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from app.core.listener import LISTENER_NAME, ChangeListener
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer, create_key, create_tenant


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w")


@pytest.fixture
async def workers(
    database_url: str, settings: Settings
) -> AsyncIterator[tuple[FastAPI, FastAPI, dict[str, str], Database]]:
    database = Database.from_url(database_url, settings)
    async with database.sessionmaker() as session, session.begin():
        admin_key, secret = await service.create_key(
            session=session, principal=None, data=ApiKeyIn(name="workers", scopes=[Scope.ADMIN])
        )
    apps = [create_app(settings, Database.from_url(database_url, settings)) for _ in range(2)]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        for app in apps:
            await asyncio.wait_for(app.state.listener.connected.wait(), timeout=5)
        yield apps[0], apps[1], bearer(secret), database
    for app in apps:
        await app.state.db.dispose()
    await _delete_what_was_made(database, admin_key.id)
    await database.dispose()


async def _delete_what_was_made(database: Database, admin_id: str) -> None:
    async with database.engine.begin() as conn:
        made = {"admin": admin_id}
        tenants = list(
            (
                await conn.execute(
                    text(
                        "SELECT target FROM change_events "
                        "WHERE actor_key_id = :admin AND type = 'tenant.created'"
                    ),
                    made,
                )
            ).scalars()
        )
        params = {**made, "tenants": tenants}
        await conn.execute(
            text(
                "DELETE FROM change_events WHERE actor_key_id = :admin OR target = :admin "
                "OR tenant_id = ANY(:tenants)"
            ),
            params,
        )
        await conn.execute(
            text("DELETE FROM api_keys WHERE id = :admin OR tenant_id = ANY(:tenants)"), params
        )
        await conn.execute(text("DELETE FROM tenants WHERE id = ANY(:tenants)"), params)


async def _revoked_within(
    client: httpx.AsyncClient, headers: dict[str, str], seconds: float
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        response = await client.get("/v1/api-keys", headers=headers)
        if response.status_code == 401:
            assert_envelope(response, 401, "key_revoked")
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"the other worker still accepted the key after {seconds} s")


async def test_revocation_reaches_the_other_worker_within_a_second(
    workers: tuple[FastAPI, FastAPI, dict[str, str], Database],
) -> None:
    app_a, app_b, admin, _ = workers
    async with _client(app_a) as a, _client(app_b) as b:
        tenant_id = await create_tenant(a, admin)
        key_id, headers = await create_key(a, admin, tenant_id=tenant_id)
        assert (await a.get("/v1/api-keys", headers=headers)).status_code == 200  # cached in A
        assert (await b.get("/v1/api-keys", headers=headers)).status_code == 200  # cached in B

        assert (await a.delete(f"/v1/api-keys/{key_id}", headers=admin)).status_code == 200
        assert_envelope(await a.get("/v1/api-keys", headers=headers), 401, "key_revoked")
        elapsed = await _revoked_within(b, headers, seconds=1.0)
    assert elapsed < 1.0


async def test_rotation_grace_end_reaches_the_other_worker(
    workers: tuple[FastAPI, FastAPI, dict[str, str], Database],
) -> None:
    app_a, app_b, admin, _ = workers
    async with _client(app_a) as a, _client(app_b) as b:
        tenant_id = await create_tenant(a, admin)
        key_id, headers = await create_key(a, admin, tenant_id=tenant_id)
        assert (await b.get("/v1/api-keys", headers=headers)).status_code == 200
        rotated = await a.post(
            f"/v1/api-keys/{key_id}/rotate", json={"grace_seconds": 0}, headers=admin
        )
        assert rotated.status_code == 201
        started = time.monotonic()
        while (await b.get("/v1/api-keys", headers=headers)).status_code != 401:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.01)


async def test_lost_listener_empties_the_cache_and_reconnects(
    workers: tuple[FastAPI, FastAPI, dict[str, str], Database],
) -> None:
    app_a, _, admin, database = workers
    cache = app_a.state.auth.cache
    listener = app_a.state.listener
    async with _client(app_a) as a:
        assert (await a.get("/v1/tenants", headers=admin)).status_code == 200
        admin_hash = hash_secret(admin["Authorization"].removeprefix("Bearer "))
        assert cache.get(admin_hash) is not None

        async with database.engine.begin() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": LISTENER_NAME},
            )
        assert killed >= 1
        started = time.monotonic()
        while cache.get(admin_hash) is not None:  # changes could have been missed: forget all
            assert time.monotonic() - started < 2.0
            await asyncio.sleep(0.01)
        await asyncio.wait_for(_reconnected(listener, cache), timeout=5)
        assert (await a.get("/v1/tenants", headers=admin)).status_code == 200
        assert cache.get(admin_hash) is not None  # caching again


async def _reconnected(listener: ChangeListener, cache: KeyCache) -> None:
    while not (listener.connected.is_set() and cache.trusted):
        await asyncio.sleep(0.01)
