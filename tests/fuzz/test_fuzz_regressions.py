"""The defects the schema fuzzer (test_schema_fuzz.py) found, each kept as a plain test with
the case that showed it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.envelope import assert_envelope
from tests.helpers import create_tenant

PHONE = "+14155552671"


def responses(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    documented: dict[str, Any] = app.openapi()["paths"][path][method]["responses"]
    return documented


def test_every_v1_post_documents_the_idempotency_conflict(app: FastAPI) -> None:
    """Found: `POST /v1/checks` with an Idempotency-Key used before for another body answered
    an undocumented 409 (and so did every POST but those declaring `conflict`)."""
    document = app.openapi()["paths"]
    # a route whose answer carries a secret refuses the header (400), so it has no such 409
    secret = {p for p, item in document.items() if item.get("post", {}).get("x-returns-secret")}
    assert secret == {"/v1/api-keys", "/v1/api-keys/{key_id}/rotate", "/v1/webhooks"}
    for path in secret:
        names = {p["name"] for p in document[path]["post"].get("parameters", [])}
        assert "Idempotency-Key" not in names, path
    posts = [
        path
        for path, item in document.items()
        if path.startswith("/v1/") and "post" in item and path not in secret
    ]
    assert len(posts) + len(secret) >= 10
    for path in posts:
        conflict = responses(app, "post", path).get("409")
        assert conflict is not None, path
        schema = conflict["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, path


async def test_an_idempotency_conflict_on_a_check_is_documented(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    keyed = {**admin, "Idempotency-Key": "fuzz-regression-409"}
    first = await client.post("/v1/checks", json={"to": ""}, headers=keyed)
    assert_envelope(first, 400, "invalid_phone")
    again = await client.post("/v1/checks", json={"to": "0"}, headers=keyed)
    assert_envelope(again, 409, "idempotency_key_reused")
    assert "409" in responses(app, "post", "/v1/checks")


async def test_a_blocked_check_keeps_its_documented_422(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Found: a check blocked by an opt-out answered 422, which the OpenAPI document did not
    list (the document dropped every 422, FastAPI's own and the route's)."""
    tenant = await create_tenant(client, admin)
    at = f"?tenant_id={tenant}"
    opted = await client.post(f"/v1/opt-outs{at}", json={"phone": PHONE}, headers=admin)
    assert opted.status_code == 201, opted.text
    blocked = await client.post(f"/v1/checks{at}", json={"to": PHONE}, headers=admin)
    assert_envelope(blocked, 422, "opted_out")
    documented = responses(app, "post", "/v1/checks")["422"]
    assert documented["content"]["application/json"]["example"]["error"] in (
        "opted_out",
        "dnc_blocked",
        "call_hours_violation",
    )
    every = [op for item in app.openapi()["paths"].values() for op in item.values()]
    assert not any("HTTPValidationError" in str(op) for op in every)  # FastAPI's own stays out


async def test_a_list_for_an_unknown_tenant_is_a_documented_404(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Found: `POST /v1/dnc/lists?tenant_id=` answered an undocumented 404."""
    response = await client.post("/v1/dnc/lists?tenant_id=", json={"name": "0"}, headers=admin)
    assert_envelope(response, 404, "not_found")
    assert "404" in responses(app, "post", "/v1/dnc/lists")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # the fuzzer's case: a NUL (and a valid surrogate pair) in a tenant's name
        ("/v1/tenants", {"name": "\u0096\u0000\u00a6u\u00ab\udaf0\udcfd+\u0012"}),
        ("/v1/tenants", {"name": "lone \udc00 surrogate"}),
        ("/v1/dnc/lists", {"name": "l\u0000st", "scope": "global"}),
        (
            "/v1/calling-rules/bans",
            {
                "jurisdiction": "US-LA",
                "starts_at": "2031-01-01T00:00:00Z",
                "ends_at": "2031-01-02T00:00:00Z",
                "reason": "\u0000",
            },
        ),
    ],
)
async def test_text_postgresql_cannot_hold_is_a_400_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, body: dict[str, str]
) -> None:
    """Found: a NUL in a tenant's name was a 500 (PostgreSQL refuses NUL in text)."""
    sent = json.dumps(body).encode()  # escaped as a client's JSON encoder sends it
    response = await client.post(
        path, content=sent, headers={**admin, "content-type": "application/json"}
    )
    fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
    assert {f["field"] for f in fields} & {"name", "reason"}, fields


@pytest.mark.parametrize(
    "url",
    [
        # the fuzzer's cases: a NUL in the tenant_id query parameter
        "/v1/audit/checks/chk_0agwvc4RldbStfZ5q?tenant_id=%F0%B3%96%A3%2F%3F%C2%BE_%009%26%0A",
        "/v1/audit/verify?tenant_id=%F1%97%B6%96%F0%A5%8F%B0R%3E%00A",
        "/v1/dnc/lists/lst_%00",
        "/v1/dnc/uploads/upl%00",
        "/v1/audit/events?type=a%00b",
    ],
)
async def test_a_nul_in_a_path_or_query_value_is_a_400(
    client: httpx.AsyncClient, admin: dict[str, str], url: str
) -> None:
    """Found: a NUL in `tenant_id` of `GET /v1/audit/verify` was a 500 from the database."""
    response = await client.get(url, headers=admin)
    fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
    assert fields[0]["problem"] == "must not contain NUL (\\u0000) characters"


async def test_a_nul_in_an_idempotency_key_is_a_400(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/tenants", json={"name": "x"}, headers={**admin, "Idempotency-Key": "a\x00b"}
    )
    fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
    assert fields[0]["field"] == "Idempotency-Key"
