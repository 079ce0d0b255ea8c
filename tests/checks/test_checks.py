"""The check through the HTTP API: every violation, precedence, details, batches, audit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer, tenant_with_key

PHONE = "+14155552671"  # San Francisco: America/Los_Angeles, US-CA 08:00-21:00
MONDAY_1030_PT = "2026-11-23T18:30:00Z"
MONDAY_0400_PT = "2026-11-23T12:00:00Z"


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post("/v1/checks", json={"to": PHONE, **body}, headers=headers)


async def _list_with(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, scope: str = "tenant"
) -> str:
    created = await client.post(
        "/v1/dnc/lists", json={"name": name, "scope": scope}, headers=headers
    )
    assert created.status_code == 201, created.text
    list_id = str(created.json()["id"])
    put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", headers=headers)
    assert put.status_code == 201, put.text
    return list_id


async def test_a_clean_number_inside_hours_is_ok(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    response = await _check(client, headers, at=MONDAY_1030_PT, recipient_state="CA")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("check_id").startswith("chk_")
    assert body == {
        "ok": True,
        "to": PHONE,
        "at": "2026-11-23T18:30:00Z",
        "zones": [{"time_zone": "America/Los_Angeles", "local_time": "2026-11-23T10:30:00-08:00"}],
        "jurisdictions": ["US", "US-CA"],
        "allowed_until": "2026-11-24T05:00:00Z",
    }


async def test_every_violation_is_collected_and_the_first_answers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _list_with(client, headers, "own")
    blocked = await _check(client, headers, at=MONDAY_0400_PT)
    details = assert_envelope(blocked, 422, "dnc_blocked")["details"]
    assert details["violations"] == ["dnc_blocked", "call_hours_violation"]

    await client.post("/v1/opt-outs", json={"phone": PHONE, "channel": "voice"}, headers=headers)
    response = await _check(client, headers, at=MONDAY_0400_PT)
    body = assert_envelope(response, 422, "opted_out")
    details = body["details"]
    assert details["check_id"].startswith("chk_")
    assert details["violations"] == ["opted_out", "dnc_blocked", "call_hours_violation"]
    assert (details["channel"], details["source"]) == ("voice", "api")
    assert details["opted_out_at"].endswith("Z")

    # sms is not opted out: the DNC list answers for it
    sms = await _check(client, headers, at=MONDAY_0400_PT, channel="sms")
    assert assert_envelope(sms, 422, "dnc_blocked")["details"]["violations"] == [
        "dnc_blocked",
        "call_hours_violation",
    ]


async def test_dnc_details_name_every_matching_list_tenant_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    global_id = await _list_with(client, admin, "registry-check-test", scope="global")
    own_id = await _list_with(client, headers, "own")
    details = assert_envelope(await _check(client, headers, at=MONDAY_1030_PT), 422, "dnc_blocked")[
        "details"
    ]
    assert details["violations"] == ["dnc_blocked"]
    assert details["suppression_source"] == "tenant"
    assert (details["list_id"], details["list_name"]) == (own_id, "own")
    assert [(m["list_id"], m["scope"]) for m in details["matches"]] == [
        (own_id, "tenant"),
        (global_id, "global"),
    ]
    assert all(m["listed_at"].endswith("Z") for m in details["matches"])

    # another tenant sees only the global list
    _, other = await tenant_with_key(client, admin)
    theirs = assert_envelope(await _check(client, other, at=MONDAY_1030_PT), 422, "dnc_blocked")
    assert theirs["details"]["suppression_source"] == "global"
    assert [m["list_id"] for m in theirs["details"]["matches"]] == [global_id]


async def test_matches_of_one_scope_come_in_listing_order_in_checks_and_batches(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """Lists of the same scope are named by when the number was listed on them, not by when
    the lists were made: the older list here lists the number last."""
    _, headers = await tenant_with_key(client, admin)
    older = await _list_with(client, headers, "older")
    newer = await _list_with(client, headers, "newer")
    # the test runs in one transaction, where now() stands still: list on `newer` a day earlier
    await connection.execute(
        text(
            "UPDATE dnc_entries SET listed_at = listed_at - interval '1 day' "
            "WHERE list_key = (SELECT entry_key FROM dnc_lists WHERE id = :id)"
        ),
        {"id": newer},
    )
    single = assert_envelope(await _check(client, headers, at=MONDAY_1030_PT), 422, "dnc_blocked")
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": PHONE}, {"to": "+12024561111"}], "at": MONDAY_1030_PT},
        headers=headers,
    )
    assert batch.status_code == 200, batch.text
    listed, clean = batch.json()["results"]
    assert clean["ok"] is True
    for details in (single["details"], listed["details"]):
        assert details["list_id"] == newer
        assert [m["list_id"] for m in details["matches"]] == [newer, older]
        first, second = (m["listed_at"] for m in details["matches"])
        assert first < second


async def test_an_expired_entry_and_a_deleted_list_do_not_block(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await client.post("/v1/dnc/lists", json={"name": "temp"}, headers=headers)
    list_id = created.json()["id"]
    past = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await client.put(
        f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", json={"expires_at": past}, headers=headers
    )
    other = await _list_with(client, headers, "deleted")
    await client.delete(f"/v1/dnc/lists/{other}", headers=headers)
    # the entry expires a second from now: until then it blocks
    assert (await _check(client, headers, at=MONDAY_1030_PT)).status_code == 422

    await asyncio.sleep(1.2)
    assert (await _check(client, headers, at=MONDAY_1030_PT)).status_code == 200


async def test_outside_hours_says_when_the_call_becomes_possible(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = assert_envelope(
        await _check(client, headers, at=MONDAY_0400_PT, recipient_state="FL"),
        422,
        "call_hours_violation",
    )
    details = body["details"]
    assert details["violations"] == ["call_hours_violation"]
    assert details["jurisdictions"] == ["US", "US-CA", "US-FL"]
    assert {z["time_zone"] for z in details["zones"]} >= {"America/Los_Angeles", "America/New_York"}
    assert details["rule"]
    assert details["next_allowed_at"] == "2026-11-23T16:00:00Z"  # 08:00 PT


async def test_invalid_input(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    invalid = await _check(client, headers, to="+1415555")
    details = assert_envelope(invalid, 400, "invalid_phone")["details"]
    assert (details["reason"], details["value"]) == ("wrong_length", "+1415555")
    assert details["check_id"].startswith("chk_")
    for body in (
        {"to": PHONE, "recipient_state": "ZZ"},
        {"to": PHONE, "channel": "fax"},
        {"to": PHONE, "at": "0001-01-01T00:00:00Z"},
        {"to": PHONE, "at": "9999-12-31T23:59:59Z"},
        {"to": PHONE, "at": "2026-11-23T18:30:00"},
        {"to": PHONE, "extra": True},
        {},
    ):
        response = await client.post("/v1/checks", json=body, headers=headers)
        assert_envelope(response, 400, "validation_failed")


async def test_batch_answers_each_item_in_order_with_a_summary(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _list_with(client, headers, "own")
    items = [
        {"to": PHONE},
        {"to": "+12125552671"},
        {"to": "not a number"},
        {"to": "+12125552672", "recipient_state": "NY"},
    ]
    response = await client.post(
        "/v1/checks/batch", json={"items": items, "at": MONDAY_1030_PT}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["ok"] for r in results] == [False, True, False, True]
    assert results[0]["to"] == PHONE
    assert results[0]["error"] == "dnc_blocked"
    assert results[0]["check_id"] == results[0]["details"]["check_id"]
    assert results[2]["error"] == "invalid_phone"
    assert results[2]["details"]["reason"] == "not_e164"
    assert results[1]["to"] == "+12125552671"
    assert results[1]["jurisdictions"] == ["US", "US-NY"]
    assert body["summary"] == {
        "allowed": 2,
        "invalid_phone": 1,
        "opted_out": 0,
        "dnc_blocked": 1,
        "call_hours_violation": 0,
    }
    too_many = await client.post(
        "/v1/checks/batch", json={"items": [{"to": "1"}] * 10_001}, headers=headers
    )
    assert too_many.status_code in (400, 413)  # the tests' body limit is 64 KiB
    assert too_many.json()["error"] in ("validation_failed", "payload_too_large")
    empty = await client.post("/v1/checks/batch", json={"items": []}, headers=headers)
    assert_envelope(empty, 400, "validation_failed")
    bad_state = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": PHONE}, {"to": PHONE, "recipient_state": "QQ"}]},
        headers=headers,
    )
    fields = assert_envelope(bad_state, 400, "validation_failed")["details"]["fields"]
    assert fields[0]["field"] == "items[1].recipient_state"


async def test_a_full_batch_of_ten_thousand_and_one_over(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection, admin_key: str
) -> None:
    big = create_app(
        # a key's budget covers its batch items: this one may check 10,000 and go on at once
        settings.model_copy(
            update={"max_body_bytes": 4 << 20, "key_rate_per_s": 1e6, "key_burst": 20_000}
        ),
        Database.joined_to(engine, connection),
    )
    transport = httpx.ASGITransport(app=big)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        admin = bearer(admin_key)
        _, headers = await tenant_with_key(client, admin)
        numbers = [f"+1212555{n:04d}" for n in range(2000, 7000)] * 2
        full = await client.post(
            "/v1/checks/batch",
            json={"items": [{"to": n} for n in numbers], "at": MONDAY_1030_PT},
            headers=headers,
        )
        assert full.status_code == 200, full.text[:300]
        assert full.json()["summary"]["allowed"] == 10_000
        # a batch this big writes its records with COPY: all there, and their chain holds
        verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
        assert (verdict["ok"], verdict["records"], verdict["first_bad"]) == (True, 10_000, None)
        over = await client.post(
            "/v1/checks/batch", json={"items": [{"to": PHONE}] * 10_001}, headers=headers
        )
        fields = assert_envelope(over, 400, "validation_failed")["details"]["fields"]
        assert fields[0]["field"] == "items"
    await big.state.checks.stop()


async def test_every_decision_is_recorded_and_records_are_append_only(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    ok = await _check(client, headers, at=MONDAY_1030_PT, **{})
    bad = await _check(client, headers, to="+1999")
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": PHONE}, {"to": "x"}], "at": MONDAY_0400_PT},
        headers={**headers, "X-Request-Id": "batch-req-1"},
    )
    ids = [
        ok.json()["check_id"],
        bad.json()["details"]["check_id"],
        *[r["check_id"] for r in batch.json()["results"]],
    ]
    rows = (
        await connection.execute(
            text(
                "SELECT id, tenant_id, api_key_id, request_id, phone, outcome, error, batch, "
                "lane_seq FROM check_records WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    ).all()
    by_id = {row.id: row for row in rows}
    assert set(by_id) == set(ids)
    assert {row.tenant_id for row in rows} == {tenant_id}
    assert all(row.api_key_id and row.api_key_id.startswith("key_") for row in rows)
    assert [by_id[i].outcome for i in ids] == ["allowed", "invalid", "blocked", "invalid"]
    assert [by_id[i].error for i in ids] == [
        None,
        "invalid_phone",
        "call_hours_violation",
        "invalid_phone",
    ]
    assert by_id[ids[2]].request_id == "batch-req-1"
    assert by_id[ids[2]].batch is True
    assert by_id[ids[1]].phone == "+1999"
    for statement in (
        "UPDATE check_records SET outcome = 'allowed' WHERE id = :id",
        "DELETE FROM check_records WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with connection.begin_nested():
                await connection.execute(text(statement), {"id": ids[1]})


async def test_scope_and_tenant(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
    assert_envelope(await _check(client, reader), 403, "scope_required")
    foreign = await client.post(
        f"/v1/checks?tenant_id={tenant_a}", json={"to": PHONE}, headers=reader
    )
    assert_envelope(foreign, 403, "scope_required")
    await _list_with(client, a, "a-list")
    # a platform key checks on a tenant's behalf: that tenant's lists apply
    on_behalf = await client.post(
        f"/v1/checks?tenant_id={tenant_a}", json={"to": PHONE, "at": MONDAY_1030_PT}, headers=admin
    )
    assert_envelope(on_behalf, 422, "dnc_blocked")
    alone = await client.post("/v1/checks", json={"to": PHONE, "at": MONDAY_1030_PT}, headers=admin)
    assert alone.status_code == 200, alone.text


async def test_a_message_echoing_input_shows_an_escape_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    phone = await client.post("/v1/checks", json={"to": "+1415\u0000555"}, headers=headers)
    body = phone.json()
    assert phone.status_code == 400
    assert "\\u0000" in body["message"]
    assert "\\\\u0000" not in body["message"]
    assert body["details"]["value"] == "+1415\\u0000555"
    state = await client.post(
        "/v1/checks", json={"to": "+14155552671", "recipient_state": "N\u0000Y"}, headers=headers
    )
    assert state.status_code == 400
    assert "\\\\" not in str(state.json())  # no string of the answer escapes twice


@pytest.mark.parametrize("at", [1764000000, 1764000000000, 1764000000.5, "1764000000"])
async def test_an_epoch_number_at_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], at: object
) -> None:
    """Seconds and milliseconds look alike: an instant is written out, never a number."""
    _, headers = await tenant_with_key(client, admin)
    for path, body in (
        ("/v1/checks", {"to": "+14155552671", "at": at}),
        ("/v1/checks/batch", {"items": [{"to": "+14155552671"}], "at": at}),
    ):
        response = await client.post(path, json=body, headers=headers)
        fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
        assert fields[0]["field"] == "at"
        assert "epoch numbers are not accepted" in fields[0]["problem"]
    audit = await client.get("/v1/audit/checks", params={"since": "1764000000"}, headers=headers)
    assert_envelope(audit, 400, "validation_failed")
