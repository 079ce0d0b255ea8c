"""H3, M1 and M4 of the security review: the body limit by matched route, metric labels by
route template, and shared capacity a single key could take (batch items, uploads)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer, tenant_with_key
from tests.workers import Workers, client_of


async def test_a_path_ending_in_uploads_gets_the_json_limit_unless_it_is_an_upload_route(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    big = b'{"x": "' + b"9" * (settings.max_body_bytes + 1024) + b'"}'
    huge = big * 4  # streamed: several times the limit, pulled from the client lazily
    for method, path in (
        ("PUT", "/v1/dnc/lists/lst_bogus/numbers/uploads"),
        ("POST", "/v1/dnc/lists/lst_bogus/numbers/uploads"),
        ("PUT", "/v1/opt-outs/uploads"),
        ("POST", "/v1/anything/uploads"),
    ):
        declared = await client.request(
            method, path, content=big, headers={**admin, "content-type": "application/json"}
        )
        assert_envelope(declared, 413, "payload_too_large")

        pulled = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal pulled
            for start in range(0, len(huge), 8192):
                pulled += 8192
                yield huge[start : start + 8192]

        streamed = await client.request(
            method, path, content=chunks(), headers={**admin, "content-type": "application/json"}
        )
        # refused before the body is read whole: too large, or no such route (for the method)
        assert streamed.status_code in (404, 405, 413), streamed.text
        assert pulled <= settings.max_body_bytes + 8192, (method, path, pulled)
        if (method, path) == ("PUT", "/v1/dnc/lists/lst_bogus/numbers/uploads"):
            assert_envelope(streamed, 413, "payload_too_large")  # a route that reads its body


async def test_an_upload_route_still_takes_a_file_over_the_json_limit(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings, app: FastAPI
) -> None:
    _, headers = await tenant_with_key(client, admin)
    list_id = (await client.post("/v1/dnc/lists", json={"name": "big"}, headers=headers)).json()[
        "id"
    ]
    rows = b"".join(b"+1212555%04d\n" % (i % 10000) for i in range(settings.max_body_bytes // 10))
    assert len(rows) > settings.max_body_bytes
    response = await client.post(
        f"/v1/dnc/lists/{list_id}/uploads",
        content=rows,
        headers={**headers, "content-type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    await app.state.uploads.wait()


async def test_metric_labels_are_route_templates_whatever_the_path(
    client: httpx.AsyncClient,
) -> None:
    for i in range(30):  # unauthenticated, as the review sent them
        response = await client.get(f"/v1/dnc/numbers/%2541x{i}")
        assert response.status_code in (401, 429)  # throttled after ten
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    for i in range(5):
        assert (await client.get(f"/v1/nothing/here/{i}")).status_code == 404
    metrics = (await client.get("/metrics")).text
    routes = set(re.findall(r'route="([^"]*)"', metrics))
    assert "/v1/dnc/numbers/{phone}" in routes
    assert "<unmatched>" in routes
    assert not [r for r in routes if "41x" in r or "Ax" in r or "here" in r], routes


@pytest.fixture
def budget_app(settings: Settings, engine: AsyncEngine, connection: AsyncConnection) -> FastAPI:
    tight = settings.model_copy(update={"key_rate_per_s": 1.0, "key_burst": 100})
    return create_app(tight, Database.joined_to(engine, connection))


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "FastAPI route"])
async def test_a_batch_costs_its_items_against_the_keys_budget(
    budget_app: FastAPI, admin_key: str, fast: bool
) -> None:
    transport = httpx.ASGITransport(app=budget_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        _, headers = await tenant_with_key(client, bearer(admin_key), ["checks:write"])
        # the fast path takes plain JSON without a query; `?` sends it to the FastAPI route
        path = "/v1/checks/batch" if fast else "/v1/checks/batch?"

        def batch(n: int) -> dict[str, object]:
            items = [{"to": f"+1212555{i:04d}"} for i in range(n)]
            return {"items": items, "at": "2026-12-08T17:00:00Z"}

        first = await client.post(path, json=batch(60), headers=headers)
        assert first.status_code == 200, first.text
        second = await client.post(path, json=batch(60), headers=headers)
        body = assert_envelope(second, 429, "rate_limited")
        assert int(second.headers["retry-after"]) >= 1
        assert body["details"]["retry_after_s"] >= 1
        # a single check still fits in what is left
        single = await client.post(
            "/v1/checks", json={"to": "+14155552671", "at": "2026-12-08T17:00:00Z"}, headers=headers
        )
        assert single.status_code == 200, single.text
    await budget_app.state.checks.stop()


async def test_uploads_wait_their_turn_instead_of_taking_every_connection(
    database_url: str, settings: Settings, workers: Workers
) -> None:
    _, _, admin, _ = workers
    capped = settings.model_copy(update={"upload_slots": 1, "uploads_per_tenant": 1})
    app = create_app(capped, Database.from_url(database_url, capped))
    async with app.router.lifespan_context(app), client_of(app) as client:
        uploads = []
        tenants = [await tenant_with_key(client, admin) for _ in range(3)]
        for _, headers in tenants:
            created = await client.post("/v1/dnc/lists", json={"name": "q"}, headers=headers)
            list_id = created.json()["id"]
            body = b"".join(b"+1415555%04d\n" % i for i in range(5000))
            for _ in range(2):  # two of the same tenant: one waits for the other
                response = await client.post(
                    f"/v1/dnc/lists/{list_id}/uploads",
                    content=body,
                    headers={**headers, "content-type": "text/csv"},
                )
                assert response.status_code == 202, response.text
                uploads.append((response.json()["id"], headers))
        await asyncio.wait_for(app.state.uploads.wait(), timeout=120)
        assert app.state.uploads.queue.peak == 1
        for upload_id, headers in uploads:
            done = (await client.get(f"/v1/dnc/uploads/{upload_id}", headers=headers)).json()
            assert done["status"] == "succeeded", done
    await app.state.db.dispose()
