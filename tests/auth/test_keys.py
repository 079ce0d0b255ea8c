"""Tenants and API keys through the HTTP API."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import bearer, create_key, create_tenant, tenant_with_key


async def test_create_and_list_tenants(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post("/v1/tenants", json={"name": "Acme Dialers"}, headers=admin)
    assert response.status_code == 201
    tenant = response.json()
    assert tenant["id"].startswith("ten_")
    assert tenant["name"] == "Acme Dialers"
    assert tenant["created_at"].endswith("Z")
    listed = (await client.get("/v1/tenants", headers=admin)).json()
    assert tenant in listed["data"]


async def test_duplicate_tenant_name_is_conflict(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create_tenant(client, admin, "same name")
    assert_envelope(
        await client.post("/v1/tenants", json={"name": "same name"}, headers=admin),
        409,
        "conflict",
    )


async def test_unknown_body_field_is_validation_failed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/v1/tenants", json={"name": "x", "nmae": "y"}, headers=admin)
    body = assert_envelope(response, 400, "validation_failed")
    assert body["details"]["fields"] == [
        {"field": "nmae", "problem": "Extra inputs are not permitted"}
    ]


async def test_created_key_is_shown_once_and_works(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    response = await client.post(
        "/v1/api-keys",
        json={"name": "dialer", "scopes": ["checks:write", "keys:write"], "tenant_id": tenant_id},
        headers=admin,
    )
    assert response.status_code == 201
    created = response.json()
    secret = created["key"]
    assert secret.startswith("cg_")
    assert len(secret) >= 3 + 43
    assert created["prefix"] == secret[:11]
    assert created["id"].startswith("key_")
    assert created["scopes"] == ["checks:write", "keys:write"]
    assert created["tenant_id"] == tenant_id

    listed = await client.get("/v1/api-keys", headers=bearer(secret))
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["data"]] == [created["id"]]
    assert secret not in listed.text


async def test_key_can_grant_only_scopes_it_holds(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["keys:write", "dnc:read"])
    ok = await client.post("/v1/api-keys", json={"scopes": ["dnc:read"]}, headers=headers)
    assert ok.status_code == 201
    assert ok.json()["tenant_id"] == tenant_id  # a tenant key makes keys of its own tenant
    for scope in ("dnc:write", "admin"):
        body = assert_envelope(
            await client.post("/v1/api-keys", json={"scopes": [scope]}, headers=headers),
            403,
            "scope_required",
        )
        assert body["details"] == {"required_scope": scope}


async def test_tenant_key_cannot_make_keys_for_another_tenant(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    other = await create_tenant(client, admin)
    _, headers = await tenant_with_key(client, admin)
    response = await client.post(
        "/v1/api-keys", json={"scopes": ["dnc:read"], "tenant_id": other}, headers=headers
    )
    assert_envelope(response, 404, "not_found")


async def test_key_for_unknown_tenant_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/api-keys", json={"scopes": ["dnc:read"], "tenant_id": "ten_nope"}, headers=admin
    )
    assert_envelope(response, 404, "not_found")


async def test_non_admin_key_needs_a_tenant(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = assert_envelope(
        await client.post("/v1/api-keys", json={"scopes": ["dnc:read"]}, headers=admin),
        400,
        "validation_failed",
    )
    assert body["details"]["fields"][0]["field"] == "tenant_id"


async def test_bad_key_requests_list_every_problem(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"scopes": ["dnc:read", "sudo"], "expires_at": "2030-01-01T00:00:00", "name": 5},
        headers=admin,
    )
    body = assert_envelope(response, 400, "validation_failed")
    assert {f["field"] for f in body["details"]["fields"]} == {"scopes[1]", "expires_at", "name"}


async def test_past_expiry_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_id = await create_tenant(client, admin)
    response = await client.post(
        "/v1/api-keys",
        json={"scopes": ["dnc:read"], "tenant_id": tenant_id, "expires_at": "2001-01-01T00:00:00Z"},
        headers=admin,
    )
    assert_envelope(response, 400, "validation_failed")


async def test_revoking_twice_keeps_the_first_time(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    key_id, _ = await create_key(client, admin, tenant_id=tenant_id)
    first = (await client.delete(f"/v1/api-keys/{key_id}", headers=admin)).json()
    second = (await client.delete(f"/v1/api-keys/{key_id}", headers=admin)).json()
    assert first["revoked_at"] == second["revoked_at"]


async def test_revoke_unknown_key_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_envelope(await client.delete("/v1/api-keys/key_nope", headers=admin), 404, "not_found")


async def test_rotation_gives_a_new_key_and_a_grace_period(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    old_id, old_headers = await create_key(
        client, admin, tenant_id=tenant_id, scopes=["keys:write"]
    )
    response = await client.post(
        f"/v1/api-keys/{old_id}/rotate", json={"grace_seconds": 3600}, headers=admin
    )
    assert response.status_code == 201
    new = response.json()
    assert new["id"] != old_id
    assert new["scopes"] == ["keys:write"]
    assert new["tenant_id"] == tenant_id
    new_headers = bearer(new["key"])
    assert (await client.get("/v1/api-keys", headers=new_headers)).status_code == 200
    listed = (await client.get("/v1/api-keys", headers=old_headers)).json()["data"]
    old = next(k for k in listed if k["id"] == old_id)
    assert old["replaced_by"] == new["id"]
    assert old["rotated_at"] is not None
    assert old["expires_at"] is not None
    assert_envelope(
        await client.post(f"/v1/api-keys/{old_id}/rotate", headers=admin), 409, "conflict"
    )


async def test_rotated_key_expires_when_grace_ends(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    old_id, old_headers = await create_key(client, admin, tenant_id=tenant_id)
    assert (await client.get("/v1/api-keys", headers=old_headers)).status_code == 200  # cached
    response = await client.post(
        f"/v1/api-keys/{old_id}/rotate", json={"grace_seconds": 0}, headers=admin
    )
    assert response.status_code == 201
    assert_envelope(await client.get("/v1/api-keys", headers=old_headers), 401, "key_expired")


async def test_keys_list_pages_with_cursor(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id = await create_tenant(client, admin)
    ids = [(await create_key(client, admin, tenant_id=tenant_id))[0] for _ in range(3)]
    last_id, headers = await create_key(client, admin, tenant_id=tenant_id)
    seen: list[str] = []
    url = "/v1/api-keys?limit=2"
    while True:
        page = (await client.get(url, headers=headers)).json()
        assert len(page["data"]) <= 2
        seen += [k["id"] for k in page["data"]]
        if page["next_cursor"] is None:
            break
        url = f"/v1/api-keys?limit=2&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted([*ids, last_id])  # every key once, none twice


async def test_bad_cursor_and_limit_are_validation_failed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_envelope(
        await client.get("/v1/api-keys?cursor=%%%", headers=admin), 400, "validation_failed"
    )
    assert_envelope(
        await client.get("/v1/api-keys?limit=0", headers=admin), 400, "validation_failed"
    )
    assert_envelope(
        await client.get("/v1/api-keys?limit=1001", headers=admin), 400, "validation_failed"
    )


async def test_key_changes_are_recorded_as_events(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id = await create_tenant(client, admin)
    key_id, _ = await create_key(client, admin, tenant_id=tenant_id)
    await client.post(f"/v1/api-keys/{key_id}/rotate", headers=admin)
    await client.delete(f"/v1/api-keys/{key_id}", headers=admin)
    rows = (
        (
            await connection.execute(
                text("SELECT type FROM change_events WHERE target = :id ORDER BY at, id"),
                {"id": key_id},
            )
        )
        .scalars()
        .all()
    )
    assert sorted(rows) == ["key.created", "key.revoked", "key.rotated"]
