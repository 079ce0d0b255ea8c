"""Small HTTP helpers the feature tests share."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

TENANT_SCOPES = [
    "checks:write",
    "dnc:read",
    "dnc:write",
    "optouts:read",
    "optouts:write",
    "consents:read",
    "consents:write",
    "audit:read",
    "keys:write",
    "policy:write",
    "webhooks:write",
]


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of this app in the test's process, errors answered as a server would; the
    app's check writer (started by its first check, with no lifespan here) stopped after."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://callguard.test") as client:
        yield client
    await app.state.checks.stop()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_tenant(client: httpx.AsyncClient, admin: dict[str, str], name: str = "") -> str:
    response = await client.post(
        "/v1/tenants", json={"name": name or f"tenant-{secrets.token_hex(4)}"}, headers=admin
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_key(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    tenant_id: str | None = None,
    scopes: list[str] | None = None,
    **extra: object,
) -> tuple[str, dict[str, str]]:
    """A new key: its id and the headers to call with it."""
    body: dict[str, object] = {"name": "test", "scopes": scopes or TENANT_SCOPES, **extra}
    if tenant_id is not None:
        body["tenant_id"] = tenant_id
    response = await client.post("/v1/api-keys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    return str(created["id"]), bearer(created["key"])


async def tenant_with_key(
    client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str] | None = None
) -> tuple[str, dict[str, str]]:
    """A new tenant and the headers of a key of it."""
    tenant_id = await create_tenant(client, admin)
    _, headers = await create_key(client, admin, tenant_id=tenant_id, scopes=scopes)
    return tenant_id, headers
