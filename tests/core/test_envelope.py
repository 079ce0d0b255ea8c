"""Every non-2xx answer is the API.md envelope, framework errors included."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.envelope import assert_envelope
from tests.probe import SECRET, add_probe_routes

VALID = {"name": "a", "at": "2026-11-23T18:30:00Z", "items": [{"to": "+14155551234", "count": 1}]}


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    add_probe_routes(app)
    return app


async def test_unknown_route_is_not_found(client: httpx.AsyncClient) -> None:
    body = assert_envelope(await client.get("/no/such/route"), 404, "not_found")
    assert "/no/such/route" in body["message"]


async def test_unknown_v1_route_is_not_found(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.post("/v1/nothing-here", json={}), 404, "not_found")


async def test_wrong_method_is_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"].split(", ")


async def test_malformed_json_is_validation_failed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_probe/echo", content=b'{"name": "a",', headers={"content-type": "application/json"}
    )
    body = assert_envelope(response, 400, "validation_failed")
    assert body["details"]["fields"][0]["field"] == "body"
    assert "malformed JSON" in body["details"]["fields"][0]["problem"]


async def test_every_problem_is_listed(client: httpx.AsyncClient) -> None:
    payload = {"at": "2026-11-23T18:30:00", "items": [{"to": "x", "count": 1}, {"count": "many"}]}
    response = await client.post("/_probe/echo?limit=5000", json=payload)
    body = assert_envelope(response, 400, "validation_failed")
    fields = {f["field"] for f in body["details"]["fields"]}
    assert fields == {"name", "at", "items[1].to", "items[1].count", "limit"}
    assert body["message"] == "The request has 5 problems."


async def test_naive_time_is_validation_failed(client: httpx.AsyncClient) -> None:
    response = await client.post("/_probe/echo", json={**VALID, "at": "2026-11-23T18:30:00"})
    body = assert_envelope(response, 400, "validation_failed")
    assert [f["field"] for f in body["details"]["fields"]] == ["at"]


async def test_bad_query_parameter_is_validation_failed(client: httpx.AsyncClient) -> None:
    body = assert_envelope(
        await client.post("/_probe/echo?limit=abc", json=VALID), 400, "validation_failed"
    )
    assert body["details"]["fields"][0]["field"] == "limit"


async def test_valid_request_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/_probe/echo?limit=7", json=VALID)
    assert response.status_code == 200
    assert response.json() == {"name": "a", "items": 1, "limit": 7}


async def test_declared_body_over_limit_is_payload_too_large(client: httpx.AsyncClient) -> None:
    big = {**VALID, "name": "x" * 70_000}
    body = assert_envelope(await client.post("/_probe/echo", json=big), 413, "payload_too_large")
    assert body["details"]["limit_bytes"] == 64 * 1024


async def test_streamed_body_over_limit_is_payload_too_large(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post(
        "/_probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    body = assert_envelope(response, 413, "payload_too_large")
    assert body["details"]["limit_bytes"] == 64 * 1024


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_wrong_content_type_is_unsupported_media_type(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/_probe/echo", content=b'{"name": "a"}', headers={"content-type": content_type}
    )
    assert_envelope(response, 415, "unsupported_media_type")


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_probe/echo",
        content=httpx.Request("POST", "/", json=VALID).content,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


async def test_unhandled_exception_is_internal_error_without_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/_probe/boom")
    body = assert_envelope(response, 500, "internal_error")
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text
    assert "SELECT" not in body["message"]


@pytest.mark.parametrize("sent", ["client-id.1_A", "x" * 128])
async def test_sane_request_id_is_echoed(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/nope", headers={"x-request-id": sent})
    assert response.headers["x-request-id"] == sent
    assert response.json()["request_id"] == sent


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, "semi;colon", "ünï"])
async def test_insane_request_id_is_replaced(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/nope", headers={b"x-request-id": sent.encode()})
    generated = response.headers["x-request-id"]
    assert generated != sent
    assert generated.startswith("req_")
    assert response.json()["request_id"] == generated


async def test_success_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")


async def test_trailing_slash_is_not_found_not_a_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz/", headers={"host": "evil.example"})
    assert_envelope(response, 404, "not_found")
    assert "location" not in response.headers


async def test_not_found_message_echoes_only_printable_text(client: httpx.AsyncClient) -> None:
    body = assert_envelope(await client.get("/x%00y%ff" + "z" * 300), 404, "not_found")
    assert "\x00" not in body["message"]
    assert "\ufffd" not in body["message"]
    assert len(body["message"]) < 260


async def test_head_is_answered_on_health_routes(client: httpx.AsyncClient) -> None:
    assert (await client.head("/healthz")).status_code == 200
    assert (await client.head("/readyz")).status_code == 200
