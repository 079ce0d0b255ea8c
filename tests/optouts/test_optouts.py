"""Opt-outs and opt-ins through the HTTP API: channels, re-consent, history, isolation."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

PHONE = "+14155552671"
OTHER = "+12125552671"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _opt_out(
    client: httpx.AsyncClient, headers: dict[str, str], phone: str = PHONE, **fields: object
) -> dict[str, Any]:
    response = await client.post("/v1/opt-outs", json={"phone": phone, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _state(
    client: httpx.AsyncClient, headers: dict[str, str], phone: str = PHONE
) -> dict[str, Any]:
    response = await client.get(f"/v1/opt-outs/{phone}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_sms_opt_out_does_not_block_voice_and_all_blocks_both(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    event = await _opt_out(client, headers, channel="sms", source="sms_stop", note="STOP")
    assert event["id"].startswith("oo_")
    assert {k: v for k, v in event.items() if k not in ("id", "occurred_at")} == {
        "phone": PHONE,
        "channel": "sms",
        "source": "sms_stop",
        "note": "STOP",
        "kind": "opt_out",
    }
    assert (await _state(client, headers))["opted_out"] == {"voice": False, "sms": True}

    await _opt_out(client, headers, OTHER)  # channel defaults to all
    state = await _state(client, headers, OTHER)
    assert state["opted_out"] == {"voice": True, "sms": True}
    assert [e["source"] for e in state["history"]] == ["api"]


async def test_a_number_never_seen_is_not_opted_out(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    assert await _state(client, headers) == {
        "phone": PHONE,
        "opted_out": {"voice": False, "sms": False},
        "history": [],
    }


async def test_opt_in_after_opt_out_keeps_the_whole_history_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    first = await _opt_out(client, headers, channel="all")
    response = await client.delete(f"/v1/opt-outs/{PHONE}?channel=voice", headers=headers)
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["opted_out"] == {"voice": False, "sms": True}
    kinds = [(e["kind"], e["channel"]) for e in state["history"]]
    assert kinds == [("opt_in", "voice"), ("opt_out", "all")]
    assert state["history"][1]["id"] == first["id"]
    assert state == await _state(client, headers)

    # sms is still opted out (by the `all` event); voice is not any more
    again = await client.delete(f"/v1/opt-outs/{PHONE}?channel=voice", headers=headers)
    assert_envelope(again, 404, "not_found")
    both = await client.delete(f"/v1/opt-outs/{PHONE}", headers=headers)  # channel=all
    assert both.json()["opted_out"] == {"voice": False, "sms": False}
    assert len(both.json()["history"]) == 3
    assert_envelope(await client.delete(f"/v1/opt-outs/{PHONE}", headers=headers), 404, "not_found")

    # opted out again: the newest event decides
    await _opt_out(client, headers, channel="voice")
    assert (await _state(client, headers))["opted_out"] == {"voice": True, "sms": False}

    types = (
        await connection.execute(
            text("SELECT type FROM change_events WHERE target = :phone ORDER BY at, id"),
            {"phone": PHONE},
        )
    ).scalars()
    assert sorted(types) == ["optout.opted_in"] * 2 + ["optout.opted_out"] * 2


async def test_the_newest_event_by_occurrence_decides_not_the_last_recorded(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    now = datetime.now(UTC)
    await _opt_out(client, headers, channel="all", occurred_at=_iso(now - timedelta(hours=2)))
    assert (await client.delete(f"/v1/opt-outs/{PHONE}", headers=headers)).status_code == 200
    # an older opt-out reported late does not undo the newer opt-in
    late = await _opt_out(
        client, headers, channel="voice", occurred_at=_iso(now - timedelta(hours=1))
    )
    state = await _state(client, headers)
    assert state["opted_out"] == {"voice": False, "sms": False}
    history = state["history"]
    assert [e["kind"] for e in history] == ["opt_in", "opt_out", "opt_out"]
    assert history[1]["id"] == late["id"]
    times = [e["occurred_at"] for e in history]
    assert times == sorted(times, reverse=True)
    # an sms opt-out after the opt-in blocks sms only
    await _opt_out(client, headers, channel="sms", occurred_at=_iso(now + timedelta(seconds=30)))
    assert (await _state(client, headers))["opted_out"] == {"voice": False, "sms": True}


async def test_bad_input_is_a_clear_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    bad = await client.post("/v1/opt-outs", json={"phone": "415-555-2671"}, headers=headers)
    assert_envelope(bad, 400, "invalid_phone")
    assert bad.json()["details"]["reason"] == "not_e164"
    fictional = await client.post("/v1/opt-outs", json={"phone": "+14155550123"}, headers=headers)
    assert_envelope(fictional, 400, "invalid_phone")
    assert_envelope(await client.get("/v1/opt-outs/+1415", headers=headers), 400, "invalid_phone")
    assert_envelope(
        await client.delete("/v1/opt-outs/nonsense", headers=headers), 400, "invalid_phone"
    )
    for body in (
        {"phone": PHONE, "channel": "fax"},
        {"phone": PHONE, "source": "carrier-pigeon"},
        {"phone": PHONE, "occurred_at": "yesterday"},
        {"phone": PHONE, "occurred_at": "2026-01-01T00:00:00"},  # no offset
        {"phone": PHONE, "occurred_at": _iso(datetime.now(UTC) + timedelta(hours=1))},
        {"phone": PHONE, "unknown": 1},
        {},
    ):
        response = await client.post("/v1/opt-outs", json=body, headers=headers)
        assert_envelope(response, 400, "validation_failed")
    assert_envelope(
        await client.delete(f"/v1/opt-outs/{PHONE}?channel=fax", headers=headers),
        400,
        "validation_failed",
    )
    assert (await _state(client, headers))["history"] == []  # nothing was recorded


async def test_tenants_never_see_each_others_opt_outs(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    await _opt_out(client, a)
    assert (await _state(client, b))["history"] == []
    assert (await client.get("/v1/opt-outs", headers=b)).json()["data"] == []
    assert_envelope(await client.delete(f"/v1/opt-outs/{PHONE}", headers=b), 404, "not_found")
    foreign = await client.get(f"/v1/opt-outs/{PHONE}?tenant_id={tenant_a}", headers=b)
    assert_envelope(foreign, 404, "not_found")
    assert (await _state(client, a))["opted_out"] == {"voice": True, "sms": True}

    # a platform key names the tenant; it must exist
    missing = await client.get(f"/v1/opt-outs/{PHONE}", headers=admin)
    assert_envelope(missing, 400, "validation_failed")
    as_admin = await client.get(f"/v1/opt-outs/{PHONE}?tenant_id={tenant_a}", headers=admin)
    assert as_admin.json()["opted_out"] == {"voice": True, "sms": True}
    nowhere = await client.post(
        "/v1/opt-outs?tenant_id=ten_doesnotexist", json={"phone": PHONE}, headers=admin
    )
    assert_envelope(nowhere, 404, "not_found")


async def test_scopes(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, reader = await tenant_with_key(client, admin, scopes=["optouts:read"])
    denied = await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=reader)
    assert_envelope(denied, 403, "scope_required")
    _, dnc_only = await tenant_with_key(client, admin, scopes=["dnc:read"])
    assert_envelope(await client.get("/v1/opt-outs", headers=dnc_only), 403, "scope_required")


async def test_replays_with_an_idempotency_key_record_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    keyed = {**headers, "Idempotency-Key": f"oo-{secrets.token_hex(8)}"}
    body = {"phone": PHONE, "channel": "sms"}
    first = await client.post("/v1/opt-outs", json=body, headers=keyed)
    again = await client.post("/v1/opt-outs", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await _state(client, headers))["history"]) == 1
    other = await client.post("/v1/opt-outs", json={**body, "channel": "voice"}, headers=keyed)
    assert_envelope(other, 409, "idempotency_key_reused")


async def test_listing_is_paged_in_number_order_and_filters_by_channel(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    phones = [f"+1415555{n:04d}" for n in (2675, 2671, 2673, 2672, 2674)]
    for i, phone in enumerate(phones):
        await _opt_out(client, headers, phone, channel="sms" if i % 2 else "voice")
    # opted back in: no longer listed
    assert (await client.delete(f"/v1/opt-outs/{phones[0]}", headers=headers)).status_code == 200

    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/opt-outs{query}", headers=headers)).json()
        seen += [item["phone"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(phones[1:])
    sms = (await client.get("/v1/opt-outs?channel=sms", headers=headers)).json()["data"]
    assert [item["phone"] for item in sms] == sorted([phones[1], phones[3]])
    assert all(item["opted_out"] == {"voice": False, "sms": True} for item in sms)
    bad = await client.get("/v1/opt-outs?cursor=!!", headers=headers)
    assert_envelope(bad, 400, "validation_failed")


async def test_history_is_append_only_in_the_database(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    event = await _opt_out(client, headers)
    for statement in (
        "UPDATE optout_events SET kind = 'opt_in' WHERE id = :id",
        "DELETE FROM optout_events WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with connection.begin_nested():
                await connection.execute(text(statement), {"id": event["id"]})
    assert (await _state(client, headers))["opted_out"] == {"voice": True, "sms": True}
