"""The plain-ASGI hot path answers exactly as the FastAPI route does.

A query string sends a request to the FastAPI route (`?tenant_id=` naming the caller's own
tenant changes nothing else), so each body is answered once by each path and compared.
"""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import tenant_with_key

PHONE = "+14155552671"
BODIES: list[dict[str, object]] = [
    {"to": PHONE, "at": "2026-11-23T18:30:00Z"},
    {"to": PHONE, "at": "2026-11-23T12:00:00Z", "recipient_state": "fl"},
    {"to": PHONE, "at": "2026-11-23T20:30:00.123456+02:00", "channel": "sms"},
    {"to": "+12125552671", "at": "2026-11-23T18:30:00Z", "recipient_state": "NY"},
    {"to": "+1415555"},
    {"to": "not a number", "at": "2026-11-23T18:30:00Z"},
    {"to": PHONE, "recipient_state": "ZZ"},
    {"to": PHONE, "at": "0001-01-01T00:00:00Z"},
    {"to": PHONE, "at": "2026-11-23T18:30:00"},
    {"to": PHONE, "at": "2026-11-23T18:30:00+00:60"},
    {"to": PHONE, "at": "2026-11-23T18:30:00-05:75"},
    {"to": PHONE, "at": "2026-11-23T18:30:00+24:00"},
    {"to": PHONE, "at": 1795000000},
    {"to": PHONE, "channel": "fax"},
    {"to": PHONE, "extra": 1},
    {"to": 14155552671},
    {},
]


async def _tenant_with_a_list_and_an_opt_out(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> tuple[str, dict[str, str]]:
    tenant_id, headers = await tenant_with_key(client, admin)
    lst = await client.post("/v1/dnc/lists", json={"name": "fast"}, headers=headers)
    await client.put(f"/v1/dnc/lists/{lst.json()['id']}/numbers/+12125552671", headers=headers)
    await client.post("/v1/opt-outs", json={"phone": PHONE, "channel": "sms"}, headers=headers)
    return tenant_id, headers


def _same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    a, b = fast.json(), routed.json()
    for body in (a, b):
        body.pop("request_id", None)
        body.pop("check_id", None)
        if isinstance(body.get("details"), dict):
            body["details"].pop("check_id", None)
    assert a == b


@pytest.mark.parametrize("body", BODIES)
async def test_both_paths_answer_alike(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    tenant_id, headers = await _tenant_with_a_list_and_an_opt_out(client, admin)
    fast = await client.post("/v1/checks", json=body, headers=headers)
    routed = await client.post(f"/v1/checks?tenant_id={tenant_id}", json=body, headers=headers)
    _same(fast, routed)


async def test_auth_errors_are_alike(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tenant_id, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
    body = {"to": PHONE}
    for headers in ({}, {"Authorization": "Bearer cg_" + "y" * 43}, reader):
        fast = await client.post("/v1/checks", json=body, headers=headers)
        routed = await client.post(f"/v1/checks?tenant_id={tenant_id}", json=body, headers=headers)
        _same(fast, routed)
    text = await client.post(
        "/v1/checks", content=b"{}", headers={**reader, "content-type": "text/plain"}
    )
    assert text.status_code == 415  # authenticated first (not 401), then the media type


BATCHES: list[dict[str, object]] = [
    {
        "items": [
            {"to": PHONE},
            {"to": "+12125552671", "recipient_state": "ny"},
            {"to": "+1415555"},
            {"to": PHONE, "recipient_state": "FL"},
        ],
        "at": "2026-11-23T18:30:00Z",
    },
    {"items": [{"to": PHONE}], "at": "2026-11-23T12:00:00Z", "channel": "sms"},
    {"items": [{"to": PHONE, "recipient_state": "ZZ"}, {"to": PHONE, "recipient_state": "QQ"}]},
    {"items": []},
    {"items": [{"to": PHONE, "extra": 1}]},
    {"items": [{"to": 14155552671}]},
    {"items": [{"to": PHONE}], "at": "9999-12-31T23:59:59Z"},
    {"items": [{"to": PHONE}], "at": "2026-11-23T18:30:00+00:60"},
    {"items": {"to": PHONE}},
    {"items": [{"to": PHONE}] * 10_001},
]


@pytest.mark.parametrize("body", BATCHES, ids=range(len(BATCHES)))
async def test_both_paths_answer_batches_alike(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    tenant_id, headers = await _tenant_with_a_list_and_an_opt_out(client, admin)
    fast = await client.post("/v1/checks/batch", json=body, headers=headers)
    routed = await client.post(
        f"/v1/checks/batch?tenant_id={tenant_id}", json=body, headers=headers
    )
    if fast.status_code != 200 or routed.status_code != 200:
        _same(fast, routed)
    else:
        a, b = fast.json(), routed.json()
        assert a["summary"] == b["summary"]
        for x, y in zip(a["results"], b["results"], strict=True):
            for item in (x, y):
                item.pop("check_id")
                if isinstance(item.get("details"), dict):
                    item["details"].pop("check_id", None)
            assert x == y
