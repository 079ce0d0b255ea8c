"""Two app instances with their own caches and LISTEN connections: two worker processes.

NOTIFY is delivered only on commit, so tests using `workers` commit for real (in the
session's scratch database) and the fixture deletes what they made afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth import service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.helpers import bearer

Workers = tuple[FastAPI, FastAPI, dict[str, str], Database]


def client_of(app: FastAPI) -> httpx.AsyncClient:
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
        lists = list(
            (
                await conn.execute(
                    text(
                        "SELECT entry_key FROM dnc_lists WHERE tenant_id = ANY(:tenants) OR id IN "
                        "(SELECT target FROM change_events WHERE actor_key_id = :admin "
                        "AND type = 'dnc_list.created')"
                    ),
                    params,
                )
            ).scalars()
        )
        await conn.execute(
            text("DELETE FROM dnc_entries WHERE list_key = ANY(:lists)"), {"lists": lists}
        )
        await conn.execute(
            text(
                "DELETE FROM uploads WHERE list_id IN "
                "(SELECT id FROM dnc_lists WHERE entry_key = ANY(:lists))"
            ),
            {"lists": lists},
        )
        await conn.execute(
            text("DELETE FROM dnc_lists WHERE entry_key = ANY(:lists)"), {"lists": lists}
        )
        await conn.execute(text("DELETE FROM uploads WHERE tenant_id = ANY(:tenants)"), params)
        await conn.execute(text("DELETE FROM optout_state WHERE tenant_id = ANY(:tenants)"), params)
        # opt-out history is append-only (a trigger refuses DELETE); a superuser clearing test
        # data skips triggers for this transaction only
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text("DELETE FROM optout_events WHERE tenant_id = ANY(:tenants)"), params
        )
        # consents too: never deleted but for test data (a trigger refuses it otherwise)
        await conn.execute(text("DELETE FROM consents WHERE tenant_id = ANY(:tenants)"), params)
        await conn.execute(text("SET LOCAL session_replication_role = DEFAULT"))
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
        await conn.execute(
            text("DELETE FROM calling_policies WHERE tenant_id = ANY(:tenants)"), params
        )
        await conn.execute(text("DELETE FROM tenants WHERE id = ANY(:tenants)"), params)
        await conn.execute(text("DELETE FROM area_code_overrides WHERE updated_by = :admin"), made)
        await conn.execute(text("DELETE FROM calling_bans WHERE created_by = :admin"), made)
