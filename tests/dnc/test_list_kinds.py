"""List kinds and registry freshness on the API (API-2.md section 12): create, PATCH, the stale
flag, and kind in lookups and change events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.dnc.freshness import age_list, set_refreshed_at
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

PHONE = "+14155552671"


def _at(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, Any]:
    response = await client.post("/v1/dnc/lists", json={"name": "kinds", **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _events(connection: AsyncConnection, list_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await connection.execute(
        text("SELECT type, details FROM change_events WHERE target = :id ORDER BY at, id"),
        {"id": list_id},
    )
    return [(row.type, row.details) for row in rows]


async def _list_count(connection: AsyncConnection, tenant_id: str) -> int:
    count = await connection.scalar(
        text("SELECT count(*) FROM dnc_lists WHERE tenant_id = :t"), {"t": tenant_id}
    )
    return int(count or 0)


async def test_a_list_is_internal_by_default_fresh_and_never_stale(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers)
    assert created["kind"] == "internal"
    assert created["max_age_days"] is None
    assert created["stale_at"] is None
    assert created["stale"] is False
    assert created["refreshed_at"] == created["created_at"]  # its creation, at first
    await age_list(connection, created["id"], timedelta(days=4000))
    got = (await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers)).json()
    assert (got["stale"], got["stale_at"]) == (False, None)  # only registry copies go stale


@pytest.mark.parametrize(
    ("body", "kind", "max_age_days"),
    [
        ({"kind": "registry"}, "registry", 31),
        ({"kind": "registry", "max_age_days": 92}, "registry", 92),
        ({"kind": "registry", "max_age_days": None}, "registry", 31),
        ({"kind": "litigator"}, "litigator", None),
        ({"kind": "internal", "max_age_days": None}, "internal", None),
    ],
)
async def test_create_with_a_kind(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    body: dict[str, object],
    kind: str,
    max_age_days: int | None,
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers, **body)
    assert (created["kind"], created["max_age_days"], created["stale"]) == (
        kind,
        max_age_days,
        False,
    )
    if max_age_days is None:
        assert created["stale_at"] is None
    else:
        assert _at(created["stale_at"]) == _at(created["refreshed_at"]) + timedelta(
            days=max_age_days
        )
    listed = (await client.get("/v1/dnc/lists", headers=headers)).json()["data"]
    assert listed == [created]
    [(event_type, details)] = await _events(connection, created["id"])
    assert event_type == "dnc_list.created"
    assert (details["kind"], details["max_age_days"]) == (kind, max_age_days)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "state"},
        {"kind": "REGISTRY"},
        {"kind": None},
        {"kind": "internal", "max_age_days": 31},
        {"max_age_days": 31},  # internal by default
        {"kind": "litigator", "max_age_days": 31},
        {"kind": "registry", "max_age_days": 0},
        {"kind": "registry", "max_age_days": -31},
        {"kind": "registry", "max_age_days": 3661},
        {"kind": "registry", "max_age_days": 10**12},
        {"kind": "registry", "max_age_days": 31.5},
        {"kind": "registry", "max_age_days": "a month"},
        {"kind": "registry", "refreshed_at": "2026-01-01T00:00:00Z"},  # not the client's to set
        {"kind": "registry", "stale": False},
    ],
)
async def test_bad_kinds_and_ages_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    body: dict[str, object],
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    response = await client.post("/v1/dnc/lists", json={"name": "bad", **body}, headers=headers)
    assert_envelope(response, 400, "validation_failed")
    assert await _list_count(connection, tenant_id) == 0
    events = await connection.scalar(
        text("SELECT count(*) FROM change_events WHERE tenant_id = :t AND type LIKE 'dnc_%'"),
        {"t": tenant_id},
    )
    assert events == 0


async def test_max_age_days_on_an_internal_list_names_the_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = {"name": "x", "kind": "internal", "max_age_days": 31}
    error = assert_envelope(
        await client.post("/v1/dnc/lists", json=body, headers=headers), 400, "validation_failed"
    )
    assert "registry" in error["message"] or "registry" in str(error["details"])


async def test_patch_the_description(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers)
    response = await client.patch(
        f"/v1/dnc/lists/{created['id']}", json={"description": "asked us not to"}, headers=headers
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["description"] == "asked us not to"
    assert patched["kind"] == "internal"
    assert _at(patched["updated_at"]) >= _at(created["updated_at"])
    assert (await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers)).json() == patched
    event_type, details = (await _events(connection, created["id"]))[-1]
    assert event_type == "dnc_list.updated"
    assert details["list_id"] == created["id"]
    assert details["kind"] == "internal"
    assert details["changes"] == {"description": {"old": "", "new": "asked us not to"}}


async def test_patch_an_internal_list_into_a_registry_and_back(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers)
    url = f"/v1/dnc/lists/{created['id']}"

    registry = (await client.patch(url, json={"kind": "registry"}, headers=headers)).json()
    assert (registry["kind"], registry["max_age_days"]) == ("registry", 31)
    assert registry["refreshed_at"] == created["refreshed_at"]  # a kind is no new copy
    _, details = (await _events(connection, created["id"]))[-1]
    assert details["changes"] == {
        "kind": {"old": "internal", "new": "registry"},
        "max_age_days": {"old": None, "new": 31},
    }
    assert details["kind"] == "registry"

    quarterly = (await client.patch(url, json={"max_age_days": 92}, headers=headers)).json()
    assert (quarterly["kind"], quarterly["max_age_days"]) == ("registry", 92)
    _, details = (await _events(connection, created["id"]))[-1]
    assert details["changes"] == {"max_age_days": {"old": 31, "new": 92}}

    default = (await client.patch(url, json={"max_age_days": None}, headers=headers)).json()
    assert default["max_age_days"] == 31  # null puts the default back

    litigator = (await client.patch(url, json={"kind": "litigator"}, headers=headers)).json()
    assert (litigator["kind"], litigator["max_age_days"], litigator["stale_at"]) == (
        "litigator",
        None,
        None,
    )
    _, details = (await _events(connection, created["id"]))[-1]
    assert details["changes"] == {
        "kind": {"old": "registry", "new": "litigator"},
        "max_age_days": {"old": 31, "new": None},
    }
    types = [t for t, _ in await _events(connection, created["id"])]
    assert types == ["dnc_list.created", *["dnc_list.updated"] * 4]


async def test_patch_kind_and_age_together(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers, kind="litigator")
    body = {"kind": "registry", "max_age_days": 92, "description": "Texas"}
    patched = (
        await client.patch(f"/v1/dnc/lists/{created['id']}", json=body, headers=headers)
    ).json()
    assert (patched["kind"], patched["max_age_days"], patched["description"]) == (
        "registry",
        92,
        "Texas",
    )


async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers, kind="registry")
    url = f"/v1/dnc/lists/{created['id']}"
    for body in ({}, {"kind": "registry"}, {"max_age_days": 31}, {"description": ""}):
        response = await client.patch(url, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == created
    assert [t for t, _ in await _events(connection, created["id"])] == ["dnc_list.created"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "state"},
        {"kind": None},
        {"description": None},
        {"description": "x" * 2001},
        {"max_age_days": 31},  # on an internal list
        {"kind": "litigator", "max_age_days": 31},
        {"kind": "registry", "max_age_days": 0},
        {"kind": "registry", "max_age_days": -1},
        {"kind": "registry", "max_age_days": 3661},
        {"name": "renamed"},
        {"refreshed_at": "2030-01-01T00:00:00Z"},
        {"description": "nul \u0000 byte"},
    ],
)
async def test_bad_patches_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    body: dict[str, object],
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers)
    response = await client.patch(f"/v1/dnc/lists/{created['id']}", json=body, headers=headers)
    assert_envelope(response, 400, "validation_failed")
    assert (await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers)).json() == created
    assert [t for t, _ in await _events(connection, created["id"])] == ["dnc_list.created"]


async def test_patch_of_a_list_not_yours_is_404_and_a_global_list_needs_admin(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    mine = await _create(client, a)
    assert_envelope(
        await client.patch(f"/v1/dnc/lists/{mine['id']}", json={"kind": "registry"}, headers=b),
        404,
        "not_found",
    )
    assert_envelope(
        await client.patch("/v1/dnc/lists/lst_nope", json={}, headers=a), 404, "not_found"
    )
    ftc = await _create(client, admin, name="FTC", scope="global", kind="registry")
    url = f"/v1/dnc/lists/{ftc['id']}"
    assert_envelope(
        await client.patch(url, json={"max_age_days": 40}, headers=a), 403, "scope_required"
    )
    patched = await client.patch(url, json={"max_age_days": 40}, headers=admin)
    assert patched.status_code == 200
    assert patched.json()["max_age_days"] == 40
    _, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
    assert_envelope(
        await client.patch(f"/v1/dnc/lists/{mine['id']}", json={}, headers=reader),
        403,
        "scope_required",
    )
    _, details = (await _events(connection, ftc["id"]))[-1]
    assert details["changes"] == {"max_age_days": {"old": 31, "new": 40}}


async def test_a_registry_list_is_stale_past_its_maximum_age(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await _create(client, headers, kind="registry")
    url = f"/v1/dnc/lists/{created['id']}"

    at = await age_list(connection, created["id"], timedelta(days=31) - timedelta(minutes=1))
    got = (await client.get(url, headers=headers)).json()
    assert got["stale"] is False
    assert _at(got["refreshed_at"]) == at
    assert _at(got["stale_at"]) == at + timedelta(days=31)

    at = await age_list(connection, created["id"], timedelta(days=31, minutes=1))
    got = (await client.get(url, headers=headers)).json()
    assert got["stale"] is True
    assert _at(got["stale_at"]) == at + timedelta(days=31)
    listed = (await client.get("/v1/dnc/lists", headers=headers)).json()["data"]
    assert [(x["id"], x["stale"]) for x in listed] == [(created["id"], True)]

    # a longer maximum age makes the same copy fresh again (audited like any change)
    fresh = (await client.patch(url, json={"max_age_days": 92}, headers=headers)).json()
    assert fresh["stale"] is False
    # and a list stops being stale when it stops being a registry
    await set_refreshed_at(connection, created["id"], datetime.fromisoformat("2020-01-01T00:00Z"))
    assert (await client.get(url, headers=headers)).json()["stale"] is True
    internal = (await client.patch(url, json={"kind": "internal"}, headers=headers)).json()
    assert (internal["stale"], internal["max_age_days"]) == (False, None)


async def test_kind_in_lookups_and_in_deleted_events(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    registry = await _create(client, headers, name="state", kind="registry", max_age_days=92)
    litigator = await _create(client, headers, name="plaintiffs", kind="litigator")
    for made in (registry, litigator):
        put = await client.put(f"/v1/dnc/lists/{made['id']}/numbers/{PHONE}", headers=headers)
        assert put.status_code == 201
    lookup = (await client.get(f"/v1/dnc/numbers/{PHONE}", headers=headers)).json()
    assert {(m["list_id"], m["kind"]) for m in lookup["lists"]} == {
        (registry["id"], "registry"),
        (litigator["id"], "litigator"),
    }
    history = await client.get(f"/v1/numbers/{PHONE}/history", headers=headers)
    assert history.status_code == 200, history.text
    kinds = {h["list_id"]: h["kind"] for h in history.json()["now"]["lists"]}
    assert kinds == {registry["id"]: "registry", litigator["id"]: "litigator"}
    assert (await client.delete(f"/v1/dnc/lists/{registry['id']}", headers=headers)).status_code
    event_type, details = (await _events(connection, registry["id"]))[-1]
    assert (event_type, details["kind"]) == ("dnc_list.deleted", "registry")
