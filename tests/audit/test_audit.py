"""The audit trail through the HTTP API: records, CSV export, chain verification, events."""

from __future__ import annotations

import csv
import io
import json

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

PHONE = "+14155552671"
INSIDE = "2026-11-23T18:30:00Z"
OUTSIDE = "2026-11-23T12:00:00Z"


async def _checks(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    """Five decisions: allowed, blocked (hours), invalid, and a batch of two."""
    ids = []
    for body in (
        {"to": PHONE, "at": INSIDE},
        {"to": PHONE, "at": OUTSIDE},
        {"to": "+1415"},
    ):
        response = await client.post("/v1/checks", json=body, headers=headers)
        answer = response.json()
        ids.append(answer.get("check_id") or answer["details"]["check_id"])
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": "+12125552671"}, {"to": "bad"}], "at": INSIDE},
        headers=headers,
    )
    ids += [item["check_id"] for item in batch.json()["results"]]
    return ids


def newest_first(rows: list[dict[str, str]], ids: list[str]) -> None:
    """The batch's two items (decided together, in id order), then the singles, newest first."""
    got = [row["check_id"] for row in rows]
    assert sorted(got[:2]) == sorted(ids[3:])
    assert got[2:] == [ids[2], ids[1], ids[0]]


async def test_records_newest_first_with_filters_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    ids = await _checks(client, headers)
    page = (await client.get("/v1/audit/checks", headers=headers)).json()
    newest_first(page["data"], ids)
    first = page["data"][-1]
    assert first["tenant_id"] == tenant_id
    assert first["api_key_id"].startswith("key_")
    assert first["request_id"]
    assert (first["phone"], first["outcome"], first["error"]) == (PHONE, "allowed", None)
    assert first["at"] == INSIDE
    assert first["details"]["jurisdictions"] == ["US", "US-CA"]

    def query(q: str) -> list[str]:
        return [r["check_id"] for r in pages[q]]

    pages = {}
    for q in (
        "outcome=invalid",
        "error=call_hours_violation",
        "phone=%2B14155552671",
        f"api_key_id={first['api_key_id']}",
    ):
        response = await client.get(f"/v1/audit/checks?{q}", headers=headers)
        assert response.status_code == 200, response.text
        pages[q] = response.json()["data"]
    assert set(query("outcome=invalid")) == {ids[2], ids[4]}
    assert query("error=call_hours_violation") == [ids[1]]
    assert set(query("phone=%2B14155552671")) == {ids[0], ids[1]}
    assert len(query(f"api_key_id={first['api_key_id']}")) == 5

    seen, cursor = [], None
    while True:
        url = "/v1/audit/checks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(url, headers=headers)).json()
        seen += [r["check_id"] for r in body["data"]]
        if not (cursor := body["next_cursor"]):
            break
    assert sorted(seen) == sorted(ids)
    assert seen[2:] == [ids[2], ids[1], ids[0]]
    later = await client.get("/v1/audit/checks?since=2199-01-01T00:00:00Z", headers=headers)
    assert later.json()["data"] == []
    until = await client.get("/v1/audit/checks?until=2000-01-01T00:00:00Z", headers=headers)
    assert until.json()["data"] == []

    one = await client.get(f"/v1/audit/checks/{ids[1]}", headers=headers)
    assert one.json()["outcome"] == "blocked"
    assert one.json()["details"]["violations"] == ["call_hours_violation"]


async def test_tenants_see_only_their_own_records(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    ids = await _checks(client, a)
    assert (await client.get("/v1/audit/checks", headers=b)).json()["data"] == []
    assert_envelope(await client.get(f"/v1/audit/checks/{ids[0]}", headers=b), 404, "not_found")
    assert_envelope(
        await client.get(f"/v1/audit/checks?tenant_id={tenant_a}", headers=b), 404, "not_found"
    )
    assert (await client.get("/v1/audit/verify", headers=b)).json()["records"] == 0
    mine = await client.get(f"/v1/audit/checks?tenant_id={tenant_a}", headers=admin)
    assert len(mine.json()["data"]) == 5
    everyone = await client.get("/v1/audit/checks?limit=1000", headers=admin)
    assert {r["check_id"] for r in everyone.json()["data"]} >= set(ids)
    _, checker = await tenant_with_key(client, admin, scopes=["checks:write"])
    assert_envelope(await client.get("/v1/audit/checks", headers=checker), 403, "scope_required")


async def test_csv_export_streams_every_matching_row(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    ids = await _checks(client, headers)
    response = await client.get(
        "/v1/audit/checks?limit=1", headers={**headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    newest_first(rows, ids)  # every row, not one page
    assert rows[-1]["outcome"] == "allowed"
    assert rows[-1]["decided_at"].endswith("Z")
    assert json.loads(rows[-1]["details"])["jurisdictions"] == ["US", "US-CA"]
    invalid = await client.get(
        "/v1/audit/checks?outcome=invalid", headers={**headers, "Accept": "text/csv"}
    )
    assert len(list(csv.DictReader(io.StringIO(invalid.text)))) == 2


async def test_verify_passes_and_finds_a_tampered_record(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    ids = await _checks(client, headers)
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert verdict["ok"] is True
    assert verdict["records"] == 5
    assert verdict["first_bad"] is None
    assert len(verdict["head"]) == 64

    # the trigger refuses UPDATE; a superuser who switches triggers off is caught by the chain
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text("UPDATE check_records SET outcome = 'allowed', error = NULL WHERE id = :id"),
        {"id": ids[1]},
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))
    tampered = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert tampered["ok"] is False
    assert tampered["first_bad"] == ids[1]
    assert tampered["records"] == 5


async def test_events_show_every_change_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    await create_key(client, headers, scopes=["checks:write"])
    created = await client.post("/v1/dnc/lists", json={"name": "events"}, headers=headers)
    list_id = created.json()["id"]
    await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", headers=headers)
    await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
    await client.delete(f"/v1/opt-outs/{PHONE}", headers=headers)
    events = (await client.get("/v1/audit/events", headers=headers)).json()["data"]
    types = [e["type"] for e in events]
    mine = [t for t in types if not t.startswith(("tenant.", "area_code", "calling_"))]
    assert mine[:5] == [
        "optout.opted_in",
        "optout.opted_out",
        "dnc_number.added",
        "dnc_list.created",
        "key.created",
    ]
    assert all(e["id"].startswith("evt_") and e["at"].endswith("Z") for e in events)
    only = await client.get("/v1/audit/events?type=optout.opted_out", headers=headers)
    [event] = only.json()["data"]
    assert (event["target"], event["details"]["channel"]) == (PHONE, "all")

    _, other = await tenant_with_key(client, admin)
    theirs = (await client.get("/v1/audit/events", headers=other)).json()["data"]
    assert list_id not in json.dumps(theirs)
    as_admin = await client.get(f"/v1/audit/events?tenant_id={tenant_id}", headers=admin)
    assert "dnc_list.created" in [e["type"] for e in as_admin.json()["data"]]
