"""Every way a key can fail: invalid_token, key_revoked, key_expired, scope_required."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import bearer, create_key, create_tenant, tenant_with_key


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-callguard-key"},
        {"Authorization": "Bearer cg_" + "0" * 43},
        {"Authorization": "Bearer cg_" + "x" * 500},
    ],
)
async def test_missing_or_unknown_key_is_invalid_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_envelope(await client.get("/v1/api-keys", headers=headers), 401, "invalid_token")


async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient, admin_key: str) -> None:
    response = await client.get("/v1/tenants", headers={"Authorization": f"bearer {admin_key}"})
    assert response.status_code == 200


async def test_revoked_key_is_key_revoked_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    key_id, headers = await create_key(client, admin, tenant_id=tenant_id)
    assert (await client.get("/v1/api-keys", headers=headers)).status_code == 200  # now cached

    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None

    assert_envelope(await client.get("/v1/api-keys", headers=headers), 401, "key_revoked")


async def test_expired_key_is_key_expired(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id = await create_tenant(client, admin)
    key_id, headers = await create_key(
        client, admin, tenant_id=tenant_id, expires_at="2099-01-01T00:00:00Z"
    )
    await connection.execute(
        text("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id"),
        {"id": key_id},
    )
    assert_envelope(await client.get("/v1/api-keys", headers=headers), 401, "key_expired")


async def test_missing_scope_is_scope_required(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin, scopes=["dnc:read"])
    body = assert_envelope(await client.get("/v1/api-keys", headers=headers), 403, "scope_required")
    assert body["details"] == {"required_scope": "keys:write"}


async def test_admin_only_route_needs_admin(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = assert_envelope(
        await client.post("/v1/tenants", json={"name": "x"}, headers=headers), 403, "scope_required"
    )
    assert body["details"] == {"required_scope": "admin"}


async def test_admin_implies_every_scope(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.get("/v1/api-keys", headers=admin)).status_code == 200  # keys:write


async def test_unauthenticated_request_never_reaches_validation(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/tenants", content=b"{not json", headers=bearer("cg_nope"))
    assert_envelope(response, 401, "invalid_token")
