"""Webhooks through the HTTP API (no delivery worker here: the test's transaction is rolled
back): create with the secret once, read, list, delete, test, deliveries; scopes and tenants;
and the outbox: deliveries are made in the change's own transaction, for the right hooks only,
one per upload."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.events.repository import record_event
from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

URL = "https://hooks.example.com/callguard"
PHONE = "+14155552671"
HOOK_FIELDS = {
    "id",
    "tenant_id",
    "url",
    "events",
    "description",
    "created_at",
    "created_by",
    "failing_since",
    "last_success_at",
    "disabled_at",
}


async def _hook(
    client: httpx.AsyncClient, headers: dict[str, str], events: list[str], **extra: Any
) -> dict[str, Any]:
    body = {"url": URL, "events": events, **extra}
    response = await client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _deliveries(connection: AsyncConnection, hook_id: str) -> list[tuple[str, str, str]]:
    rows = await connection.execute(
        text(
            "SELECT d.change_type, d.status, e.target FROM webhook_deliveries d "
            "JOIN change_events e ON e.id = d.event_id WHERE d.webhook_id = :id ORDER BY e.at"
        ),
        {"id": hook_id},
    )
    return [(str(row[0]), str(row[1]), str(row[2])) for row in rows]


async def test_the_secret_is_shown_once_and_never_again(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant, headers = await tenant_with_key(client, admin)
    response = await client.post(
        "/v1/webhooks",
        json={"url": URL, "events": ["optout.recorded", "upload.finished"], "description": "d"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert set(created) == HOOK_FIELDS | {"secret"}
    assert created["id"].startswith("whk_")
    assert created["tenant_id"] == tenant
    assert (created["url"], created["events"], created["description"]) == (
        URL,
        ["optout.recorded", "upload.finished"],
        "d",
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) == 32
    # stored as the key's bytes, for signing; no read ever shows it again
    stored = await connection.scalar(
        text("SELECT secret FROM webhooks WHERE id = :id"), {"id": created["id"]}
    )
    assert bytes(stored) == key
    one = await client.get(f"/v1/webhooks/{created['id']}", headers=headers)
    listed = await client.get("/v1/webhooks", headers=headers)
    assert set(one.json()) == HOOK_FIELDS
    assert listed.json()["data"] == [one.json()]
    for answer in (
        one,
        listed,
        await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=headers),
    ):
        assert secret not in answer.text
        assert secret.removeprefix("whsec_") not in answer.text
    events = await client.get("/v1/audit/events?type=webhook.created", headers=headers)
    assert events.status_code == 200, events.text
    assert secret.removeprefix("whsec_") not in events.text
    # an answer carrying a secret is never stored for a replay
    replay = await client.post(
        "/v1/webhooks",
        json={"url": URL, "events": ["optout.recorded"]},
        headers={**headers, "Idempotency-Key": "hook-1"},
    )
    assert_envelope(replay, 400, "validation_failed")


async def test_bad_input_is_the_envelope(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    for body, field in (
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["optout.created"]}, "events[0]"),
        ({"url": URL, "events": ["optout.recorded", "optout.recorded"]}, "events"),
        ({"url": URL}, "events"),
        ({"events": ["optout.recorded"]}, "url"),
        ({"url": URL, "events": ["key.revoked"], "description": "x" * 501}, "description"),
        ({"url": URL, "events": ["key.revoked"], "secret": "whsec_mine"}, "secret"),
    ):
        response = await client.post("/v1/webhooks", json=body, headers=headers)
        problem = assert_envelope(response, 400, "validation_failed")
        assert field in [f["field"] for f in problem["details"]["fields"]], (body, problem)


async def test_scope_tenants_and_deletion(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_a, headers_a = await tenant_with_key(client, admin)
    _, headers_b = await tenant_with_key(client, admin)
    _, reader = await create_key(client, admin, tenant_id=tenant_a, scopes=["optouts:read"])
    hook = await _hook(client, headers_a, ["optout.recorded"])
    for method, path in (
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks"),
        ("GET", f"/v1/webhooks/{hook['id']}"),
        ("GET", f"/v1/webhooks/{hook['id']}/deliveries"),
        ("POST", f"/v1/webhooks/{hook['id']}/test"),
        ("DELETE", f"/v1/webhooks/{hook['id']}"),
    ):
        refused = await client.request(method, path, headers=reader, json={})
        body = assert_envelope(refused, 403, "scope_required")
        assert body["details"]["required_scope"] == "webhooks:write"
        other = await client.request(method, path, headers=headers_b, json={})
        if "{" not in path and path.endswith("webhooks") and method == "GET":
            assert other.json()["data"] == []
        elif method != "POST" or path != "/v1/webhooks":
            assert_envelope(other, 404, "not_found")
    # the platform sees every hook, and may make one for a tenant
    every = await client.get("/v1/webhooks", headers=admin)
    assert hook["id"] in {h["id"] for h in every.json()["data"]}
    for_a = await _hook(client, admin, ["key.revoked"], url=URL + "/a")
    assert for_a["tenant_id"] is None  # no ?tenant_id=: the platform's own events
    response = await client.post(
        f"/v1/webhooks?tenant_id={tenant_a}",
        json={"url": URL, "events": ["key.revoked"]},
        headers=admin,
    )
    assert response.json()["tenant_id"] == tenant_a
    # deleted: gone from every read, its secret wiped, its pending deliveries ended
    await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers_a)
    deleted = await client.delete(f"/v1/webhooks/{hook['id']}", headers=headers_a)
    assert deleted.status_code == 204
    assert deleted.content == b""
    for path in (f"/v1/webhooks/{hook['id']}", f"/v1/webhooks/{hook['id']}/deliveries"):
        assert_envelope(await client.get(path, headers=headers_a), 404, "not_found")
    again = await client.delete(f"/v1/webhooks/{hook['id']}", headers=headers_a)
    assert_envelope(again, 404, "not_found")
    assert hook["id"] not in (await client.get("/v1/webhooks", headers=headers_a)).text
    assert (
        await connection.scalar(
            text("SELECT octet_length(secret) FROM webhooks WHERE id = :id"), {"id": hook["id"]}
        )
        == 0
    )
    assert await _deliveries(connection, hook["id"]) == [("optout.opted_out", "failed", PHONE)]
    error = await connection.scalar(
        text("SELECT last_error FROM webhook_deliveries WHERE webhook_id = :id"),
        {"id": hook["id"]},
    )
    assert error == "webhook deleted"


async def test_fan_out_by_tenant_and_type_in_the_changes_transaction(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
) -> None:
    _, headers_a = await tenant_with_key(client, admin)
    _, headers_b = await tenant_with_key(client, admin)
    outs = await _hook(client, headers_a, ["optout.recorded", "upload.finished"])
    keys = await _hook(client, headers_a, ["key.revoked"])
    of_b = await _hook(client, headers_b, ["optout.recorded", "upload.finished"])
    platform = await _hook(client, admin, ["dnc.number_added", "key.revoked"])

    assert (await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers_a)).is_success
    key_id, _ = await create_key(client, headers_a, scopes=["dnc:read"])
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=headers_a)).is_success
    made = await client.post(
        "/v1/dnc/lists", json={"name": "global hooks", "scope": "global"}, headers=admin
    )
    put = await client.put(f"/v1/dnc/lists/{made.json()['id']}/numbers/{PHONE}", headers=admin)
    assert put.status_code == 201, put.text

    assert await _deliveries(connection, outs["id"]) == [("optout.opted_out", "pending", PHONE)]
    assert await _deliveries(connection, keys["id"]) == [("key.revoked", "pending", key_id)]
    assert await _deliveries(connection, of_b["id"]) == []  # another tenant's: never
    assert await _deliveries(connection, platform["id"]) == [("dnc_number.added", "pending", PHONE)]
    listed = await client.get(f"/v1/webhooks/{outs['id']}/deliveries", headers=headers_a)
    assert [(d["event_type"], d["status"], d["attempts"]) for d in listed.json()["data"]] == [
        ("optout.recorded", "pending", 0)
    ]
    pending = await client.get(
        f"/v1/webhooks/{outs['id']}/deliveries?status=succeeded", headers=headers_a
    )
    assert pending.json()["data"] == []


async def test_a_change_rolled_back_leaves_no_delivery(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant, headers = await tenant_with_key(client, admin)
    hook = await _hook(client, headers, ["optout.recorded"])
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    try:
        async with session.begin_nested():
            await record_event(
                session,
                type="optout.opted_out",
                target=PHONE,
                tenant_id=tenant,
                actor_key_id=None,
                details={},
            )
            inside = await _deliveries(connection, hook["id"])
            assert inside == [("optout.opted_out", "pending", PHONE)]  # with the event
            await session.rollback()
    finally:
        await session.close()
    assert await _deliveries(connection, hook["id"]) == []


async def test_a_test_delivery_is_for_that_hook_alone(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    hook = await _hook(client, headers, ["optout.recorded"])
    other = await _hook(client, headers, ["optout.recorded"])
    sent = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=headers)
    assert sent.status_code == 202, sent.text
    delivery = sent.json()
    assert delivery["id"].startswith("dlv_")
    assert len(delivery["id"]) == 20
    assert (delivery["event_type"], delivery["status"], delivery["attempts"]) == (
        "webhook.test",
        "pending",
        0,
    )
    assert delivery["event_id"].startswith("evt_")
    assert [
        d["id"]
        for d in (
            await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        ).json()["data"]
    ] == [delivery["id"]]
    assert await _deliveries(connection, other["id"]) == []
    await connection.execute(
        text("UPDATE webhooks SET disabled_at = now() WHERE id = :id"), {"id": hook["id"]}
    )
    refused = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=headers)
    assert_envelope(refused, 409, "conflict")


async def test_pages(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = [(await _hook(client, headers, ["key.revoked"]))["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = (await client.get(f"/v1/webhooks{query}", headers=headers)).json()
        seen += [h["id"] for h in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
