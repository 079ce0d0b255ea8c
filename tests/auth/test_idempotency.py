"""Idempotency-Key on POST: replay (the first response exactly, X-Request-Id included), reuse
with another body, in progress, API-key scope, 24 h."""

import asyncio
import logging
import secrets

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.dependencies import authenticate
from app.auth.routing import make_v1_router
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of


def idem() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{secrets.token_hex(8)}"}


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, **idem()}
    first = await client.post("/v1/tenants", json={"name": "replayed"}, headers=headers)
    again = await client.post("/v1/tenants", json={"name": "replayed"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    names = [t["name"] for t in (await client.get("/v1/tenants", headers=admin)).json()["data"]]
    assert names.count("replayed") == 1


def request_ids(response: httpx.Response) -> list[str]:
    return response.headers.get_list("x-request-id")


async def test_a_replay_answers_with_the_first_request_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """API-2.md: a replay is the first response exactly, its X-Request-Id too (once), whatever
    id the replaying request brings or is given."""
    headers = {**admin, **idem()}
    body = {"name": "replayed id"}
    first = await client.post("/v1/tenants", json=body, headers=headers)
    sent = await client.post("/v1/tenants", json=body, headers={**headers, "X-Request-Id": "r2"})
    generated = await client.post("/v1/tenants", json=body, headers=headers)
    assert first.status_code == 201
    assert request_ids(first)[0].startswith("req_")
    for again in (sent, generated):
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert request_ids(again) == request_ids(first)


async def test_a_replayed_envelope_has_its_request_id_in_the_header(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/v1/tenants", json={"name": "taken twice"}, headers=admin)
    headers = {**admin, **idem(), "X-Request-Id": "first-try"}
    first = await client.post("/v1/tenants", json={"name": "taken twice"}, headers=headers)
    again = await client.post(
        "/v1/tenants", json={"name": "taken twice"}, headers={**headers, "X-Request-Id": "retry"}
    )
    assert assert_envelope(first, 409, "conflict")["request_id"] == "first-try"
    replayed = assert_envelope(again, 409, "conflict")  # request_id == X-Request-Id
    assert replayed["request_id"] == "first-try"
    assert request_ids(again) == ["first-try"]
    assert again.headers["idempotent-replayed"] == "true"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_the_access_log_keeps_the_replaying_request_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, **idem()}
    body = {"name": "logged"}
    await client.post("/v1/tenants", json=body, headers={**headers, "X-Request-Id": "a"})
    records = Records()
    logger = logging.getLogger("callguard.access")
    logger.addHandler(records)
    try:
        again = await client.post(
            "/v1/tenants", json=body, headers={**headers, "X-Request-Id": "b"}
        )
    finally:
        logger.removeHandler(records)
    assert request_ids(again) == ["a"]
    assert [getattr(r, "request_id", None) for r in records.records] == ["b"]


async def test_a_replayed_validation_error_keeps_the_first_request_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, **idem()}
    first = await client.post("/v1/tenants", json={"name": ""}, headers=headers)
    again = await client.post("/v1/tenants", json={"name": ""}, headers=headers)
    body = assert_envelope(first, 400, "validation_failed")
    assert assert_envelope(again, 400, "validation_failed") == body
    assert request_ids(again) == request_ids(first) == [body["request_id"]]


async def test_a_replayed_upload_has_the_first_request_id(workers: Workers) -> None:
    """Uploads claim the key themselves, once the file is on disk: the same replay."""
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        made = await client.post("/v1/dnc/lists", json={"name": "replayed"}, headers=headers)
        url = f"/v1/dnc/lists/{made.json()['id']}/uploads"
        keyed = {**headers, **idem(), "content-type": "text/csv"}
        first = await client.post(url, content=b"4155552671\n", headers=keyed)
        again = await client.post(url, content=b"4155552671\n", headers=keyed)
        await app.state.uploads.wait()
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(request_ids(first)) == 1
    assert request_ids(again) == request_ids(first)


async def test_same_key_with_another_body_is_reused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, **idem()}
    await client.post("/v1/tenants", json={"name": "one"}, headers=headers)
    response = await client.post("/v1/tenants", json={"name": "two"}, headers=headers)
    assert_envelope(response, 409, "idempotency_key_reused")


async def test_error_responses_are_replayed_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/v1/tenants", json={"name": "taken"}, headers=admin)
    headers = {**admin, **idem()}
    first = await client.post("/v1/tenants", json={"name": "taken"}, headers=headers)
    again = await client.post("/v1/tenants", json={"name": "taken"}, headers=headers)
    assert_envelope(first, 409, "conflict")
    assert again.status_code == 409
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_keys_are_scoped_per_api_key(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    shared = idem()
    _, tenant_a = await tenant_with_key(client, admin)
    _, tenant_b = await tenant_with_key(client, admin)
    a = await client.post("/v1/dnc/lists", json={"name": "l"}, headers={**tenant_a, **shared})
    b = await client.post("/v1/dnc/lists", json={"name": "l"}, headers={**tenant_b, **shared})
    assert a.status_code == b.status_code == 201
    assert b.headers.get("idempotent-replayed") is None
    assert a.json()["tenant_id"] != b.json()["tenant_id"]


async def test_key_length_is_checked(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post(
        "/v1/tenants", json={"name": "x"}, headers={**admin, "Idempotency-Key": "k" * 256}
    )
    body = assert_envelope(response, 400, "validation_failed")
    assert body["details"]["fields"][0]["field"] == "Idempotency-Key"


async def test_records_older_than_24_hours_are_forgotten(
    client: httpx.AsyncClient, admin: dict[str, str], engine: AsyncEngine
) -> None:
    headers = {**admin, **idem()}
    await client.post("/v1/tenants", json={"name": "day one"}, headers=headers)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE idempotency_records SET created_at = now() - interval '25 hours' "
                "WHERE key = :key"
            ),
            {"key": headers["Idempotency-Key"]},
        )
    response = await client.post("/v1/tenants", json={"name": "day two"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


@pytest.fixture
def slow_app(app: FastAPI) -> FastAPI:
    router = make_v1_router()

    @router.post("/_slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(0.5)
        return {"done": True}

    app.include_router(router, prefix="/v1", dependencies=[Depends(authenticate)])
    return app


async def test_concurrent_duplicate_is_in_progress(
    slow_app: FastAPI, admin: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=slow_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/v1/tenants", headers=admin)).status_code == 200  # key cached
        headers = {**admin, **idem()}
        first, second = await asyncio.gather(
            client.post("/v1/_slow", json={}, headers=headers),
            client.post("/v1/_slow", json={}, headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        loser = first if first.status_code == 409 else second
        assert_envelope(loser, 409, "idempotency_in_progress")
        replay = await client.post("/v1/_slow", json={}, headers=headers)
        assert replay.status_code == 200
        assert replay.headers["idempotent-replayed"] == "true"
