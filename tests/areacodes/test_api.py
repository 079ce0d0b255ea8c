"""Area codes over HTTP: reading (any key), overriding (admin, audited), and the cache."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key


async def test_any_key_reads_an_area_code(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
    response = await client.get("/v1/area-codes/415", headers=reader)
    assert response.status_code == 200
    assert response.json() == {
        "npa": "415",
        "country": "US",
        "region": "CA",
        "time_zones": ["America/Los_Angeles"],
        "geographic": True,
        "in_service": True,
        "overridden": False,
    }


async def test_multi_zone_area_code(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = (await client.get("/v1/area-codes/928", headers=admin)).json()
    assert body["time_zones"] == ["America/Denver", "America/Phoenix"]


async def test_list_filters_and_pages(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    canada = (await client.get("/v1/area-codes?country=CA&limit=1000", headers=admin)).json()
    assert len(canada["data"]) >= 55
    assert {c["country"] for c in canada["data"]} == {"CA"}
    texas = (await client.get("/v1/area-codes?region=TX&limit=1000", headers=admin)).json()
    assert "512" in [c["npa"] for c in texas["data"]]
    first = (await client.get("/v1/area-codes?limit=2", headers=admin)).json()
    second = (
        await client.get(f"/v1/area-codes?limit=2&cursor={first['next_cursor']}", headers=admin)
    ).json()
    assert [c["npa"] for c in first["data"]] < [c["npa"] for c in second["data"]]
    assert first["next_cursor"] == first["data"][-1]["npa"]


async def test_unknown_and_malformed_npa(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert_envelope(await client.get("/v1/area-codes/999", headers=admin), 404, "not_found")
    assert_envelope(await client.get("/v1/area-codes/41a", headers=admin), 400, "validation_failed")


async def test_override_changes_what_checks_see_and_is_audited(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    put = await client.put(
        "/v1/area-codes/415", json={"time_zones": ["America/Denver"]}, headers=admin
    )
    assert put.status_code == 200
    assert put.json()["time_zones"] == ["America/Denver"]
    assert put.json()["overridden"] is True
    got = (await client.get("/v1/area-codes/415", headers=admin)).json()  # from memory
    assert got["time_zones"] == ["America/Denver"]
    assert got["region"] == "CA"  # fields not given keep the shipped value

    removed = await client.delete("/v1/area-codes/415", headers=admin)
    assert removed.json()["overridden"] is False
    assert (await client.get("/v1/area-codes/415", headers=admin)).json()["time_zones"] == [
        "America/Los_Angeles"
    ]
    events = (
        (
            await connection.execute(
                text("SELECT type FROM change_events WHERE target = '415' ORDER BY at, id")
            )
        )
        .scalars()
        .all()
    )
    assert sorted(events) == sorted(["area_code.overridden", "area_code.override_removed"])


async def test_override_needs_admin(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = assert_envelope(
        await client.put("/v1/area-codes/415", json={"in_service": False}, headers=headers),
        403,
        "scope_required",
    )
    assert body["details"] == {"required_scope": "admin"}


async def test_bad_overrides_are_validation_failed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bodies: list[dict[str, object]] = [
        {},
        {"time_zones": ["Mars/Olympus"]},
        {"time_zones": []},
        {"region": "texas"},
    ]
    for body in bodies:
        assert_envelope(
            await client.put("/v1/area-codes/415", json=body, headers=admin),
            400,
            "validation_failed",
        )


async def test_override_of_unknown_npa_and_missing_override(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_envelope(
        await client.put("/v1/area-codes/999", json={"in_service": True}, headers=admin),
        404,
        "not_found",
    )
    assert_envelope(await client.delete("/v1/area-codes/212", headers=admin), 404, "not_found")


async def test_a_second_override_keeps_the_fields_it_does_not_send(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.put(
        "/v1/area-codes/305",
        json={"time_zones": ["America/Chicago", "America/New_York"]},
        headers=admin,
    )
    second = await client.put("/v1/area-codes/305", json={"in_service": True}, headers=admin)
    assert second.json()["time_zones"] == ["America/Chicago", "America/New_York"]


async def test_an_unknown_region_is_refused_because_it_would_drop_a_law(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = assert_envelope(
        await client.put("/v1/area-codes/305", json={"region": "ZZ"}, headers=admin),
        400,
        "validation_failed",
    )
    assert body["details"]["fields"][0]["field"] == "region"
    ok = await client.put("/v1/area-codes/305", json={"region": "GA"}, headers=admin)
    assert ok.json()["region"] == "GA"
