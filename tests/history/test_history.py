"""GET /v1/numbers/{phone}/history: what holds a number now and its timeline (checks, DNC
changes, opt-outs and opt-ins), newest first, one cursor over every source."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

PHONE = "+14155552671"
MORNING = "2026-11-23T18:30:00Z"


async def _list(client: httpx.AsyncClient, headers: dict[str, str], name: str, **body: str) -> str:
    created = await client.post("/v1/dnc/lists", json={"name": name, **body}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _put(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: str, **body: str
) -> None:
    response = await client.put(
        f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", json=body, headers=headers
    )
    assert response.status_code in (200, 201), response.text


async def _bulk_loaded(connection: AsyncConnection, list_id: str) -> None:
    """The number on a list as an upload's merge puts it there: an entry, no change event."""
    await connection.execute(
        text(
            "INSERT INTO dnc_entries (number, list_key) "
            "SELECT :number, entry_key FROM dnc_lists WHERE id = :list_id"
        ),
        {"number": int(PHONE[2:]), "list_id": list_id},
    )


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], channel: str = "voice"
) -> dict[str, Any]:
    body = {"to": PHONE, "at": MORNING, "channel": channel}
    answer: dict[str, Any] = (await client.post("/v1/checks", json=body, headers=headers)).json()
    return answer


