"""Declared bans, tenant policies and the rules view over HTTP."""

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

BAN = {
    "jurisdiction": "US-LA",
    "starts_at": "2030-08-29T00:00:00Z",
    "ends_at": "2030-09-05T00:00:00Z",
    "reason": "hurricane emergency",
}
WEEK = {
    "mon": ["09:00", "17:00"],
    "tue": ["09:00", "17:00"],
    "wed": ["09:00", "17:00"],
    "thu": ["09:00", "17:00"],
    "fri": ["09:00", "17:00"],
    "sat": None,
    "sun": None,
}


async def test_declare_list_and_lift_a_ban(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    created = await client.post("/v1/calling-rules/bans", json=BAN, headers=admin)
    assert created.status_code == 201
    ban = created.json()
    assert ban["id"].startswith("ban_")
    assert ban["starts_at"] == "2030-08-29T00:00:00Z"
    assert ban["lifted_at"] is None
    _, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
    listed = (await client.get("/v1/calling-rules/bans", headers=reader)).json()["data"]
    assert [b["id"] for b in listed] == [ban["id"]]
    rules = (await client.get("/v1/calling-rules", headers=reader)).json()
    assert [b["id"] for b in rules["bans"]] == [ban["id"]]

    lifted = await client.delete(f"/v1/calling-rules/bans/{ban['id']}", headers=admin)
    assert lifted.status_code == 200
    assert lifted.json()["lifted_at"] is not None
    assert (await client.get("/v1/calling-rules/bans", headers=admin)).json()["data"] == []
    past = (await client.get("/v1/calling-rules/bans?include_past=true", headers=admin)).json()
    assert [b["id"] for b in past["data"]] == [ban["id"]]
    events = (
        (
            await connection.execute(
                text("SELECT type FROM change_events WHERE target = :id"), {"id": ban["id"]}
            )
        )
        .scalars()
        .all()
    )
    assert sorted(events) == ["ban.declared", "ban.lifted"]


async def test_bad_bans_are_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for body in (
        {**BAN, "jurisdiction": "US-ZZ"},
        {**BAN, "jurisdiction": "louisiana"},
        {**BAN, "ends_at": "2030-08-28T00:00:00Z"},
        {**BAN, "starts_at": "2030-08-29T00:00:00"},
        {**BAN, "reason": ""},
    ):
        assert_envelope(
            await client.post("/v1/calling-rules/bans", json=body, headers=admin),
            400,
            "validation_failed",
        )


async def test_bans_need_admin(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    assert_envelope(
        await client.post("/v1/calling-rules/bans", json=BAN, headers=headers),
        403,
        "scope_required",
    )
    assert_envelope(
        await client.delete("/v1/calling-rules/bans/ban_x", headers=admin), 404, "not_found"
    )


async def test_tenant_policy_round_trip(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    assert_envelope(await client.get("/v1/calling-policy", headers=headers), 404, "not_found")
    body = {"windows": WEEK, "banned_dates": ["2026-12-24", "2026-12-24"]}
    put = await client.put("/v1/calling-policy", json=body, headers=headers)
    assert put.status_code == 200
    policy = put.json()
    assert policy["tenant_id"] == tenant_id
    assert policy["windows"]["mon"] == ["09:00", "17:00"]
    assert policy["windows"]["sun"] is None
    assert policy["banned_dates"] == ["2026-12-24"]
    assert (await client.get("/v1/calling-policy", headers=headers)).json() == policy
    rules = (await client.get("/v1/calling-rules", headers=headers)).json()
    assert rules["policy"] == policy
    event = (
        (
            await connection.execute(
                text("SELECT type FROM change_events WHERE target = :t"), {"t": tenant_id}
            )
        )
        .scalars()
        .all()
    )
    assert "policy.updated" in event


async def test_bad_policies_are_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    partial = {k: v for k, v in WEEK.items() if k != "sun"}
    for windows in (
        partial,
        {**WEEK, "mon": ["25:00", "26:00"]},
        {**WEEK, "mon": ["17:00", "09:00"]},
        {**WEEK, "mon": ["09:00", "09:00"]},
        {**WEEK, "mon": ["09:00"]},
        {**WEEK, "mon": ["09:00", "12:00", "17:00"]},
        {**WEEK, "mon": []},
        {**WEEK, "mon": "09:00-17:00"},
        {**WEEK, "mon": ["9:00", "17:00"]},
        {**WEEK, "funday": None},
    ):
        assert_envelope(
            await client.put("/v1/calling-policy", json={"windows": windows}, headers=headers),
            400,
            "validation_failed",
        )


async def test_platform_key_must_name_the_tenant(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, _ = await tenant_with_key(client, admin)
    missing = await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=admin)
    assert_envelope(missing, 400, "validation_failed")
    named = await client.put(
        f"/v1/calling-policy?tenant_id={tenant_id}", json={"windows": WEEK}, headers=admin
    )
    assert named.status_code == 200
    assert named.json()["tenant_id"] == tenant_id


async def test_rules_view_lists_every_jurisdiction(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    rules = (await client.get("/v1/calling-rules", headers=admin)).json()
    by_id = {j["id"]: j for j in rules["jurisdictions"]}
    assert {"US", "US-FL", "US-AL", "US-RI", "CA", "DEFAULT"} <= set(by_id)
    assert by_id["US-FL"]["windows"]["mon"] == ["08:00", "20:00"]
    assert by_id["US-AL"]["windows"]["sun"] is None
    assert by_id["US-AL"]["banned_days"] == ["US-AL"]
    assert by_id["CA"]["windows"]["sat"] == ["10:00", "18:00"]
    assert rules["policy"] is None


async def test_policy_for_an_unknown_tenant_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.put(
        "/v1/calling-policy?tenant_id=ten_nope", json={"windows": WEEK}, headers=admin
    )
    assert_envelope(response, 404, "not_found")


async def test_any_key_of_the_tenant_reads_its_policy(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, writer = await tenant_with_key(client, admin, scopes=["policy:write"])
    await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=writer)

    _, reader = await create_key(client, admin, tenant_id=tenant_id, scopes=["checks:write"])
    assert (await client.get("/v1/calling-policy", headers=reader)).status_code == 200


async def test_a_ban_that_has_ended_is_refused_and_lifting_twice_is_one_event(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    past = {**BAN, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-02T00:00:00Z"}
    assert_envelope(
        await client.post("/v1/calling-rules/bans", json=past, headers=admin),
        400,
        "validation_failed",
    )
    ban = (await client.post("/v1/calling-rules/bans", json=BAN, headers=admin)).json()
    first = (await client.delete(f"/v1/calling-rules/bans/{ban['id']}", headers=admin)).json()
    second = (await client.delete(f"/v1/calling-rules/bans/{ban['id']}", headers=admin)).json()
    assert first["lifted_at"] == second["lifted_at"]
    lifted = (
        await connection.execute(
            text("SELECT count(*) FROM change_events WHERE target = :id AND type = 'ban.lifted'"),
            {"id": ban["id"]},
        )
    ).scalar()
    assert lifted == 1


def _day_window_schemas(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each schema's `windows` value schema (a day's window or null), by schema name."""
    found = {}
    for name, schema in document["components"]["schemas"].items():
        windows = schema.get("properties", {}).get("windows")
        if windows is not None:
            found[name] = windows["additionalProperties"]
    return found


def _has_key(node: object, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(value, key) for value in node.values())
    if isinstance(node, list):
        return any(_has_key(value, key) for value in node)
    return False


async def test_a_days_window_is_a_plain_array_of_two_clock_times(
    client: httpx.AsyncClient,
) -> None:
    """API-2.md: a pair is an array with minItems and maxItems 2, which every code generator
    (and schemathesis) reads, never a tuple schema (`prefixItems`)."""
    document = (await client.get("/openapi.json")).json()
    assert not _has_key(document, "prefixItems")
    windows = _day_window_schemas(document)
    assert {"PolicyIn", "PolicyOut", "JurisdictionOut"} <= set(windows), sorted(windows)
    for name, window in windows.items():
        array, null = window["anyOf"]
        assert null == {"type": "null"}, name
        assert array["type"] == "array", name
        assert array["minItems"] == array["maxItems"] == 2, name
        assert array["items"]["type"] == "string", name
        assert array["items"]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9]$", name
