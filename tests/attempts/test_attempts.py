"""POST /v1/attempts (all or nothing, one event per request) and GET /v1/attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.attempts.schemas import AttemptsIn
from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

PHONE = "+14155552671"
OTHER = "+12125550342"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _item(at: datetime, phone: str = PHONE, **extra: Any) -> dict[str, Any]:
    return {"phone": phone, "at": _iso(at), "disposition": "no_answer", **extra}


async def _count(connection: AsyncConnection, tenant_id: str) -> int:
    return int(
        await connection.scalar(
            text("SELECT count(*) FROM call_attempts WHERE tenant_id = :t"), {"t": tenant_id}
        )
        or 0
    )


async def _events(connection: AsyncConnection, tenant_id: str) -> list[Any]:
    rows = await connection.execute(
        text(
            "SELECT type, target, actor_key_id, details FROM change_events "
            "WHERE tenant_id = :t AND type LIKE 'attempts.%' ORDER BY at"
        ),
        {"t": tenant_id},
    )
    return list(rows)


async def test_attempts_are_recorded_with_their_defaults_and_one_event(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    now = datetime.now(UTC).replace(microsecond=0)
    items = [
        _item(now - timedelta(hours=3), purpose="renewal", channel="sms", check_id="chk_x1"),
        _item(now - timedelta(hours=1), disposition="connected"),
        _item(now - timedelta(hours=2), phone=OTHER, disposition="busy"),
    ]
    answer = await client.post("/v1/attempts", json={"items": items}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"recorded": 3}
    assert await _count(connection, tenant_id) == 3
    rows = (
        await connection.execute(
            text(
                "SELECT id, number, purpose, channel, disposition, check_id FROM call_attempts "
                "WHERE tenant_id = :t ORDER BY at"
            ),
            {"t": tenant_id},
        )
    ).all()
    assert [r[1:] for r in rows] == [
        (4155552671, "renewal", "sms", "no_answer", "chk_x1"),
        (2125550342, "default", "voice", "busy", None),
        (4155552671, "default", "voice", "connected", None),
    ]
    assert all(r.id.startswith("att_") for r in rows)

    events = await _events(connection, tenant_id)
    assert len(events) == 1  # one per request, never one per attempt
    type_, target, _, details = events[0]
    assert (type_, target) == ("attempts.recorded", tenant_id)
    assert details == {
        "count": 3,
        "first_at": _iso(now - timedelta(hours=3)),
        "last_at": _iso(now - timedelta(hours=1)),
    }


async def test_a_large_request_is_one_event(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    start = datetime.now(UTC) - timedelta(days=2)
    items = [
        {"phone": PHONE, "at": _iso(start + timedelta(seconds=n)), "disposition": "failed"}
        for n in range(300)
    ]
    answer = await client.post("/v1/attempts", json={"items": items}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"recorded": 300}
    assert await _count(connection, tenant_id) == 300
    events = await _events(connection, tenant_id)
    assert len(events) == 1
    assert events[0].details["count"] == 300


async def test_one_bad_item_refuses_the_request_whole(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    now = datetime.now(UTC)
    good = _item(now - timedelta(minutes=5))
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "phone": "4155552671"}, "items[2].phone"),  # not E.164
        ({**good, "phone": "+14155550123"}, "items[2].phone"),  # fictional
        ({**good, "at": _iso(now + timedelta(minutes=10))}, "items[2].at"),  # ahead
        ({**good, "at": _iso(now - timedelta(days=2000))}, "items[2].at"),  # past retention
        ({**good, "at": "2026-12-06T10:00:00"}, "items[2].at"),  # no offset
        ({**good, "at": 1765000000}, "items[2].at"),  # epoch number
        ({**good, "purpose": "p" * 65}, "items[2].purpose"),
        ({**good, "purpose": ""}, "items[2].purpose"),
        ({**good, "channel": "fax"}, "items[2].channel"),
        ({**good, "disposition": "hung_up"}, "items[2].disposition"),
        ({k: v for k, v in good.items() if k != "disposition"}, "items[2].disposition"),
        ({**good, "check_id": "c" * 41}, "items[2].check_id"),
        ({**good, "extra": 1}, "items[2].extra"),
    ]
    before = (await _count(connection, tenant_id), len(await _events(connection, tenant_id)))
    for bad, field in cases:
        body = {"items": [good, good, bad, good]}
        answer = await client.post("/v1/attempts", json=body, headers=headers)
        error = assert_envelope(answer, 400, "validation_failed")
        assert [f["field"] for f in error["details"]["fields"]] == [field], (bad, error)
    after = (await _count(connection, tenant_id), len(await _events(connection, tenant_id)))
    assert after == before == (0, 0)


async def test_every_problem_is_named_and_the_request_size_is_bounded(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    now = datetime.now(UTC)
    body = {
        "items": [
            _item(now, phone="+1415"),
            _item(now),
            _item(now + timedelta(hours=1), phone="+19995550100"),
        ]
    }
    error = assert_envelope(
        await client.post("/v1/attempts", json=body, headers=headers), 400, "validation_failed"
    )
    assert [f["field"] for f in error["details"]["fields"]] == [
        "items[0].phone",
        "items[2].phone",
        "items[2].at",
    ]
    assert "nothing was recorded" in error["message"]
    for items in ([], [_item(now)] * 10_001):
        error = assert_envelope(
            await client.post("/v1/attempts", json={"items": items}, headers=headers),
            400 if len(items) == 0 else 413,
            "validation_failed" if len(items) == 0 else "payload_too_large",
        )
    assert await _count(connection, tenant_id) == 0


async def test_a_request_of_ten_thousand_is_accepted_and_one_more_refused(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """The bound itself, below the body limit (the test app's is 64 KiB, so the items are
    checked by the schema directly)."""
    item = _item(datetime.now(UTC))
    assert len(AttemptsIn.model_validate({"items": [item] * 10_000}).items) == 10_000
    with pytest.raises(ValidationError) as refused:
        AttemptsIn.model_validate({"items": [item] * 10_001})
    assert refused.value.errors()[0]["loc"] == ("items",)


async def test_scopes_and_tenants(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["audit:read"])
    body = {"items": [_item(datetime.now(UTC))]}
    assert_envelope(
        await client.post("/v1/attempts", json=body, headers=headers), 403, "scope_required"
    )
    _, writer = await create_key(client, admin, tenant_id=tenant_id, scopes=["checks:write"])
    assert (await client.post("/v1/attempts", json=body, headers=writer)).status_code == 201
    assert_envelope(
        await client.get("/v1/attempts", params={"phone": PHONE}, headers=writer),
        403,
        "scope_required",
    )
    # a platform key names the tenant it acts for
    assert_envelope(
        await client.post("/v1/attempts", json=body, headers=admin), 400, "validation_failed"
    )
    named = await client.post(
        "/v1/attempts", json=body, headers=admin, params={"tenant_id": tenant_id}
    )
    assert named.status_code == 201, named.text
    assert await _count(connection, tenant_id) == 2
    listed = await client.get(
        "/v1/attempts", params={"phone": PHONE, "tenant_id": tenant_id}, headers=admin
    )
    assert len(listed.json()["data"]) == 2
    # another tenant sees none of them, and its own attempts are its own
    other_id, other = await tenant_with_key(client, admin)
    listed = await client.get("/v1/attempts", params={"phone": PHONE}, headers=other)
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "next_cursor": None}
    assert (await client.post("/v1/attempts", json=body, headers=other)).status_code == 201
    assert await _count(connection, other_id) == 1
    assert await _count(connection, tenant_id) == 2


async def test_a_numbers_attempts_newest_first_paged_and_in_a_span(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    base = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    items = [_item(base + timedelta(hours=n), purpose=f"p{n}") for n in range(5)]
    items.append(_item(base, phone=OTHER))
    assert (
        await client.post("/v1/attempts", json={"items": items}, headers=headers)
    ).status_code == 201

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"phone": PHONE, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/attempts", params=params, headers=headers)).json()
        seen += [a["purpose"] for a in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["p4", "p3", "p2", "p1", "p0"]

    first = (
        await client.get("/v1/attempts", params={"phone": PHONE, "limit": 1}, headers=headers)
    ).json()["data"][0]
    assert set(first) == {
        "id",
        "phone",
        "at",
        "purpose",
        "channel",
        "disposition",
        "check_id",
        "recorded_at",
    }
    assert first["phone"] == PHONE
    assert first["at"] == "2026-11-30T16:00:00Z"

    # since inclusive, until exclusive
    span = {
        "phone": PHONE,
        "since": _iso(base + timedelta(hours=1)),
        "until": _iso(base + timedelta(hours=3)),
    }
    page = (await client.get("/v1/attempts", params=span, headers=headers)).json()
    assert [a["purpose"] for a in page["data"]] == ["p2", "p1"]

    for params in ({"phone": "4155552671"}, {"phone": "+1415"}):
        assert_envelope(
            await client.get("/v1/attempts", params=params, headers=headers), 400, "invalid_phone"
        )
    assert_envelope(await client.get("/v1/attempts", headers=headers), 400, "validation_failed")
    assert_envelope(
        await client.get(
            "/v1/attempts", params={"phone": PHONE, "cursor": "junk!"}, headers=headers
        ),
        400,
        "validation_failed",
    )


async def test_reported_attempts_count_against_the_caps_at_their_own_time(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Attempts count from their `at`, not from when they were reported, and only for their
    tenant and purpose (the check's side is tested in tests/checks)."""
    _, headers = await tenant_with_key(client, admin)
    _, other = await tenant_with_key(client, admin)
    miami = "+13055552671"  # Florida: at most 3 calls in 24 hours on one purpose
    at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # noon in Miami, a Wednesday
    items = [_item(at - timedelta(hours=h), phone=miami) for h in (1, 2, 3)]
    assert (
        await client.post("/v1/attempts", json={"items": items}, headers=headers)
    ).status_code == 201

    capped = await client.post("/v1/checks", json={"to": miami, "at": _iso(at)}, headers=headers)
    error = assert_envelope(capped, 422, "call_hours_violation")
    assert error["details"]["reason"] == "frequency_cap"
    assert [a["at"] for a in error["details"]["attempts"]] == [
        _iso(at - timedelta(hours=h)) for h in (3, 2, 1)
    ]
    assert error["details"]["next_allowed_at"] == _iso(at + timedelta(hours=21))
    for body, who in (
        ({"to": miami, "at": _iso(at), "purpose": "other"}, headers),
        ({"to": miami, "at": _iso(at)}, other),
    ):
        allowed = await client.post("/v1/checks", json=body, headers=who)
        assert allowed.status_code == 200, allowed.text
