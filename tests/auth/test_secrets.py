"""A key's secret appears in the response that creates it and nowhere else: not in other
responses, not in logs. Keys are stored only as hashes."""

import io
import json
import logging

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.logging import JsonFormatter
from tests.helpers import create_tenant


async def test_secret_only_in_the_creating_response(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("callguard")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        tenant_id = await create_tenant(client, admin)
        created = await client.post(
            "/v1/api-keys", json={"scopes": ["keys:write"], "tenant_id": tenant_id}, headers=admin
        )
        secret = created.json()["key"]
        key_id = created.json()["id"]
        own = {"Authorization": f"Bearer {secret}"}
        later = [
            await client.get("/v1/api-keys", headers=own),
            await client.get("/v1/api-keys", headers=admin),
            await client.post(f"/v1/api-keys/{key_id}/rotate", headers=own),
            await client.delete(f"/v1/api-keys/{key_id}", headers=admin),
            await client.get("/v1/api-keys", headers=own),  # a revoked-key error
        ]
    finally:
        root.removeHandler(handler)
    for response in later:
        assert secret not in response.text
        assert secret not in str(response.headers)
    logs = stream.getvalue()
    lines = [json.loads(line) for line in logs.splitlines()]
    assert sum(line["msg"] == "request" for line in lines) >= 6
    assert secret not in logs
    assert secret[3:20] not in logs
    stored = (
        await connection.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key_id})
    ).one()
    assert secret not in repr(stored)
