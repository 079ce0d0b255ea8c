"""A revocation reaches every process: at once where it was made, within 1 s elsewhere.

Two app instances with their own key caches and LISTEN connections stand for two worker
processes. NOTIFY is delivered only on commit, so these tests commit for real (in the session's
scratch database) and delete what they made afterwards.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import text

from app.auth.cache import KeyCache
from app.auth.principal import hash_secret
from app.core.listener import LISTENER_NAME, ChangeListener
from tests.envelope import assert_envelope
from tests.helpers import create_key, create_tenant
from tests.workers import Workers, client_of


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
    workers: Workers,
) -> None:
    app_a, app_b, admin, _ = workers
    async with client_of(app_a) as a, client_of(app_b) as b:
        tenant_id = await create_tenant(a, admin)
        key_id, headers = await create_key(a, admin, tenant_id=tenant_id)
        assert (await a.get("/v1/api-keys", headers=headers)).status_code == 200  # cached in A
        assert (await b.get("/v1/api-keys", headers=headers)).status_code == 200  # cached in B

        assert (await a.delete(f"/v1/api-keys/{key_id}", headers=admin)).status_code == 200
        assert_envelope(await a.get("/v1/api-keys", headers=headers), 401, "key_revoked")
        elapsed = await _revoked_within(b, headers, seconds=1.0)
    assert elapsed < 1.0


async def test_rotation_grace_end_reaches_the_other_worker(
    workers: Workers,
) -> None:
    app_a, app_b, admin, _ = workers
    async with client_of(app_a) as a, client_of(app_b) as b:
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
    workers: Workers,
) -> None:
    app_a, _, admin, database = workers
    cache = app_a.state.auth.cache
    listener = app_a.state.listener
    async with client_of(app_a) as a:
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
