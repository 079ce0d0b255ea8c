"""429 rate_limited: failed key attempts per client address, and each key's budget."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer


async def test_ten_failures_block_the_address_for_60_seconds(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for _ in range(10):
        assert_envelope(
            await client.get("/v1/tenants", headers=bearer("cg_wrong")), 401, "invalid_token"
        )
    response = await client.get("/v1/tenants", headers=bearer("cg_wrong"))
    body = assert_envelope(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "60"
    assert body["details"] == {"retry_after_s": 60}


async def test_nine_failures_do_not_block(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for _ in range(9):
        await client.get("/v1/tenants", headers=bearer("cg_wrong"))
    assert (await client.get("/v1/tenants", headers=admin)).status_code == 200


async def test_block_is_per_address(app: FastAPI, admin: dict[str, str]) -> None:
    def client_from(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 5000))
        return httpx.AsyncClient(transport=transport, base_url="http://callguard.test")

    async with client_from("10.0.0.1") as attacker, client_from("10.0.0.2") as bystander:
        for _ in range(10):
            await attacker.get("/v1/tenants", headers=bearer("cg_wrong"))
        wrong = bearer("cg_wrong")
        assert_envelope(await attacker.get("/v1/tenants", headers=wrong), 429, "rate_limited")
        assert_envelope(await bystander.get("/v1/tenants", headers=wrong), 401, "invalid_token")


@pytest.fixture
def stingy_app(settings: Settings, engine: AsyncEngine, connection: AsyncConnection) -> FastAPI:
    tight = settings.model_copy(update={"key_rate_per_s": 0.5, "key_burst": 3})
    return create_app(tight, Database.joined_to(engine, connection))


async def test_spent_key_budget_is_rate_limited(stingy_app: FastAPI, admin: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=stingy_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(3):
            assert (await client.get("/v1/tenants", headers=admin)).status_code == 200
        response = await client.get("/v1/tenants", headers=admin)
    body = assert_envelope(response, 429, "rate_limited")
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 2
    assert body["details"] == {"retry_after_s": retry}
