"""Registry freshness as events (API-2.md sections 12 and 17): a registry list within 7 days of
its maximum age is announced `registry.aging`, past it `registry.stale`, once per refresh, and
a hook subscribed to them gets a delivery."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.webhooks import service
from tests.dnc.freshness import age_list
from tests.helpers import tenant_with_key


async def _announce(connection: AsyncConnection) -> int:
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    try:
        async with session.begin():
            return await service.announce_registry_ages(session=session)
    finally:
        await session.close()


async def test_aging_then_stale_each_announced_once_per_refresh(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    hook = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/r", "events": ["registry.aging", "registry.stale"]},
        headers=headers,
    )
    assert hook.status_code == 201, hook.text
    made = await client.post(
        "/v1/dnc/lists",
        json={"name": "federal copy", "kind": "registry", "max_age_days": 31},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]

    async def events() -> list[tuple[str, str]]:
        rows = await connection.execute(
            text(
                "SELECT type, details->>'stale_at' FROM change_events "
                "WHERE target = :id AND type LIKE 'registry.%' ORDER BY at"
            ),
            {"id": list_id},
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    await _announce(connection)
    assert await events() == []  # fresh
    await age_list(connection, list_id, timedelta(days=26))
    await _announce(connection)
    await _announce(connection)  # again (another process, a minute later): nothing new
    [(kind, _)] = await events()
    assert kind == "registry.aging"
    await age_list(connection, list_id, timedelta(days=32))
    await _announce(connection)
    await _announce(connection)
    assert [kind for kind, _ in await events()] == ["registry.aging", "registry.stale"]
    # refreshed (by an upload, here by hand) and aged again: announced again
    await age_list(connection, list_id, timedelta(days=40))
    await _announce(connection)
    assert [kind for kind, _ in await events()][-1] == "registry.stale"
    assert len(await events()) == 3
    deliveries = await client.get(f"/v1/webhooks/{hook.json()['id']}/deliveries", headers=headers)
    assert [d["event_type"] for d in deliveries.json()["data"]] == [
        "registry.stale",
        "registry.stale",
        "registry.aging",
    ]
    details = await connection.scalar(
        text("SELECT details FROM change_events WHERE target = :id ORDER BY at DESC LIMIT 1"),
        {"id": list_id},
    )
    assert details["list_id"] == list_id
    assert details["max_age_days"] == 31
