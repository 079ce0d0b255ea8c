"""H1, H2 and the key-related low items of the security review: who may rotate or revoke a
key, Idempotency-Key replays that handed out secrets, and secrets' headers."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.auth import repository
from app.auth.principal import display_prefix, generate_secret, hash_secret
from tests.envelope import assert_envelope
from tests.helpers import TENANT_SCOPES, bearer, create_key, create_tenant


async def test_a_keys_writer_cannot_rotate_or_revoke_a_stronger_key(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant = await create_tenant(client, admin)
    strong_id, strong = await create_key(client, admin, tenant_id=tenant)  # every tenant scope
    _, keys_only = await create_key(client, admin, tenant_id=tenant, scopes=["keys:write"])

    rotated = await client.post(
        f"/v1/api-keys/{strong_id}/rotate", json={"grace_seconds": 0}, headers=keys_only
    )
    body = assert_envelope(rotated, 403, "scope_required")
    assert body["details"]["required_scope"] in TENANT_SCOPES
    assert "key" not in body
    revoked = await client.delete(f"/v1/api-keys/{strong_id}", headers=keys_only)
    assert_envelope(revoked, 403, "scope_required")
    # the strong key is untouched: still its own, still working, never replaced
    assert (await client.get("/v1/api-keys", headers=strong)).status_code == 200
    keys = (await client.get("/v1/api-keys", headers=admin)).json()["data"]
    assert next(k for k in keys if k["id"] == strong_id)["revoked_at"] is None
    assert len([k for k in keys if k["tenant_id"] == tenant]) == 2  # no replacement made


async def test_a_key_may_rotate_and_revoke_keys_within_its_own_scopes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant = await create_tenant(client, admin)
    _, manager = await create_key(
        client, admin, tenant_id=tenant, scopes=["keys:write", "checks:write"]
    )
    dialer_id, _ = await create_key(client, manager, scopes=["checks:write"])
    rotated = await client.post(
        f"/v1/api-keys/{dialer_id}/rotate", json={"grace_seconds": 0}, headers=manager
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["scopes"] == ["checks:write"]
    assert rotated.headers["cache-control"] == "no-store"
    revoked = await client.delete(f"/v1/api-keys/{rotated.json()['id']}", headers=manager)
    assert revoked.status_code == 200, revoked.text


async def test_idempotency_key_is_refused_where_the_answer_carries_a_secret(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant = await create_tenant(client, admin)
    key_id, keys_writer = await create_key(client, admin, tenant_id=tenant)
    _, checker = await create_key(client, admin, tenant_id=tenant, scopes=["checks:write"])
    request = {"name": "minted", "scopes": ["checks:write"]}
    first = await client.post(
        "/v1/api-keys", json=request, headers={**keys_writer, "Idempotency-Key": "same"}
    )
    body = assert_envelope(first, 400, "validation_failed")
    assert body["details"]["fields"][0]["field"] == "Idempotency-Key"
    # the review's replay: another key of the tenant resending the same request
    replay = await client.post(
        "/v1/api-keys", json=request, headers={**checker, "Idempotency-Key": "same"}
    )
    assert replay.status_code in (400, 403)
    assert "cg_" not in replay.text
    rotate = await client.post(
        f"/v1/api-keys/{key_id}/rotate", json={}, headers={**admin, "Idempotency-Key": "r"}
    )
    assert_envelope(rotate, 400, "validation_failed")
    # without the header it works, the answer is not cached, and nothing secret is stored
    created = await client.post("/v1/api-keys", json=request, headers=keys_writer)
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    stored = await connection.scalar(
        text("SELECT count(*) FROM idempotency_records WHERE position('cg_' in body::text) > 0")
    )
    assert stored == 0


async def test_stored_answers_belong_to_the_key_that_sent_them(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant = await create_tenant(client, admin)
    _, writer_a = await create_key(client, admin, tenant_id=tenant, scopes=["dnc:write"])
    _, writer_b = await create_key(client, admin, tenant_id=tenant, scopes=["dnc:write"])
    _, checker = await create_key(client, admin, tenant_id=tenant, scopes=["checks:write"])
    request = {"name": "shared name?"}
    first = await client.post(
        "/v1/dnc/lists", json=request, headers={**writer_a, "Idempotency-Key": "k1"}
    )
    assert first.status_code == 201
    again = await client.post(
        "/v1/dnc/lists", json=request, headers={**writer_a, "Idempotency-Key": "k1"}
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    # another key of the same tenant does not get key A's stored answer
    other = await client.post(
        "/v1/dnc/lists", json=request, headers={**writer_b, "Idempotency-Key": "k1"}
    )
    assert other.headers.get("idempotent-replayed") is None
    assert_envelope(other, 409, "conflict")  # it ran: the name is taken
    # a key without the route's scope is refused before any replay
    refused = await client.post(
        "/v1/dnc/lists", json=request, headers={**checker, "Idempotency-Key": "k1"}
    )
    assert_envelope(refused, 403, "scope_required")


async def test_admin_is_refused_together_with_a_tenant(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant = await create_tenant(client, admin)
    made = await client.post(
        "/v1/api-keys",
        json={"name": "x", "scopes": ["admin"], "tenant_id": tenant},
        headers=admin,
    )
    body = assert_envelope(made, 400, "validation_failed")
    assert body["details"]["fields"][0]["field"] == "scopes"
    # a tenant's key given `admin` by an older version acts for its tenant only
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    secret = generate_secret()
    await repository.insert_key(
        session,
        id="key_oldtenantadmin",
        tenant_id=tenant,
        name="old",
        prefix=display_prefix(secret),
        secret_hash=hash_secret(secret),
        scopes=["admin"],
        expires_at=None,
    )
    await session.commit()
    await session.close()
    assert_envelope(await client.get("/v1/tenants", headers=bearer(secret)), 403, "scope_required")
    keys = await client.get("/v1/api-keys", headers=bearer(secret))
    assert_envelope(keys, 403, "scope_required")
