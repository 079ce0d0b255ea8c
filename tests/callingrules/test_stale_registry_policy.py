"""The tenant policy's on_stale_registry: PUT/GET, and the snapshot accessor the check reads."""

import httpx
from fastapi import FastAPI

from app.callingrules.service import allows_stale_registry
from app.reference.snapshot import Snapshot, build_snapshot
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key

WEEK = {
    "mon": ["09:00", "17:00"],
    "tue": ["09:00", "17:00"],
    "wed": ["09:00", "17:00"],
    "thu": ["09:00", "17:00"],
    "fri": ["09:00", "17:00"],
    "sat": None,
    "sun": None,
}


def _snapshot(allowed: object) -> Snapshot:
    return build_snapshot({}, {"allow_stale_registry": allowed})


def test_allows_stale_registry_only_for_a_tenant_whose_policy_says_allow() -> None:
    snapshot = _snapshot(frozenset({"ten_a"}))
    assert allows_stale_registry(snapshot, "ten_a") is True
    assert allows_stale_registry(snapshot, "ten_b") is False
    assert allows_stale_registry(snapshot, None) is False


def test_allows_stale_registry_is_false_without_the_set() -> None:
    assert allows_stale_registry(build_snapshot({}, {}), "ten_a") is False
    assert allows_stale_registry(_snapshot(["ten_a"]), "ten_a") is False  # not the loader's type


async def test_on_stale_registry_defaults_to_refuse(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    put = await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=headers)
    assert put.status_code == 200
    assert put.json()["on_stale_registry"] == "refuse"
    assert (await client.get("/v1/calling-policy", headers=headers)).json()[
        "on_stale_registry"
    ] == "refuse"
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert allows_stale_registry(snapshot, tenant_id) is False


async def test_on_stale_registry_allow_round_trip_and_reaches_the_snapshot(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    other_id, _ = await tenant_with_key(client, admin, scopes=["policy:write"])
    body = {"windows": WEEK, "on_stale_registry": "allow"}
    put = await client.put("/v1/calling-policy", json=body, headers=headers)
    assert put.status_code == 200
    assert put.json()["on_stale_registry"] == "allow"
    got = (await client.get("/v1/calling-policy", headers=headers)).json()
    assert got == put.json()
    rules = (await client.get("/v1/calling-rules", headers=headers)).json()
    assert rules["policy"]["on_stale_registry"] == "allow"
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert allows_stale_registry(snapshot, tenant_id) is True
    assert allows_stale_registry(snapshot, other_id) is False

    # a PUT without it replaces the policy: back to the default
    again = await client.put("/v1/calling-policy", json={"windows": WEEK}, headers=headers)
    assert again.json()["on_stale_registry"] == "refuse"
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    assert allows_stale_registry(snapshot, tenant_id) is False


async def test_unknown_on_stale_registry_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin, scopes=["policy:write"])
    for value in ("ignore", "", None, True, "ALLOW"):
        body = {"windows": WEEK, "on_stale_registry": value}
        assert_envelope(
            await client.put("/v1/calling-policy", json=body, headers=headers),
            400,
            "validation_failed",
        )
    assert_envelope(await client.get("/v1/calling-policy", headers=headers), 404, "not_found")
