"""Frequency caps in the calling policy (PUT/GET, validation), the accessor the check reads
(`tenant_caps` over the snapshot), and the laws' caps on the rules view (`caps_of`)."""

from typing import Any

import httpx
from fastapi import FastAPI

from app.callingrules.dependencies import caps_of
from app.callingrules.service import tenant_caps
from app.reference.snapshot import build_snapshot
from app.rules.caps import FrequencyCap
from app.rules.data import load_frequency_caps
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

CAP = FrequencyCap(id="policy", max_calls=7, within_hours=168, per="number")


def test_tenant_caps_returns_the_tenants_caps_and_quiet_hours() -> None:
    snapshot = build_snapshot({}, {"caps": {"ten_a": ((CAP,), 168), "ten_b": ((), None)}})
    assert tenant_caps(snapshot, "ten_a") == ((CAP,), 168)
    assert tenant_caps(snapshot, "ten_b") == ((), None)


def test_tenant_caps_without_a_tenant_or_a_policy_is_empty() -> None:
    snapshot = build_snapshot({}, {"caps": {"ten_a": ((CAP,), 168)}})
    assert tenant_caps(snapshot, None) == ((), None)
    assert tenant_caps(snapshot, "ten_other") == ((), None)
    assert tenant_caps(build_snapshot({}, {}), "ten_a") == ((), None)
    assert tenant_caps(build_snapshot({}, {"caps": ["ten_a"]}), "ten_a") == ((), None)


WEEK = {
    "mon": ["09:00", "17:00"],
    "tue": ["09:00", "17:00"],
    "wed": ["09:00", "17:00"],
    "thu": ["09:00", "17:00"],
    "fri": ["09:00", "17:00"],
    "sat": None,
    "sun": None,
}
REG_F = [{"max_calls": 7, "within_hours": 168, "per": "number"}]


async def test_policy_caps_default_to_none(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    put = await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["frequency_caps"] == []
    assert put.json()["after_conversation_hours"] is None
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert tenant_caps(snapshot, tenant_id) == ((), None)


async def test_policy_caps_round_trip_and_reach_the_snapshot(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    other_id, _ = await tenant_with_key(client, admin, scopes=["policy:write"])
    caps = [*REG_F, {"max_calls": 2, "within_hours": 24, "per": "number_and_purpose"}]
    body = {"windows": WEEK, "frequency_caps": caps, "after_conversation_hours": 168}
    put = await client.put("/v1/calling-policy", json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["frequency_caps"] == caps
    assert put.json()["after_conversation_hours"] == 168
    got = (await client.get("/v1/calling-policy", headers=headers)).json()
    assert got == put.json()
    rules = (await client.get("/v1/calling-rules", headers=headers)).json()
    assert rules["policy"]["frequency_caps"] == caps

    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert tenant_caps(snapshot, tenant_id) == (
        (
            FrequencyCap("policy", 7, 168, "number"),
            FrequencyCap("policy", 2, 24, "number_and_purpose"),
        ),
        168,
    )
    assert tenant_caps(snapshot, other_id) == ((), None)

    # `per` defaults to the number; a PUT without caps removes them
    put = await client.put(
        "/v1/calling-policy",
        json={"windows": WEEK, "frequency_caps": [{"max_calls": 3, "within_hours": 24}]},
        headers=headers,
    )
    assert put.json()["frequency_caps"] == [{"max_calls": 3, "within_hours": 24, "per": "number"}]
    assert put.json()["after_conversation_hours"] is None
    again = await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=headers)
    assert again.json()["frequency_caps"] == []
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert tenant_caps(snapshot, tenant_id) == ((), None)


async def test_invalid_policy_caps_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    first = {"windows": WEEK, "frequency_caps": REG_F, "after_conversation_hours": 24}
    stored = (await client.put("/v1/calling-policy", json=first, headers=headers)).json()
    cap = REG_F[0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"frequency_caps": [{**cap, "max_calls": 0}]}, "frequency_caps[0].max_calls"),
        ({"frequency_caps": [{**cap, "max_calls": 1001}]}, "frequency_caps[0].max_calls"),
        ({"frequency_caps": [{**cap, "within_hours": 0}]}, "frequency_caps[0].within_hours"),
        ({"frequency_caps": [{**cap, "within_hours": 8761}]}, "frequency_caps[0].within_hours"),
        ({"frequency_caps": [{**cap, "per": "person"}]}, "frequency_caps[0].per"),
        ({"frequency_caps": [{"within_hours": 24}]}, "frequency_caps[0].max_calls"),
        ({"frequency_caps": [{**cap, "id": "US-FL"}]}, "frequency_caps[0].id"),
        ({"frequency_caps": [cap] * 21}, "frequency_caps"),
        ({"frequency_caps": cap}, "frequency_caps"),
        ({"after_conversation_hours": 0}, "after_conversation_hours"),
        ({"after_conversation_hours": 8761}, "after_conversation_hours"),
        ({"after_conversation_hours": "a week"}, "after_conversation_hours"),
    ]
    for change, field in cases:
        answer = await client.put(
            "/v1/calling-policy", json={"windows": WEEK, **change}, headers=headers
        )
        error = assert_envelope(answer, 400, "validation_failed")
        assert [f["field"] for f in error["details"]["fields"]] == [field], (change, error)
    assert (await client.get("/v1/calling-policy", headers=headers)).json() == stored
    # the bounds themselves are accepted
    edge = {
        "windows": WEEK,
        "frequency_caps": [{"max_calls": 1, "within_hours": 8760}] * 19
        + [{"max_calls": 1000, "within_hours": 1}],
        "after_conversation_hours": 8760,
    }
    assert (await client.put("/v1/calling-policy", json=edge, headers=headers)).status_code == 200


async def test_the_rules_view_shows_the_laws_caps_with_their_sources(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    _, headers = await tenant_with_key(client, admin, scopes=["checks:write"])
    rules = (await client.get("/v1/calling-rules", headers=headers)).json()
    caps = {cap["id"]: cap for cap in rules["frequency_caps"]}
    assert set(caps) == {"US-FL", "US-MD", "US-OK", "US-OR"}
    assert caps["US-FL"] == {
        "id": "US-FL",
        "max_calls": 3,
        "within_hours": 24,
        "per": "number_and_purpose",
        "since": "2021-07-01",
        "source": caps["US-FL"]["source"],
        "confidence": "confirmed",
    }
    assert caps["US-FL"]["source"].startswith("Fla. Stat. 501.616")
    assert caps["US-OR"]["since"] == "2026-01-01"
    # the same caps the process loaded once at start, through the one accessor
    assert caps_of(app) == load_frequency_caps()
    assert [c["id"] for c in rules["frequency_caps"]] == sorted(caps_of(app))