async def _history(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = ""
) -> dict[str, Any]:
    response = await client.get(f"/v1/numbers/{PHONE}/history{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class Story:
    """Tenant A's number: on a global list, on its own lists (one changed by hand, two by
    uploads, one expired), opted out of texts and back in, checked on both channels."""

    def __init__(self) -> None:
        self.lists: dict[str, str] = {}
        self.checks: list[dict[str, Any]] = []
        self.tenant_id = ""
        self.headers: dict[str, str] = {}


async def _story(
    connection: AsyncConnection, client: httpx.AsyncClient, admin: dict[str, str]
) -> Story:
    story = Story()
    story.tenant_id, story.headers = await tenant_with_key(client, admin)
    a = story.headers
    story.lists["federal"] = await _list(client, admin, "federal", scope="global")
    await _put(client, admin, story.lists["federal"], reason="registry")
    story.lists["internal"] = await _list(client, a, "internal")
    await _put(client, a, story.lists["internal"], reason="asked on the phone")
    removed = await client.delete(
        f"/v1/dnc/lists/{story.lists['internal']}/numbers/{PHONE}", headers=a
    )
    assert removed.status_code == 204
    await _put(client, a, story.lists["internal"], reason="asked again")
    story.lists["expired"] = await _list(client, a, "expired")
    await _put(client, a, story.lists["expired"], expires_at="2026-01-01T00:00:00Z")
    for name in ("bulk one", "bulk two"):
        story.lists[name] = await _list(client, a, name)
        await _bulk_loaded(connection, story.lists[name])
    opted = await client.post(
        "/v1/opt-outs",
        json={"phone": PHONE, "channel": "sms", "source": "sms_stop", "note": "STOP"},
        headers=a,
    )
    assert opted.status_code == 201, opted.text
    story.checks.append(await _check(client, a, "voice"))
    story.checks.append(await _check(client, a, "sms"))
    opted_in = await client.delete(f"/v1/opt-outs/{PHONE}?channel=sms", headers=a)
    assert opted_in.status_code == 200, opted_in.text
    return story


async def test_now_and_every_kind_of_item_with_their_fields(
    connection: AsyncConnection, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    story = await _story(connection, client, admin)
    history = await _history(client, story.headers)
    assert history["phone"] == PHONE
    assert history["next_cursor"] is None
    now = history["now"]
    assert now["opted_out"] == {"voice": False, "sms": False}
    assert (now["consents"], now["attempts_24h"]) == ([], 0)
    holding = {item["list_name"]: item for item in now["lists"]}
    assert set(holding) == {"federal", "internal", "bulk one", "bulk two"}  # not the expired
    assert [item["scope"] for item in now["lists"]][-1] == "global"  # tenant lists first
    for name, item in holding.items():
        assert item["list_id"] == story.lists[name]
        assert item["kind"] == "internal"
        assert item["listed_at"].endswith("Z")

    data = history["data"]
    positions = [item["at"] for item in data]
    assert positions == sorted(positions, reverse=True)
    assert all(set(item) == {"at", "type", "summary", "details"} for item in data)
    assert all(item["summary"] for item in data)
    kinds = [item["type"] for item in data]
    assert kinds[:4] == ["optin", "check", "check", "optout"]
    assert sorted(kinds[4:]) == ["dnc.added"] * 6 + ["dnc.removed"]

    optin, sms_check, voice_check, optout = data[:4]
    assert optin["details"]["channel"] == "sms"
    assert optin["summary"] == "Opted back in to texts."
    assert optout["summary"] == "Opted out of texts (source: sms_stop)."
    assert optout["details"]["note"] == "STOP"
    assert optout["details"]["event_id"].startswith("oo_")
    assert optout["details"]["recorded_at"].endswith("Z")
    assert optout["details"]["upload_id"] is None
    assert voice_check["details"]["check_id"] == story.checks[0]["details"]["check_id"]
    assert voice_check["details"]["at"] == MORNING
    assert (voice_check["details"]["outcome"], voice_check["details"]["error"]) == (
        "blocked",
        "dnc_blocked",
    )
    assert voice_check["details"]["channel"] == "voice"
    assert voice_check["details"]["api_key_id"].startswith("key_")
    assert voice_check["details"]["record"]["violations"] == ["dnc_blocked"]
    assert voice_check["summary"].startswith('Blocked a call: on the Do-Not-Call list "')
    assert sms_check["details"]["error"] == "opted_out"
    assert sms_check["summary"] == "Blocked a text: the recipient opted out."

    changes = [item for item in data if item["type"].startswith("dnc.")]
    by_list: dict[str, list[dict[str, Any]]] = {}
    for item in changes:
        by_list.setdefault(item["details"]["list_name"], []).append(item)
    internal = by_list["internal"]
    assert [item["type"] for item in internal] == ["dnc.added", "dnc.removed", "dnc.added"]
    assert internal[0]["details"]["reason"] == "asked again"
    assert internal[0]["details"]["event_id"].startswith("evt_")
    assert internal[0]["summary"] == 'Added to the DNC list "internal".'
    assert internal[1]["summary"] == 'Removed from the DNC list "internal".'
    assert [item["details"]["reason"] for item in by_list["federal"]] == ["registry"]
    assert len(by_list["expired"]) == 1
    # uploads record no change per number: their current entries stand for the addition
    for name in ("bulk one", "bulk two"):
        (listed,) = by_list[name]
        assert listed["details"]["event_id"] is None
        assert listed["at"] == holding[name]["listed_at"]
        assert listed["summary"] == f'Listed on the DNC list "{name}".'


async def test_pages_walk_the_whole_timeline_once(
    connection: AsyncConnection, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    story = await _story(connection, client, admin)
    whole = (await _history(client, story.headers))["data"]
    for limit in (1, 2, 3):
        walked: list[dict[str, Any]] = []
        query = f"?limit={limit}"
        while True:
            page = await _history(client, story.headers, query)
            assert len(page["data"]) <= limit
            walked += page["data"]
            if page["next_cursor"] is None:
                break
            query = f"?limit={limit}&cursor={page['next_cursor']}"
        assert walked == whole, limit


async def test_other_tenants_see_only_what_decides_their_own_checks(
    connection: AsyncConnection, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    story = await _story(connection, client, admin)
    tenant_b, b = await tenant_with_key(client, admin)
    seen_by_b = await _history(client, b)
    assert [item["list_name"] for item in seen_by_b["now"]["lists"]] == ["federal"]
    assert [(item["type"], item["details"]["list_name"]) for item in seen_by_b["data"]] == [
        ("dnc.added", "federal")
    ]
    assert seen_by_b["now"]["opted_out"] == {"voice": False, "sms": False}
    mine = await _history(client, story.headers)
    assert await _history(client, admin, f"?tenant_id={story.tenant_id}") == mine
    assert await _history(client, admin, f"?tenant_id={tenant_b}") == seen_by_b
    # a platform key naming no tenant: the platform's own checks (other tests may have left
    # some: records cannot be deleted), global lists only
    platform = await _history(client, admin)
    assert {item["scope"] for item in platform["now"]["lists"]} == {"global"}
    assert story.lists["federal"] in {item["list_id"] for item in platform["now"]["lists"]}
    changes = [item for item in platform["data"] if item["type"] != "check"]
    assert [(item["type"], item["details"]["list_name"]) for item in changes] == [
        ("dnc.added", "federal")
    ]
    theirs = {item["details"]["check_id"] for item in platform["data"] if item["type"] == "check"}
    assert not theirs & {check["details"]["check_id"] for check in story.checks}
    assert_envelope(
        await client.get(f"/v1/numbers/{PHONE}/history?tenant_id={story.tenant_id}", headers=b),
        404,
        "not_found",
    )


async def test_a_number_never_seen_has_an_empty_history(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    assert await _history(client, headers) == {
        "phone": PHONE,
        "now": {
            "lists": [],
            "opted_out": {"voice": False, "sms": False},
            "consents": [],
            "attempts_24h": 0,
        },
        "data": [],
        "next_cursor": None,
    }


async def test_invalid_numbers_and_missing_scopes_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    for phone in ("4155552671", "+15555550150", "+1415555"):
        response = await client.get(f"/v1/numbers/{phone}/history", headers=headers)
        assert_envelope(response, 400, "invalid_phone")
    _, dialer = await create_key(client, admin, tenant_id=tenant_id, scopes=["checks:write"])
    body = assert_envelope(
        await client.get(f"/v1/numbers/{PHONE}/history", headers=dialer), 403, "scope_required"
    )
    assert body["details"] == {"required_scope": "audit:read"}
    assert_envelope(
        await client.get(f"/v1/numbers/{PHONE}/history?cursor=junk", headers=headers),
        400,
        "validation_failed",
    )


async def test_an_invalid_check_of_the_number_is_in_its_history(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A check outside calling hours, then one on a number the area-code table refuses: the
    first is the number's, the second (another string) is not."""
    _, headers = await tenant_with_key(client, admin)
    night = (
        await client.post(
            "/v1/checks", json={"to": PHONE, "at": "2026-11-23T12:00:00Z"}, headers=headers
        )
    ).json()
    await client.post("/v1/checks", json={"to": "+1415555267"}, headers=headers)
    (item,) = (await _history(client, headers))["data"]
    assert item["details"]["check_id"] == night["details"]["check_id"]
    assert item["details"]["error"] == "call_hours_violation"
    assert item["summary"].startswith("Blocked a call: outside calling hours (")
