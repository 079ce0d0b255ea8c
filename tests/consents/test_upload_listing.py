"""GET /v1/consents/uploads: a tenant's consent uploads, newest first, filtered by status,
without their row errors (the console's Overview lists the running ones)."""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key


async def _made(
    connection: AsyncConnection,
    tenant_id: str,
    status: str,
    minutes_ago: int,
    kind: str = "consent",
) -> str:
    """A consent upload row as if posted and run so far (uploads posted in this rolled-back
    transaction never run: the runner's connection cannot see them)."""
    upload_id = f"upl_t{secrets.token_hex(8)}"
    await connection.execute(
        text(
            "INSERT INTO uploads (id, kind, tenant_id, channel, source, mode, status, created_at, "
            "heartbeat_at, finished_at, errors) VALUES (:id, :kind, :tenant, :channel, :source, "
            "'append', :status, clock_timestamp() - make_interval(mins => :ago), "
            "clock_timestamp(), CASE WHEN :done THEN clock_timestamp() END, "
            '\'[{"line": 2, "reason": "unknown_basis"}]\'::jsonb)'
        ),
        {
            "id": upload_id,
            "kind": kind,
            "tenant": tenant_id,
            "channel": "all" if kind == "optout" else None,
            "source": "api" if kind == "optout" else None,
            "status": status,
            "ago": minutes_ago,
            "done": status in ("succeeded", "failed"),
        },
    )
    return upload_id


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


async def test_each_tenant_lists_its_own_consent_uploads_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    a_id, a = await tenant_with_key(client, admin)
    b_id, b = await tenant_with_key(client, admin)
    old = await _made(connection, a_id, "succeeded", 30)
    running = await _made(connection, a_id, "running", 2)
    queued = await _made(connection, a_id, "queued", 1)
    await _made(connection, a_id, "succeeded", 3, kind="optout")  # another kind
    b_upload = await _made(connection, b_id, "failed", 4)

    assert _ids(await client.get("/v1/consents/uploads", headers=a)) == [queued, running, old]
    page = await client.get("/v1/consents/uploads", headers=a, params={"limit": 2})
    assert _ids(page) == [queued, running]
    rest = await client.get(
        "/v1/consents/uploads", headers=a, params={"cursor": page.json()["next_cursor"]}
    )
    assert _ids(rest) == [old]
    unfinished = await client.get("/v1/consents/uploads?status=queued&status=running", headers=a)
    assert _ids(unfinished) == [queued, running]
    summary = unfinished.json()["data"][1]
    assert (summary["kind"], summary["status"], summary["mode"]) == ("consent", "running", "append")
    assert "errors" not in summary

    assert _ids(await client.get("/v1/consents/uploads", headers=b)) == [b_upload]
    named = await client.get(f"/v1/consents/uploads?tenant_id={b_id}", headers=admin)
    assert _ids(named) == [b_upload]
    every = set(_ids(await client.get("/v1/consents/uploads", headers=admin)))
    assert {old, running, queued, b_upload} <= every
    assert_envelope(
        await client.get(f"/v1/consents/uploads?tenant_id={b_id}", headers=a), 404, "not_found"
    )
    assert_envelope(
        await client.get("/v1/consents/uploads?status=done", headers=a), 400, "validation_failed"
    )


async def test_listing_consent_uploads_needs_the_read_scope(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, checks_only = await tenant_with_key(client, admin, scopes=["checks:write"])
    assert_envelope(
        await client.get("/v1/consents/uploads", headers=checks_only), 403, "scope_required"
    )
