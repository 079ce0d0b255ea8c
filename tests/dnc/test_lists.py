"""DNC lists, single entries and the cross-list lookup over HTTP."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.dnc.api import paged_numbers
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

PHONE = "+14155552671"


async def make_list(
    client: httpx.AsyncClient, headers: dict[str, str], **body: str
) -> dict[str, object]:
    response = await client.post(
        "/v1/dnc/lists", json={"name": "internal", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_create_get_list_and_delete_a_tenant_list(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    created = await make_list(client, headers, description="do not call")
    assert str(created["id"]).startswith("lst_")
    assert (created["scope"], created["tenant_id"], created["entry_count"]) == (
        "tenant",
        tenant_id,
        0,
    )
    assert (await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers)).json() == created
    listed = (await client.get("/v1/dnc/lists", headers=headers)).json()["data"]
    assert created in listed
    assert (
        await client.delete(f"/v1/dnc/lists/{created['id']}", headers=headers)
    ).status_code == 204
    assert_envelope(
        await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers), 404, "not_found"
    )
    kinds = (
        (
            await connection.execute(
                text("SELECT type FROM change_events WHERE target = :id"), {"id": created["id"]}
            )
        )
        .scalars()
        .all()
    )
    assert sorted(kinds) == ["dnc_list.created", "dnc_list.deleted"]


async def test_names_are_unique_per_tenant_among_live_lists(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    first = await make_list(client, a, name="same")
    assert_envelope(
        await client.post("/v1/dnc/lists", json={"name": "same"}, headers=a), 409, "conflict"
    )
    await make_list(client, b, name="same")  # another tenant may use the name
    await client.delete(f"/v1/dnc/lists/{first['id']}", headers=a)
    await make_list(client, a, name="same")  # and so may a new list once the old one is deleted


async def test_global_lists_need_admin_to_change_but_everyone_reads_them(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    body = assert_envelope(
        await client.post(
            "/v1/dnc/lists", json={"name": "federal", "scope": "global"}, headers=headers
        ),
        403,
        "scope_required",
    )
    assert body["details"] == {"required_scope": "admin"}
    federal = await make_list(client, admin, name="federal", scope="global")
    assert federal["tenant_id"] is None
    assert federal in (await client.get("/v1/dnc/lists", headers=headers)).json()["data"]
    assert_envelope(
        await client.put(f"/v1/dnc/lists/{federal['id']}/numbers/{PHONE}", headers=headers),
        403,
        "scope_required",
    )
    assert_envelope(
        await client.delete(f"/v1/dnc/lists/{federal['id']}", headers=headers),
        403,
        "scope_required",
    )


async def test_number_add_update_get_remove(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    lst = await make_list(client, headers)
    url = f"/v1/dnc/lists/{lst['id']}/numbers/{PHONE}"
    added = await client.put(url, json={"reason": "asked by phone"}, headers=headers)
    assert added.status_code == 201
    assert added.json()["phone"] == PHONE
    assert added.json()["reason"] == "asked by phone"
    again = await client.put(
        url, json={"reason": "asked twice", "expires_at": "2030-01-01T00:00:00Z"}, headers=headers
    )
    assert again.status_code == 200
    assert again.json()["expires_at"] == "2030-01-01T00:00:00Z"
    assert (await client.get(url, headers=headers)).json() == again.json()
    count = (await client.get(f"/v1/dnc/lists/{lst['id']}", headers=headers)).json()["entry_count"]
    assert count == 1
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert_envelope(await client.delete(url, headers=headers), 404, "not_found")
    assert_envelope(await client.get(url, headers=headers), 404, "not_found")
    assert (await client.get(f"/v1/dnc/lists/{lst['id']}", headers=headers)).json()[
        "entry_count"
    ] == 0


async def test_put_without_body_adds_the_number(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    lst = await make_list(client, headers)
    response = await client.put(f"/v1/dnc/lists/{lst['id']}/numbers/{PHONE}", headers=headers)
    assert response.status_code == 201
    assert response.json()["reason"] is None


async def test_invalid_numbers_are_invalid_phone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    lst = await make_list(client, headers)
    for phone, reason in (
        ("4155552671", "not_e164"),
        ("+442071234567", "not_nanp"),
        ("+14155550123", "fictional"),
        ("+19995552671", "invalid_area_code"),
    ):
        body = assert_envelope(
            await client.put(f"/v1/dnc/lists/{lst['id']}/numbers/{phone}", headers=headers),
            400,
            "invalid_phone",
        )
        assert body["details"] == {"reason": reason, "value": phone}


async def test_numbers_page_in_number_order(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    lst = await make_list(client, headers)
    phones = ["+12125552671", "+14155552671", "+13055552671", "+12015552671"]
    for phone in phones:
        await client.put(f"/v1/dnc/lists/{lst['id']}/numbers/{phone}", headers=headers)
    assert await paged_numbers(client, headers, str(lst["id"])) == sorted(phones)


async def test_lookup_finds_every_visible_list(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    federal = await make_list(client, admin, name="federal", scope="global")
    own = await make_list(client, a, name="own")
    other = await make_list(client, b, name="theirs")
    for lst, headers in ((federal, admin), (own, a), (other, b)):
        await client.put(f"/v1/dnc/lists/{lst['id']}/numbers/{PHONE}", headers=headers)
    seen = (await client.get(f"/v1/dnc/numbers/{PHONE}", headers=a)).json()
    assert seen["listed"] is True
    assert [m["list_id"] for m in seen["lists"]] == [own["id"], federal["id"]]  # tenant lists first
    other_id = other["id"]
    assert isinstance(other_id, str)
    assert other_id not in str(seen)
    nowhere = (await client.get("/v1/dnc/numbers/+12125550000", headers=a)).json()
    assert nowhere == {"phone": "+12125550000", "listed": False, "lists": []}
    # an expired entry no longer matches
    await connection.execute(
        text("UPDATE dnc_entries SET expires_at = now() - interval '1 second'")
    )
    assert (await client.get(f"/v1/dnc/numbers/{PHONE}", headers=a)).json()["listed"] is False
