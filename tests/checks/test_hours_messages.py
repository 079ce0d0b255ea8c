"""What a new user tripped on in calling hours: a toll-free number with a recipient_state, and a
message that names the zone that failed."""

from __future__ import annotations

import httpx

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def _nine_to_seven(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    windows = {day: ["09:00", "19:00"] for day in DAYS}
    put = await client.put("/v1/calling-policy", json={"windows": windows}, headers=headers)
    assert put.status_code == 200, put.text


async def test_a_toll_free_number_takes_the_recipient_states_zones(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _nine_to_seven(client, headers)
    body = {"to": "+18002758777", "at": "2026-12-08T22:30:00Z", "recipient_state": "NY"}
    ok = await client.post("/v1/checks", json=body, headers=headers)
    assert ok.status_code == 200, ok.text  # 17:30 in New York
    assert [z["time_zone"] for z in ok.json()["zones"]] == ["America/New_York"]
    # 08:00 in New York: not yet, and the answer says when (not null, as with every zone)
    early = {**body, "at": "2026-12-08T13:00:00Z"}
    blocked = assert_envelope(
        await client.post("/v1/checks", json=early, headers=headers), 422, "call_hours_violation"
    )
    assert blocked["details"]["next_allowed_at"] == "2026-12-08T14:00:00Z"


async def test_a_toll_free_number_without_a_state_says_every_zone_applies(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _nine_to_seven(client, headers)
    body = {"to": "+18002758777", "at": "2026-12-08T22:30:00Z"}
    answer = assert_envelope(
        await client.post("/v1/checks", json=body, headers=headers), 422, "call_hours_violation"
    )
    assert "pass recipient_state to narrow it" in answer["message"]
    assert "recipient_state" in answer["details"]["note"]
    assert len(answer["details"]["zones"]) > 4


async def test_the_message_names_the_zone_that_failed_and_its_local_time(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    # 08:30 in Anchorage is 07:30 on Adak, which 907 also covers
    body = {"to": "+19075552671", "at": "2026-12-08T17:30:00Z"}
    answer = assert_envelope(
        await client.post("/v1/checks", json=body, headers=headers), 422, "call_hours_violation"
    )
    assert answer["details"]["failed_zone"] == "America/Adak"
    assert "America/Adak (07:30 there;" in answer["message"]
