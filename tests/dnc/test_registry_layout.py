"""A registry list's entries are keyed by its negated seq and left out of the list-order index
(issue 22, storage): through the HTTP API they read, page, match and merge as any list's, and a
change of kind into or out of `registry` carries them along."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

MONDAY_1030_PT = "2026-11-23T18:30:00Z"  # inside calling hours everywhere below
PHONES = ["+14155552671", "+12125552671", "+13055552671", "+12015552671"]


async def _keys(connection: AsyncConnection, list_id: str) -> tuple[int, set[int]]:
    """The list's seq and the keys its entries carry."""
    seq = await connection.scalar(text("SELECT seq FROM dnc_lists WHERE id = :id"), {"id": list_id})
    keys = await connection.execute(
        text(
            "SELECT DISTINCT e.list_key FROM dnc_entries e "
            "WHERE e.list_key IN (SELECT seq FROM dnc_lists WHERE id = :id "
            "UNION SELECT -seq FROM dnc_lists WHERE id = :id)"
        ),
        {"id": list_id},
    )
    return int(seq or 0), {int(row[0]) for row in keys}


async def _pages(client: httpx.AsyncClient, headers: dict[str, str], list_id: str) -> list[str]:
    seen: list[str] = []
    url = f"/v1/dnc/lists/{list_id}/numbers?limit=3"
    while url:
        page = (await client.get(url, headers=headers)).json()
        seen += [entry["phone"] for entry in page["data"]]
        cursor = page["next_cursor"]
        url = f"/v1/dnc/lists/{list_id}/numbers?limit=3&cursor={cursor}" if cursor else ""
    return seen


async def _reads_right(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: str, kind: str
) -> None:
    """Paged in number order, one entry by its URL, the cross-list lookup and a check."""
    assert await _pages(client, headers, list_id) == sorted(PHONES)
    one = (await client.get(f"/v1/dnc/lists/{list_id}/numbers/{PHONES[0]}", headers=headers)).json()
    assert one["reason"] == "asked"
    lookup = (await client.get(f"/v1/dnc/numbers/{PHONES[1]}", headers=headers)).json()
    assert [(m["list_id"], m["kind"]) for m in lookup["lists"]] == [(list_id, kind)]
    check = await client.post(
        "/v1/checks", json={"to": PHONES[2], "at": MONDAY_1030_PT}, headers=headers
    )
    assert_envelope(check, 422, "dnc_blocked")


@pytest.mark.parametrize("first", ["registry", "internal"])
async def test_entries_follow_their_list_through_changes_of_kind(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection, first: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    created = await client.post(
        "/v1/dnc/lists", json={"name": "layout", "kind": first}, headers=headers
    )
    assert created.status_code == 201, created.text
    list_id = created.json()["id"]
    # another list of the tenant holds some of the same numbers: pages never mix lists
    other = (await client.post("/v1/dnc/lists", json={"name": "other"}, headers=headers)).json()
    for phone in PHONES:
        body = {"reason": "asked"} if phone == PHONES[0] else {}
        put = await client.put(
            f"/v1/dnc/lists/{list_id}/numbers/{phone}", json=body, headers=headers
        )
        assert put.status_code == 201, put.text
    await client.put(f"/v1/dnc/lists/{other['id']}/numbers/{PHONES[3]}", headers=headers)
    await client.put(f"/v1/dnc/lists/{other['id']}/numbers/+17185552671", headers=headers)

    kinds = [first, "internal" if first == "registry" else "registry", first]
    for step, kind in enumerate(kinds):
        if step:
            patched = await client.patch(
                f"/v1/dnc/lists/{list_id}", json={"kind": kind}, headers=headers
            )
            assert patched.status_code == 200, patched.text
        seq, keys = await _keys(connection, list_id)
        assert keys == {-seq if kind == "registry" else seq}
        await _reads_right(client, headers, list_id, kind)
        assert await _pages(client, headers, other["id"]) == ["+12015552671", "+17185552671"]
        removed = await client.delete(
            f"/v1/dnc/lists/{list_id}/numbers/{PHONES[3]}", headers=headers
        )
        assert removed.status_code == 204
        again = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONES[3]}", headers=headers)
        assert again.status_code == 201
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert got["entry_count"] == len(PHONES)


async def test_uploads_merge_into_a_registry_list(workers: Workers) -> None:
    """Append into an empty registry list, append with overlaps, replace, remove: the merges
    read a registry list's numbers through the primary key."""
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        created = await client.post(
            "/v1/dnc/lists", json={"name": "registry copy", "kind": "registry"}, headers=headers
        )
        list_id = created.json()["id"]
        neighbour = (
            await client.post("/v1/dnc/lists", json={"name": "neighbour"}, headers=headers)
        ).json()["id"]

        async def upload(body: bytes, mode: str, to: str = list_id) -> dict[str, object]:
            response = await client.post(
                f"/v1/dnc/lists/{to}/uploads?mode={mode}&force=true",
                content=body,
                headers={**headers, "content-type": "text/csv"},
            )
            assert response.status_code == 202, response.text
            await app.state.uploads.wait()
            done = (
                await client.get(f"/v1/dnc/uploads/{response.json()['id']}", headers=headers)
            ).json()
            assert done["status"] == "succeeded", done
            return dict(done)

        await upload(b"4155552671\n3055552671\n", "append", neighbour)
        first = await upload(b"4155552671\n2125552671\n", "append")
        assert (first["rows_added"], first["rows_removed"]) == (2, 0)
        more = await upload(b"2125552671\n2015552671\n", "append")
        assert (more["rows_added"], more["rows_removed"]) == (1, 0)
        replaced = await upload(b"2015552671\n3055552671\n", "replace")
        assert (replaced["rows_added"], replaced["rows_removed"]) == (1, 2)
        assert await _pages(client, headers, list_id) == ["+12015552671", "+13055552671"]
        removed = await upload(b"3055552671\n", "remove")
        assert removed["rows_removed"] == 1
        assert await _pages(client, headers, list_id) == ["+12015552671"]
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert got["entry_count"] == 1
        # the neighbour's numbers were never touched
        assert await _pages(client, headers, neighbour) == ["+13055552671", "+14155552671"]
