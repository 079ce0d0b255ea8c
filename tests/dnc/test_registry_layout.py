"""A compact list (a global registry list) has its entries keyed by its negated seq and left out
of the list-order index (issue 22, storage): through the HTTP API they read, page, match and
merge as any list's; the layout is fixed when the list is made."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.dnc.api import paged_numbers
from tests.dnc.api import upload as upload_to
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


async def _reads_right(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    tenant: dict[str, str],
    list_id: str,
    kind: str,
) -> None:
    """Paged in number order, one entry by its URL, the cross-list lookup and the tenant's
    check."""
    assert await paged_numbers(client, headers, list_id) == sorted(PHONES)
    one = (await client.get(f"/v1/dnc/lists/{list_id}/numbers/{PHONES[0]}", headers=headers)).json()
    assert one["reason"] == "asked"
    lookup = (await client.get(f"/v1/dnc/numbers/{PHONES[1]}", headers=tenant)).json()
    assert [(m["list_id"], m["kind"]) for m in lookup["lists"]] == [(list_id, kind)]
    check = await client.post(
        "/v1/checks", json={"to": PHONES[2], "at": MONDAY_1030_PT}, headers=tenant
    )
    details = assert_envelope(check, 422, "dnc_blocked")["details"]
    assert list_id in str(details)


@pytest.mark.parametrize(
    ("scope", "kind", "compact"),
    [("global", "registry", True), ("tenant", "registry", False), ("global", "internal", False)],
)
async def test_a_list_s_layout_is_fixed_when_it_is_made(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    scope: str,
    kind: str,
    compact: bool,
) -> None:
    """Only a global registry list is compact; its entries read, page and match as any list's,
    before and after a change of kind, which moves no entry."""
    _, tenant = await tenant_with_key(client, admin)
    headers = admin if scope == "global" else tenant
    empty = await client.post(
        "/v1/dnc/lists", json={"name": "layout", "kind": kind, "scope": scope}, headers=headers
    )
    assert empty.status_code == 201, empty.text
    list_id = empty.json()["id"]
    page = await client.get(f"/v1/dnc/lists/{list_id}/numbers", headers=headers)
    assert page.json() == {"data": [], "next_cursor": None}
    # another list holds some of the same numbers: pages never mix lists
    other = (await client.post("/v1/dnc/lists", json={"name": "other"}, headers=tenant)).json()
    for phone in PHONES:
        body = {"reason": "asked"} if phone == PHONES[0] else {}
        put = await client.put(
            f"/v1/dnc/lists/{list_id}/numbers/{phone}", json=body, headers=headers
        )
        assert put.status_code == 201, put.text
    await client.put(f"/v1/dnc/lists/{other['id']}/numbers/+17185552671", headers=tenant)
    await client.put(f"/v1/dnc/lists/{other['id']}/numbers/{PHONES[3]}", headers=tenant)
    seq, keys = await _keys(connection, list_id)
    expected = {-seq if compact else seq}
    assert keys == expected

    changed = "internal" if kind == "registry" else "registry"
    for now in (kind, changed):
        if now != kind:
            patched = await client.patch(
                f"/v1/dnc/lists/{list_id}", json={"kind": now}, headers=headers
            )
            assert patched.status_code == 200, patched.text
        assert (await _keys(connection, list_id))[1] == expected  # no entry moved
        await _reads_right(client, headers, tenant, list_id, now)
        assert await paged_numbers(client, tenant, other["id"]) == ["+12015552671", "+17185552671"]
        removed = await client.delete(
            f"/v1/dnc/lists/{list_id}/numbers/{PHONES[3]}", headers=headers
        )
        assert removed.status_code == 204
        again = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONES[3]}", headers=headers)
        assert again.status_code == 201
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert got["entry_count"] == len(PHONES)


async def test_a_list_s_layout_cannot_be_changed_behind_its_entries(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """Were `compact` changed by hand, the entries would no longer match their list (checks
    would miss them): the database refuses it."""
    made = await client.post(
        "/v1/dnc/lists",
        json={"name": "fixed", "kind": "registry", "scope": "global"},
        headers=admin,
    )
    with pytest.raises(DBAPIError, match="fixed when it is made"):
        async with connection.begin_nested():
            await connection.execute(
                text("UPDATE dnc_lists SET compact = false WHERE id = :id"),
                {"id": made.json()["id"]},
            )


async def test_uploads_merge_into_a_compact_list(workers: Workers) -> None:
    """Append into an empty compact list, append with overlaps, replace, remove: the merges
    read a compact list's numbers through the primary key; a list's count that is behind its
    entries (never so today: every change keeps it) still merges, by ON CONFLICT."""
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, tenant = await tenant_with_key(client, admin)
        created = await client.post(
            "/v1/dnc/lists",
            json={"name": "registry copy", "kind": "registry", "scope": "global"},
            headers=admin,
        )
        list_id = created.json()["id"]
        neighbour = (
            await client.post("/v1/dnc/lists", json={"name": "neighbour"}, headers=tenant)
        ).json()["id"]

        async def upload(
            body: bytes, mode: str, to: str = list_id, headers: dict[str, str] = admin
        ) -> dict[str, object]:
            done = await upload_to(app, client, headers, to, body, f"?mode={mode}&force=true")
            assert done["status"] == "succeeded", done
            return done

        await upload(b"4155552671\n3055552671\n", "append", neighbour, tenant)
        first = await upload(b"4155552671\n2125552671\n", "append")
        assert (first["rows_added"], first["rows_removed"]) == (2, 0)
        more = await upload(b"2125552671\n2015552671\n", "append")
        assert (more["rows_added"], more["rows_removed"]) == (1, 0)
        replaced = await upload(b"2015552671\n3055552671\n", "replace")
        assert (replaced["rows_added"], replaced["rows_removed"]) == (1, 2)
        assert await paged_numbers(client, admin, list_id) == ["+12015552671", "+13055552671"]
        removed = await upload(b"3055552671\n2015552671\n", "remove")
        assert removed["rows_removed"] == 2
        assert await paged_numbers(client, admin, list_id) == []
        # an entry the count does not know of (the count says 0)
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO dnc_entries (number, list_key) "
                    "SELECT 7185552671, entry_key FROM dnc_lists WHERE id = :id"
                ),
                {"id": list_id},
            )
        behind = await upload(b"7185552671\n9175552671\n", "append")
        assert (behind["rows_added"], behind["rows_removed"]) == (1, 0)
        assert await paged_numbers(client, admin, list_id) == ["+17185552671", "+19175552671"]
        # the neighbour's numbers were never touched
        assert await paged_numbers(client, tenant, neighbour) == ["+13055552671", "+14155552671"]
