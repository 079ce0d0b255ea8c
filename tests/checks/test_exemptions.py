"""Registry-aware decisions through the HTTP API (API-2.md sections 12 and 13): a consent in force
waives matches on registry lists only; internal and litigator lists, opt-outs and calling hours
still block; each basis ends exactly at its expiry; stale registry copies refuse or warn."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import TENANT_SCOPES, create_key, create_tenant

SCOPES = [*TENANT_SCOPES, "consents:read", "consents:write"]
PHONE = "+14155552671"  # San Francisco: America/Los_Angeles, US-CA 08:00-21:00
TORONTO = "+14169671111"  # Toronto: America/Toronto, Canada 09:00-21:30 on weekdays
OBTAINED = "2025-01-15T17:00:00Z"  # a Wednesday, 09:00 in San Francisco, 12:00 in Toronto
INSIDE_HOURS = "2026-02-02T18:00:00Z"  # a Monday, 10:00 in San Francisco, 13:00 in Toronto
NIGHT = "2026-02-02T12:00:00Z"  # 04:00 in San Francisco


async def _tenant(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    tenant_id = await create_tenant(client, admin)
    _, headers = await create_key(client, admin, tenant_id=tenant_id, scopes=SCOPES)
    return headers


async def _list(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    phones: tuple[str, ...] = (PHONE,),
    scope: str = "tenant",
) -> str:
    created = await client.post(
        "/v1/dnc/lists",
        json={"name": f"{kind}-{scope}-{len(phones)}", "scope": scope, "kind": kind},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    list_id = str(created.json()["id"])
    for phone in phones:
        put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{phone}", headers=headers)
        assert put.status_code == 201, put.text
    return list_id


async def _consent(
    client: httpx.AsyncClient, headers: dict[str, str], phone: str = PHONE, **body: Any
) -> dict[str, Any]:
    fields = {"phone": phone, "basis": "express_written_consent", "obtained_at": OBTAINED, **body}
    created = await client.post("/v1/consents", json=fields, headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], at: str, phone: str = PHONE, **body: Any
) -> httpx.Response:
    return await client.post("/v1/checks", json={"to": phone, "at": at, **body}, headers=headers)


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("phone", "basis", "expires"),
    [
        (PHONE, "ebr_transaction", "2026-07-15T17:00:00Z"),  # 18 calendar months
        (PHONE, "ebr_inquiry", "2025-04-15T17:00:00Z"),  # 3 months in the US
        (TORONTO, "ebr_transaction", "2026-07-15T17:00:00Z"),  # 18 months in Canada too
        (TORONTO, "ebr_inquiry", "2025-07-15T17:00:00Z"),  # 6 months in Canada
    ],
)
async def test_each_ebr_basis_waives_a_registry_match_until_its_last_second(
    client: httpx.AsyncClient, admin: dict[str, str], phone: str, basis: str, expires: str
) -> None:
    headers = await _tenant(client, admin)
    registry = await _list(client, headers, "registry", (phone,))
    consent = await _consent(client, headers, phone, basis=basis)
    assert consent["expires_at"] == expires

    last_second = _z(_instant(expires) - timedelta(seconds=1))
    allowed = await _check(client, headers, last_second, phone)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["exemption"] == {
        "consent_id": consent["id"],
        "basis": basis,
        "obtained_at": OBTAINED,
        "expires_at": expires,
        "waived_lists": [registry],
    }
    first_out = await _check(client, headers, expires, phone)
    details = assert_envelope(first_out, 422, "dnc_blocked")["details"]
    assert [m["kind"] for m in details["matches"]] == ["registry"]
    assert "exemption" not in details


@pytest.mark.parametrize("phone", [PHONE, TORONTO])
async def test_written_consent_holds_from_its_first_second_until_revoked(
    client: httpx.AsyncClient, admin: dict[str, str], phone: str
) -> None:
    headers = await _tenant(client, admin)
    await _list(client, headers, "registry", (phone,))
    consent = await _consent(client, headers, phone)
    assert consent["expires_at"] is None
    before = await _check(client, headers, _z(_instant(OBTAINED) - timedelta(seconds=1)), phone)
    assert_envelope(before, 422, "dnc_blocked")
    at_once = await _check(client, headers, OBTAINED, phone)
    assert at_once.status_code == 200, at_once.text
    assert at_once.json()["exemption"]["consent_id"] == consent["id"]
    years_later = await _check(client, headers, "2026-11-02T18:00:00Z", phone)
    assert years_later.status_code == 200, years_later.text

    revoked = await client.delete(f"/v1/consents/{consent['id']}", headers=headers)
    assert revoked.status_code == 200, revoked.text
    now = _z(datetime.now(UTC) + timedelta(minutes=1))
    after = await _check(client, headers, now, phone, channel="sms")
    assert after.status_code == 422, after.text
    assert after.json()["details"]["violations"][0] in ("dnc_blocked", "call_hours_violation")
    assert "dnc_blocked" in after.json()["details"]["violations"]


async def test_an_internal_or_litigator_match_is_never_waived(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = await _tenant(client, admin)
    registry = await _list(client, headers, "registry")
    await _consent(client, headers)
    assert (await _check(client, headers, INSIDE_HOURS)).status_code == 200

    internal = await _list(client, headers, "internal")
    details = assert_envelope(await _check(client, headers, INSIDE_HOURS), 422, "dnc_blocked")[
        "details"
    ]
    assert {(m["list_id"], m["kind"]) for m in details["matches"]} == {
        (registry, "registry"),
        (internal, "internal"),
    }

    other = await _tenant(client, admin)
    await _list(client, other, "registry")
    litigator = await _list(client, other, "litigator")
    await _consent(client, other)
    details = assert_envelope(await _check(client, other, INSIDE_HOURS), 422, "dnc_blocked")[
        "details"
    ]
    assert litigator in [m["list_id"] for m in details["matches"]]


@pytest.mark.parametrize(
    ("consent", "check"),
    [
        ({"basis": "ebr_inquiry", "obtained_at": "2025-06-01T17:00:00Z"}, {}),  # expired
        ({"obtained_at": "2026-03-01T17:00:00Z"}, {}),  # obtained after `at`
        ({"channel": "sms"}, {"channel": "voice"}),  # another channel
        ({"channel": "voice"}, {"channel": "sms"}),
        (
            {"obtained_at": "2026-01-01T17:00:00Z", "expires_at": "2026-02-01T17:00:00Z"},
            {},
        ),  # an explicit expiry before `at`
    ],
)
async def test_a_consent_not_in_force_waives_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    consent: dict[str, Any],
    check: dict[str, Any],
) -> None:
    headers = await _tenant(client, admin)
    await _list(client, headers, "registry")
    await _consent(client, headers, **consent)
    response = await _check(client, headers, INSIDE_HOURS, **check)
    assert_envelope(response, 422, "dnc_blocked")


async def test_a_revoked_consent_waives_nothing_after_its_revocation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = await _tenant(client, admin)
    await _list(client, headers, "registry")
    consent = await _consent(client, headers)
    now = datetime.now(UTC)
    soon = _z(now + timedelta(minutes=5))
    # whatever the hours at this moment, the registry match is waived before the revocation
    before = await _check(client, headers, soon)
    assert "dnc_blocked" not in before.json().get("details", {}).get("violations", [])
    revoked = await client.delete(f"/v1/consents/{consent['id']}", headers=headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    after = await _check(client, headers, soon)
    assert "dnc_blocked" in after.json()["details"]["violations"]
    # honored the moment it is recorded: a call at an instant before it is not waived either
    earlier = await _check(client, headers, INSIDE_HOURS)
    assert_envelope(earlier, 422, "dnc_blocked")


async def test_an_opt_out_and_the_calling_hours_still_block(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = await _tenant(client, admin)
    registry = await _list(client, headers, "registry")
    consent = await _consent(client, headers)

    night = await _check(client, headers, NIGHT)
    details = assert_envelope(night, 422, "call_hours_violation")["details"]
    assert details["violations"] == ["call_hours_violation"]
    assert details["exemption"]["consent_id"] == consent["id"]
    assert details["exemption"]["waived_lists"] == [registry]

    opted = await client.post(
        "/v1/opt-outs", json={"phone": PHONE, "channel": "all"}, headers=headers
    )
    assert opted.status_code == 201, opted.text
    details = assert_envelope(await _check(client, headers, INSIDE_HOURS), 422, "opted_out")[
        "details"
    ]
    assert details["violations"] == ["opted_out"]


async def test_a_global_registry_is_waived_only_for_the_tenant_holding_the_consent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    registry = await _list(client, admin, "registry", scope="global")
    holder = await _tenant(client, admin)
    other = await _tenant(client, admin)
    consent = await _consent(client, holder)

    allowed = await _check(client, holder, INSIDE_HOURS)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["exemption"]["waived_lists"] == [registry]
    details = assert_envelope(await _check(client, other, INSIDE_HOURS), 422, "dnc_blocked")[
        "details"
    ]
    assert details["suppression_source"] == "global"

    # the audit record keeps the exemption
    record = await client.get(f"/v1/audit/checks/{allowed.json()['check_id']}", headers=holder)
    assert record.status_code == 200, record.text
    assert record.json()["details"]["exemption"]["consent_id"] == consent["id"]


def _phones(count: int) -> list[str]:
    return [f"+1415267{1000 + n:04d}" for n in range(count)]


async def test_a_batch_with_mixed_consents_answers_like_single_checks(
    big: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    client = big
    headers = await _tenant(client, admin)
    phones = _phones(500)
    # by n % 10: 0-3 registry only with consents in force or not, 4 registry without consent,
    # 5 internal + registry with consent, 6 litigator with consent, 7 opted out with consent,
    # 8-9 on no list (one of them with a consent)
    registry = [p for n, p in enumerate(phones) if n % 10 in (0, 1, 2, 3, 4, 5, 7)]
    await _list(client, headers, "registry", tuple(registry))
    await _list(client, headers, "internal", tuple(p for n, p in enumerate(phones) if n % 10 == 5))
    await _list(client, headers, "litigator", tuple(p for n, p in enumerate(phones) if n % 10 == 6))
    variants: list[dict[str, Any]] = [
        {},
        {"basis": "ebr_inquiry", "obtained_at": "2025-06-01T17:00:00Z"},  # expired
        {"channel": "sms"},
        {"basis": "ebr_transaction"},
    ]
    for n, phone in enumerate(phones):
        kind = n % 10
        if kind in (0, 1, 2, 3):
            await _consent(client, headers, phone, **variants[kind])
        elif kind in (5, 6, 7, 8):
            await _consent(client, headers, phone)
        if kind == 7:
            await client.post(
                "/v1/opt-outs", json={"phone": phone, "channel": "voice"}, headers=headers
            )
    items = [{"to": phone} for phone in phones] * 20
    batch = await client.post(
        "/v1/checks/batch", json={"items": items, "at": INSIDE_HOURS}, headers=headers
    )
    assert batch.status_code == 200, batch.text
    answers = batch.json()["results"]
    assert len(answers) == 10_000

    def verdict(body: dict[str, Any]) -> tuple[Any, ...]:
        if body.get("ok"):
            return ("ok", (body.get("exemption") or {}).get("consent_id"))
        details = body["details"]
        return (body["error"], tuple(details["violations"]))

    singles: list[tuple[Any, ...]] = []
    for start in range(0, len(items), 250):
        chunk = items[start : start + 250]
        responses = await asyncio.gather(
            *(_check(client, headers, INSIDE_HOURS, item["to"]) for item in chunk)
        )
        singles += [verdict(r.json()) for r in responses]
    assert [verdict(a) for a in answers] == singles
    kinds = {n % 10: singles[n][0] for n in range(10)}
    assert kinds == {
        0: "ok",
        1: "dnc_blocked",
        2: "dnc_blocked",
        3: "ok",
        4: "dnc_blocked",
        5: "dnc_blocked",
        6: "dnc_blocked",
        7: "opted_out",
        8: "ok",
        9: "ok",
    }
    assert singles[0][1] is not None
    assert singles[8][1] is None  # on no list: nothing to waive


async def _age(connection: AsyncConnection, list_id: str, days: float) -> None:
    """Test-only: move a list's last refresh `days` into the past."""
    await connection.execute(
        text(
            "UPDATE dnc_lists SET refreshed_at = now() - make_interval(secs => :s) WHERE id = :id"
        ),
        {"s": days * 86400, "id": list_id},
    )


