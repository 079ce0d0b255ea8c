"""GET /v1/me: the calling key, its tenant and its scopes, for any valid key."""

import httpx

from tests.envelope import assert_envelope
from tests.helpers import bearer, create_tenant


async def test_a_tenant_key_sees_itself_and_its_tenant(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin, "Acme Compliance")
    created = await client.post(
        "/v1/api-keys",
        json={
            "name": "auditor desk",
            "scopes": ["dnc:read", "audit:read"],
            "tenant_id": tenant_id,
            "expires_at": "2031-01-02T03:04:05+01:00",
        },
        headers=admin,
    )
    key = created.json()
    response = await client.get("/v1/me", headers=bearer(key["key"]))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "key_id": key["id"],
        "name": "auditor desk",
        "prefix": key["prefix"],
        "tenant_id": tenant_id,
        "tenant_name": "Acme Compliance",
        "scopes": ["audit:read", "dnc:read"],
        "expires_at": "2031-01-02T02:04:05Z",
    }


async def test_a_platform_key_has_no_tenant(
    client: httpx.AsyncClient, admin: dict[str, str], admin_key: str
) -> None:
    me = (await client.get("/v1/me", headers=admin)).json()
    assert me["key_id"].startswith("key_")
    assert admin_key.startswith(me["prefix"])
    assert (me["tenant_id"], me["tenant_name"], me["scopes"]) == (None, None, ["admin"])
    assert me["expires_at"] is None


async def test_any_scope_may_ask(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_id = await create_tenant(client, admin)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "dialer", "scopes": ["checks:write"], "tenant_id": tenant_id},
        headers=admin,
    )
    response = await client.get("/v1/me", headers=bearer(created.json()["key"]))
    assert response.status_code == 200
    assert response.json()["scopes"] == ["checks:write"]


async def test_without_a_valid_key_it_is_invalid_token(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/v1/me"), 401, "invalid_token")
    assert_envelope(
        await client.get("/v1/me", headers=bearer("cg_" + "x" * 43)), 401, "invalid_token"
    )


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_id = await create_tenant(client, admin)
    created = (
        await client.post(
            "/v1/api-keys",
            json={"name": "gone", "scopes": ["dnc:read"], "tenant_id": tenant_id},
            headers=admin,
        )
    ).json()
    await client.delete(f"/v1/api-keys/{created['id']}", headers=admin)
    assert_envelope(await client.get("/v1/me", headers=bearer(created["key"])), 401, "key_revoked")
