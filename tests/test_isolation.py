"""Tenant isolation matrix: another tenant's resources are 404, never 403, never listed.

Routes are enumerated from the app's own OpenAPI document (generated from its router), so a new
/v1 route joins the matrix on its own. A route with a path parameter needs a factory below
that makes tenant A's resource of that kind; the test fails until one is registered.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

Factory = Callable[[httpx.AsyncClient, dict[str, str], dict[str, str]], Awaitable[str]]


async def _key_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    key_id, _ = await create_key(client, a, scopes=["dnc:read"])
    return key_id


PHONE = "+14155552671"


async def _list_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    name = f"a-only-{secrets.token_hex(4)}"
    created = await client.post("/v1/dnc/lists", json={"name": name}, headers=a)
    list_id = str(created.json()["id"])
    await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", headers=a)
    return list_id


async def _upload_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    list_id = await _list_of_a(client, admin, a)
    response = await client.post(
        f"/v1/dnc/lists/{list_id}/uploads",
        content=PHONE.encode(),
        headers={**a, "content-type": "text/csv"},
    )
    return str(response.json()["id"])


async def _phone(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    """A number tenant A has opted out (and put on its list, see _list_of_a)."""
    response = await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=a)
    assert response.status_code == 201, response.text
    return PHONE


async def _optout_upload_of_a(
    client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]
) -> str:
    response = await client.post(
        "/v1/opt-outs/uploads", content=PHONE.encode(), headers={**a, "content-type": "text/csv"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _consent_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    body = {"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-01-05T10:00:00Z"}
    response = await client.post("/v1/consents", json=body, headers=a)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _consent_upload_of_a(
    client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]
) -> str:
    body = f"phone,basis,obtained_at\n{PHONE},ebr_transaction,2026-01-05T10:00:00Z\n"
    response = await client.post(
        "/v1/consents/uploads", content=body.encode(), headers={**a, "content-type": "text/csv"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _webhook_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    body = {"url": "https://hooks.example.com/a", "events": ["optout.recorded"]}
    response = await client.post("/v1/webhooks", json=body, headers=a)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _check_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    response = await client.post("/v1/checks", json={"to": PHONE}, headers=a)
    body = response.json()
    return str(body.get("check_id") or body["details"]["check_id"])


async def _scrub_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    response = await client.post(
        "/v1/scrubs", content=f"{PHONE}\n".encode(), headers={**a, "content-type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


# path parameter name -> how to make tenant A's resource of that kind (returns its id)
FACTORIES: dict[str, Factory] = {
    "key_id": _key_of_a,
    "list_id": _list_of_a,
    "phone": _phone,
    "upload_id": _upload_of_a,
    "check_id": _check_of_a,
    "consent_id": _consent_of_a,
    "webhook_id": _webhook_of_a,
    "scrub_id": _scrub_of_a,
}
# where one parameter name stands for resources of different kinds: (path, parameter) -> factory
PATH_FACTORIES: dict[tuple[str, str], Factory] = {
    ("/v1/opt-outs/uploads/{upload_id}", "upload_id"): _optout_upload_of_a,
    ("/v1/consents/uploads/{upload_id}", "upload_id"): _consent_upload_of_a,
}
NOTHING_NOW = {
    "lists": [],
    "opted_out": {"voice": False, "sms": False},
    "consents": [],
    "attempts_24h": 0,
}
# routes that answer every tenant with its own view of the parameter (never another's data)
# with what B must see there (A has the number on its list and opted out)
OWN_VIEW: dict[str, Callable[[dict[str, object]], bool]] = {
    "GET /v1/dnc/numbers/{phone}": lambda body: body["lists"] == [],
    "GET /v1/opt-outs/{phone}": lambda body: body["history"] == [],
    "GET /v1/numbers/{phone}/history": lambda body: (
        body["data"] == [] and body["now"] == NOTHING_NOW
    ),
}
ADMIN_ONLY = {"/v1/tenants"}
# routes whose resource is shared by every tenant, not owned by one (say why)
NOT_TENANT_OWNED = {
    "/v1/area-codes/{npa}": "the NANP area-code table is the same for every tenant",
    "/v1/calling-rules/bans/{ban_id}": "a declared ban applies to everyone; only admins change it",
}


async def _policy_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    week = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    body = {"windows": week, "banned_dates": ["2031-07-04"]}
    assert (await client.put("/v1/calling-policy", json=body, headers=a)).status_code == 200
    return "2031-07-04"


async def _attempt_of_a(client: httpx.AsyncClient, admin: dict[str, str], a: dict[str, str]) -> str:
    """A call attempt of tenant A at PHONE, on a purpose B must never see."""
    purpose = f"a-only-{secrets.token_hex(4)}"
    at = datetime.now(UTC).isoformat()
    item = {"phone": PHONE, "at": at, "purpose": purpose, "disposition": "connected"}
    assert (await client.post("/v1/attempts", json={"items": [item]}, headers=a)).status_code == 201
    return purpose


# tenant-owned state without an id in the path: each returns a marker B must never see
MARKERS: list[Factory] = [_policy_of_a, _attempt_of_a]
# listings that answer only with a query (what B asks there; A has attempts at PHONE)
LISTING_PARAMS: dict[str, dict[str, str]] = {"/v1/attempts": {"phone": PHONE}}


def v1_operations(app: FastAPI) -> list[tuple[str, str]]:
    schema = app.openapi()
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/v1/")
        for method in item
    ]


async def test_other_tenant_gets_not_found_on_every_owned_route(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, tenant_a = await tenant_with_key(client, admin)
    _, tenant_b = await tenant_with_key(client, admin)
    checked = 0
    for method, path in v1_operations(app):
        params = re.findall(r"{(\w+)}", path)
        if not params or path in NOT_TENANT_OWNED:
            continue
        missing = [p for p in params if p not in FACTORIES]
        assert not missing, f"add a factory for {missing} so {method} {path} joins the matrix"
        url = path
        for param in params:
            factory = PATH_FACTORIES.get((path, param), FACTORIES[param])
            url = url.replace(f"{{{param}}}", await factory(client, admin, tenant_a))
            await app.state.uploads.wait()  # see below
        response = await client.request(method, url, headers=tenant_b, json={})
        if (own_view := OWN_VIEW.get(f"{method} {path}")) is not None:
            assert response.status_code == 200, (path, response.text)
            assert own_view(response.json()), (path, response.text)
        else:
            assert_envelope(response, 404, "not_found")
        checked += 1
    assert checked >= 2  # DELETE /v1/api-keys/{key_id}, POST .../rotate


async def test_other_tenant_never_sees_owned_resources_in_listings(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, tenant_a = await tenant_with_key(client, admin)
    _, tenant_b = await tenant_with_key(client, admin)
    factories = [*FACTORIES.values(), *PATH_FACTORIES.values(), *MARKERS]
    made = [await factory(client, admin, tenant_a) for factory in factories]
    # uploads run in the background on the test's one connection: let them end before the
    # listings share it
    await app.state.uploads.wait()
    listings = [
        path
        for method, path in v1_operations(app)
        if method == "GET" and "{" not in path and path not in ADMIN_ONLY
    ]
    assert "/v1/api-keys" in listings
    for path in listings:
        response = await client.get(path, headers=tenant_b, params=LISTING_PARAMS.get(path))
        if response.status_code == 404:  # its own empty view (e.g. no policy of its own)
            assert_envelope(response, 404, "not_found")
            continue
        assert response.status_code == 200, (path, response.text)
        for resource_id in made:
            assert resource_id not in response.text, (path, resource_id)