async def test_a_stale_registry_refuses_checks_unless_the_policy_allows(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    headers = await _tenant(client, admin)
    registry = await _list(client, headers, "registry", ("+12125552671",))
    fresh = await _check(client, headers, INSIDE_HOURS)
    assert fresh.status_code == 200, fresh.text
    assert "warnings" not in fresh.json()

    await _age(connection, registry, 25)  # 6 days before it turns stale: a warning
    aging = await _check(client, headers, INSIDE_HOURS)
    assert aging.status_code == 200, aging.text
    warning = aging.json()["warnings"][0]
    assert (warning["code"], warning["list_id"]) == ("registry_aging", registry)
    assert len(aging.json()["warnings"]) == 1
    batch = await client.post(
        "/v1/checks/batch", json={"items": [{"to": PHONE}], "at": INSIDE_HOURS}, headers=headers
    )
    assert batch.json()["results"][0]["warnings"][0]["code"] == "registry_aging"

    await _age(connection, registry, 31.01)
    refused = await _check(client, headers, INSIDE_HOURS)
    details = assert_envelope(refused, 503, "service_unavailable")["details"]
    assert details["reason"] == "registry_stale"
    assert details["list_id"] == registry
    assert details["refreshed_at"].endswith("Z")
    batch = await client.post(
        "/v1/checks/batch", json={"items": [{"to": PHONE}], "at": INSIDE_HOURS}, headers=headers
    )
    assert_envelope(batch, 503, "service_unavailable")
    # nothing is recorded for a refused check
    records = await client.get("/v1/audit/checks", headers=headers)
    assert len(records.json()["data"]) == 3  # fresh, aging, and the aging batch's item

    policy = {
        "windows": {d: ["08:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
        | {"sun": None},
        "on_stale_registry": "allow",
    }
    put = await client.put("/v1/calling-policy", json=policy, headers=headers)
    assert put.status_code == 200, put.text
    allowed = await _check(client, headers, INSIDE_HOURS)
    assert allowed.status_code == 200, allowed.text
    assert [w["code"] for w in allowed.json()["warnings"]] == ["registry_stale"]

    # another tenant that the list does not apply to is not refused
    other = await _tenant(client, admin)
    assert (await _check(client, other, INSIDE_HOURS)).status_code == 200


async def test_a_registry_copy_is_judged_at_the_call_not_at_the_check(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    headers = await _tenant(client, admin)
    registry = await _list(client, headers, "registry", ("+12125552671",))
    await _age(connection, registry, 25)  # fresh now, 35 days old ten days from now
    monday = datetime.now(UTC) + timedelta(days=10)
    while monday.weekday() != 0:
        monday += timedelta(days=1)
    later = _z(monday.replace(hour=18, minute=0, second=0, microsecond=0))
    refused = await _check(client, headers, later)
    details = assert_envelope(refused, 503, "service_unavailable")["details"]
    assert (details["reason"], details["list_id"]) == ("registry_stale", registry)
    now = await _check(client, headers, INSIDE_HOURS)  # a call in the past: aging, allowed
    assert now.status_code == 200, now.text
    assert [w["code"] for w in now.json()["warnings"]] == ["registry_aging"]


async def test_a_stale_global_registry_refuses_every_tenant_that_refuses(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    registry = await _list(client, admin, "registry", ("+12125552671",), scope="global")
    await _age(connection, registry, 40)
    headers = await _tenant(client, admin)
    details = assert_envelope(
        await _check(client, headers, INSIDE_HOURS), 503, "service_unavailable"
    )["details"]
    assert (details["reason"], details["list_id"]) == ("registry_stale", registry)
    # an invalid number looks nothing up and is answered as before
    invalid = await _check(client, headers, INSIDE_HOURS, "+1555")
    assert_envelope(invalid, 400, "invalid_phone")
