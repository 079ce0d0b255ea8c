"""Consents through the HTTP API: record, read, list, revoke; default expiry; bad input; scopes;
tenants; events; the revoke-only trigger; a number's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

PHONE = "+14155552671"  # San Francisco: US
OTHER = "+12125552671"
TORONTO = "+14165552671"  # Canada
CONSENT_FIELDS = {
    "id",
    "phone",
    "basis",
    "obtained_at",
    "expires_at",
    "channel",
    "source",
    "evidence",
    "created_at",
    "created_by",
    "upload_id",
    "revoked_at",
    "revoked_by",
    "active",
}


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"}
    response = await client.post("/v1/consents", json={**body, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _count(connection: AsyncConnection, table: str = "consents") -> int:
    return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def _events(connection: AsyncConnection, tenant_id: str, type_: str) -> list[Any]:
    rows = await connection.execute(
        text(
            "SELECT target, actor_key_id, details FROM change_events "
            "WHERE tenant_id = :tenant AND type = :type ORDER BY at"
        ),
        {"tenant": tenant_id, "type": type_},
    )
    return list(rows)


async def test_a_consent_is_recorded_and_read_back(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    key_id = (await client.get("/v1/me", headers=headers)).json()["key_id"]
    made = await _create(
        client,
        headers,
        basis="express_written_consent",
        obtained_at="2026-11-02T11:40:00-05:00",
        channel="sms",
        source="web form",
        evidence="https://crm.example.com/leads/8812",
    )
    assert made["id"].startswith("cns_")
    assert set(made) == CONSENT_FIELDS
    assert {k: v for k, v in made.items() if k not in ("id", "created_at")} == {
        "phone": PHONE,
        "basis": "express_written_consent",
        "obtained_at": "2026-11-02T16:40:00Z",
        "expires_at": None,
        "channel": "sms",
        "source": "web form",
        "evidence": "https://crm.example.com/leads/8812",
        "created_by": key_id,
        "upload_id": None,
        "revoked_at": None,
        "revoked_by": None,
        "active": True,
    }
    assert made["created_at"].endswith("Z")
    read = await client.get(f"/v1/consents/{made['id']}", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json() == made
    [event] = await _events(connection, tenant_id, "consent.created")
    assert (event.target, event.actor_key_id) == (PHONE, key_id)
    assert event.details == {
        "consent_id": made["id"],
        "phone": PHONE,
        "basis": "express_written_consent",
        "channel": "sms",
        "expires_at": None,
    }


async def test_defaults_channel_all_and_source_api(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers)
    assert (made["channel"], made["source"], made["evidence"]) == ("all", "api", "")


@pytest.mark.parametrize(
    ("phone", "basis", "obtained_at", "expires_at"),
    [
        # US: 18 months for a transaction, 3 for an inquiry, in calendar months, kept time of day
        (PHONE, "ebr_transaction", "2025-01-31T10:00:00Z", "2026-07-31T10:00:00Z"),
        (PHONE, "ebr_transaction", "2024-08-31T10:00:00Z", "2026-02-28T10:00:00Z"),
        (PHONE, "ebr_transaction", "2022-08-31T10:00:00Z", "2024-02-29T10:00:00Z"),
        (PHONE, "ebr_inquiry", "2025-11-30T23:59:59Z", "2026-02-28T23:59:59Z"),
        (PHONE, "ebr_inquiry", "2023-11-30T08:00:00Z", "2024-02-29T08:00:00Z"),
        (PHONE, "ebr_inquiry", "2026-05-31T12:00:00Z", "2026-08-31T12:00:00Z"),
        (PHONE, "express_written_consent", "2025-01-31T10:00:00Z", None),
        # Canada (416, Toronto): 18 months for a transaction, 6 for an inquiry
        (TORONTO, "ebr_transaction", "2025-01-31T10:00:00Z", "2026-07-31T10:00:00Z"),
        (TORONTO, "ebr_inquiry", "2025-08-31T12:00:00Z", "2026-02-28T12:00:00Z"),
        (TORONTO, "ebr_inquiry", "2023-08-31T12:00:00Z", "2024-02-29T12:00:00Z"),
        (TORONTO, "ebr_inquiry", "2026-03-31T12:00:00Z", "2026-09-30T12:00:00Z"),
        (TORONTO, "express_written_consent", "2025-01-31T10:00:00Z", None),
        # an offset is turned into UTC first: months are counted in UTC
        (PHONE, "ebr_inquiry", "2026-01-31T20:00:00-05:00", "2026-05-01T01:00:00Z"),
    ],
)
async def test_default_expiry_by_basis_and_country(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    phone: str,
    basis: str,
    obtained_at: str,
    expires_at: str | None,
) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers, phone=phone, basis=basis, obtained_at=obtained_at)
    assert made["expires_at"] == expires_at


async def test_a_given_expiry_is_kept(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _create(
        client,
        headers,
        basis="ebr_transaction",
        obtained_at="2026-01-01T00:00:00Z",
        expires_at="2026-01-01T00:00:01+00:00",
    )
    assert made["expires_at"] == "2026-01-01T00:00:01Z"
    assert made["active"] is False  # it lapsed already


def _future(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


BAD_BODIES: list[tuple[dict[str, Any], int, str, str]] = [
    ({"basis": "ebr_purchase"}, 400, "validation_failed", "basis"),
    ({"basis": None}, 400, "validation_failed", "basis"),
    ({"obtained_at": "2026-11-02T16:40:00"}, 400, "validation_failed", "obtained_at"),
    ({"obtained_at": "2026-11-02"}, 400, "validation_failed", "obtained_at"),
    ({"obtained_at": 1793637600}, 400, "validation_failed", "obtained_at"),
    ({"obtained_at": "1793637600"}, 400, "validation_failed", "obtained_at"),
    ({"obtained_at": _future(1)}, 400, "validation_failed", "obtained_at"),
    ({"expires_at": "2027-01-01T00:00:00"}, 400, "validation_failed", "expires_at"),
    ({"expires_at": "2026-11-02T16:40:00Z"}, 400, "validation_failed", "expires_at"),
    ({"expires_at": "2026-11-02T11:39:59-05:00"}, 400, "validation_failed", "expires_at"),
    ({"evidence": "x" * 1001}, 400, "validation_failed", "evidence"),
    ({"source": "s" * 201}, 400, "validation_failed", "source"),
    ({"source": ""}, 400, "validation_failed", "source"),
    ({"evidence": "nul\x00here"}, 400, "validation_failed", "evidence"),
    ({"channel": "fax"}, 400, "validation_failed", "channel"),
    ({"note": "unknown field"}, 400, "validation_failed", "note"),
    ({"phone": "4155552671"}, 400, "invalid_phone", "not_e164"),
    ({"phone": "+14155550123"}, 400, "invalid_phone", "fictional"),
    ({"phone": "+442079460958"}, 400, "invalid_phone", "not_nanp"),
    ({"phone": "+11115552671"}, 400, "invalid_phone", "invalid_area_code"),
]


@pytest.mark.parametrize(("fields", "status", "code", "what"), BAD_BODIES)
async def test_bad_input_is_the_envelope_and_nothing_is_stored(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    fields: dict[str, Any],
    status: int,
    code: str,
    what: str,
) -> None:
    _, headers = await tenant_with_key(client, admin)
    before = (await _count(connection), await _count(connection, "change_events"))
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"}
    response = await client.post("/v1/consents", json={**body, **fields}, headers=headers)
    envelope = assert_envelope(response, status, code)
    if code == "invalid_phone":
        assert envelope["details"]["reason"] == what
    else:
        assert what in [f["field"] for f in envelope["details"]["fields"]], envelope
    assert (await _count(connection), await _count(connection, "change_events")) == before


async def test_every_problem_is_named_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = {
        "phone": PHONE,
        "basis": "ebr_inquiry",
        "obtained_at": _future(2),
        "expires_at": _future(1),
    }
    envelope = assert_envelope(
        await client.post("/v1/consents", json=body, headers=headers), 400, "validation_failed"
    )
    assert [f["field"] for f in envelope["details"]["fields"]] == ["obtained_at", "expires_at"]


async def test_evidence_of_a_thousand_characters_is_kept(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers, evidence="é" * 1000, source="s" * 200)
    assert made["evidence"] == "é" * 1000


async def test_listing_newest_first_with_filters_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    inquiry = await _create(client, headers)
    lapsed = await _create(
        client,
        headers,
        phone=OTHER,
        basis="ebr_transaction",
        obtained_at="2020-01-01T00:00:00Z",  # expired in 2021
    )
    written = await _create(client, headers, phone=OTHER, basis="express_written_consent")
    revoked = await _create(client, headers, basis="express_written_consent")
    assert (await client.delete(f"/v1/consents/{revoked['id']}", headers=headers)).is_success

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/v1/consents{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["data"]]

    everything = [revoked["id"], written["id"], lapsed["id"], inquiry["id"]]
    assert await ids("") == everything
    assert await ids(f"?phone={OTHER.replace('+', '%2B')}") == [written["id"], lapsed["id"]]
    assert await ids("?basis=express_written_consent") == [revoked["id"], written["id"]]
    assert await ids("?active=true") == [written["id"], inquiry["id"]]
    assert await ids("?active=false") == [revoked["id"], lapsed["id"]]
    assert await ids("?active=true&basis=ebr_inquiry") == [inquiry["id"]]

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/consents{query}", headers=headers)).json()
        seen += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything

    for query in ("?basis=ebr", "?active=maybe", "?limit=0", "?cursor=junk"):
        response = await client.get(f"/v1/consents{query}", headers=headers)
        assert_envelope(response, 400, "validation_failed")
    bad_phone = await client.get("/v1/consents?phone=4155552671", headers=headers)
    assert_envelope(bad_phone, 400, "invalid_phone")


async def test_revoking_keeps_the_consent_and_a_second_revoke_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers, basis="ebr_transaction")
    first = await client.delete(f"/v1/consents/{made['id']}", headers=headers)
    assert first.status_code == 200, first.text
    revoked = first.json()
    assert revoked["revoked_at"] is not None
    assert revoked["revoked_at"].endswith("Z")
    assert revoked["revoked_by"] == made["created_by"]
    assert revoked["active"] is False
    assert {k: v for k, v in revoked.items() if not k.startswith(("revoked", "active"))} == {
        k: v for k, v in made.items() if not k.startswith(("revoked", "active"))
    }
    again = await client.delete(f"/v1/consents/{made['id']}", headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == revoked  # the first revocation stands
    assert (await client.get(f"/v1/consents/{made['id']}", headers=headers)).json() == revoked
    [event] = await _events(connection, tenant_id, "consent.revoked")
    assert event.target == PHONE
    assert event.details == {
        "consent_id": made["id"],
        "phone": PHONE,
        "basis": "ebr_transaction",
        "channel": "all",
        "expires_at": made["expires_at"],
    }
    missing = await client.delete("/v1/consents/cns_nothing", headers=headers)
    assert_envelope(missing, 404, "not_found")


async def test_scopes(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers)
    _, reader = await create_key(client, admin, tenant_id=tenant_id, scopes=["consents:read"])
    _, writer = await create_key(client, admin, tenant_id=tenant_id, scopes=["consents:write"])
    _, other = await create_key(client, admin, tenant_id=tenant_id, scopes=["optouts:write"])
    me = (await client.get("/v1/me", headers=reader)).json()
    assert me["scopes"] == ["consents:read"]

    assert (await client.get("/v1/consents", headers=reader)).status_code == 200
    assert (await client.get(f"/v1/consents/{made['id']}", headers=reader)).status_code == 200
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"}
    for denied in (
        await client.post("/v1/consents", json=body, headers=reader),
        await client.post("/v1/consents", json=body, headers=other),
        await client.delete(f"/v1/consents/{made['id']}", headers=reader),
        await client.get("/v1/consents", headers=writer),
        await client.get(f"/v1/consents/{made['id']}", headers=other),
    ):
        envelope = assert_envelope(denied, 403, "scope_required")
        assert envelope["details"]["required_scope"] in ("consents:read", "consents:write")
    assert (await client.post("/v1/consents", json=body, headers=writer)).status_code == 201
    # a key can grant the consent scopes it holds, and only those
    _, granted = await create_key(client, headers, scopes=["consents:read", "consents:write"])
    assert (await client.get("/v1/consents", headers=granted)).status_code == 200
    refused = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["consents:write"]}, headers=reader
    )
    assert_envelope(refused, 403, "scope_required")


async def test_another_tenants_consent_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    made = await _create(client, a)
    for response in (
        await client.get(f"/v1/consents/{made['id']}", headers=b),
        await client.delete(f"/v1/consents/{made['id']}", headers=b),
    ):
        assert_envelope(response, 404, "not_found")
    assert (await client.get("/v1/consents", headers=b)).json() == {
        "data": [],
        "next_cursor": None,
    }
    assert (await client.get(f"/v1/consents/{made['id']}", headers=a)).json()["revoked_at"] is None
    # a platform key names the tenant it acts for
    as_a = f"/v1/consents/{made['id']}?tenant_id={tenant_a}"
    assert (await client.get(as_a, headers=admin)).json() == made
    unnamed = await client.get("/v1/consents", headers=admin)
    assert_envelope(unnamed, 400, "validation_failed")
    assert_envelope(
        await client.get(f"/v1/consents/{made['id']}", headers=admin), 400, "validation_failed"
    )
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"}
    created = await client.post(f"/v1/consents?tenant_id={tenant_a}", json=body, headers=admin)
    assert created.status_code == 201, created.text
    listed = (await client.get("/v1/consents", headers=a)).json()["data"]
    assert [item["id"] for item in listed] == [created.json()["id"], made["id"]]


async def test_an_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"}
    keyed = {**headers, "Idempotency-Key": "consent-1"}
    before = await _count(connection)
    first = await client.post("/v1/consents", json=body, headers=keyed)
    again = await client.post("/v1/consents", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(connection) == before + 1
    reused = await client.post("/v1/consents", json={**body, "channel": "sms"}, headers=keyed)
    assert_envelope(reused, 409, "idempotency_key_reused")


async def test_the_table_refuses_any_change_but_one_revocation(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _create(client, headers)
    refused = [
        "UPDATE consents SET evidence = 'forged' WHERE id = :id",
        "UPDATE consents SET expires_at = NULL WHERE id = :id",
        "UPDATE consents SET revoked_at = now(), channel = 'sms' WHERE id = :id",
        "DELETE FROM consents WHERE id = :id",
    ]
    for statement in refused:
        savepoint = await connection.begin_nested()
        with pytest.raises(DBAPIError, match="only revoked once"):
            await connection.execute(text(statement), {"id": made["id"]})
        await savepoint.rollback()
    await connection.execute(
        text("UPDATE consents SET revoked_at = now(), revoked_by = 'key_x' WHERE id = :id"),
        {"id": made["id"]},
    )
    for statement in (
        "UPDATE consents SET revoked_at = now() WHERE id = :id",  # a second revocation
        "UPDATE consents SET revoked_at = NULL WHERE id = :id",  # un-revoking
    ):
        savepoint = await connection.begin_nested()
        with pytest.raises(DBAPIError, match="only revoked once"):
            await connection.execute(text(statement), {"id": made["id"]})
        await savepoint.rollback()


async def test_a_numbers_history_shows_its_consents(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    kept = await _create(client, headers, basis="express_written_consent", evidence="doc 7")
    gone = await _create(client, headers, obtained_at="2026-10-01T12:00:00Z", channel="voice")
    revoked = (await client.delete(f"/v1/consents/{gone['id']}", headers=headers)).json()
    await _create(client, headers, phone=OTHER)  # another number's: not in this history

    response = await client.get(f"/v1/numbers/{PHONE}/history", headers=headers)
    assert response.status_code == 200, response.text
    history = response.json()
    assert [c["id"] for c in history["now"]["consents"]] == [kept["id"]]
    assert history["now"]["consents"][0]["active"] is True
    items = [(i["type"], i["details"]["consent_id"], i["at"]) for i in history["data"]]
    assert items == [
        ("consent.revoked", gone["id"], revoked["revoked_at"]),
        ("consent.granted", kept["id"], "2026-11-02T16:40:00Z"),
        ("consent.granted", gone["id"], "2026-10-01T12:00:00Z"),
    ]
    revocation = history["data"][0]
    assert revocation["summary"] == "Consent to calls revoked (an inquiry)."
    assert revocation["details"]["actor_key_id"] == revoked["revoked_by"]
    assert history["data"][1]["details"]["evidence"] == "doc 7"
    assert history["data"][1]["summary"] == (
        "Consent to calls and texts given (express written consent)."
    )

    # paged one item at a time, the same timeline
    seen, cursor = [], None
    for _ in range(5):
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/numbers/{PHONE}/history{query}", headers=headers)).json()
        seen += [(i["type"], i["details"]["consent_id"], i["at"]) for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == items
