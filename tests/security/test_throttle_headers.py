"""M3 and the low items of the security review: the failed-key throttle never refuses a valid
key, bounded memory for blocked addresses, security headers, spool file permissions, a global
upload's rows, and a client that leaves mid-upload."""

from __future__ import annotations

import asyncio
import logging
import re
import stat
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from app.auth.throttle import FailedAttempts
from tests.envelope import assert_envelope
from tests.helpers import bearer, tenant_with_key
from tests.workers import Workers, client_of


async def test_a_valid_key_is_never_refused_for_its_address_failures(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for _ in range(25):
        await client.get("/v1/tenants", headers=bearer("cg_wrong"))
    assert_envelope(await client.get("/v1/tenants", headers=bearer("cg_x")), 429, "rate_limited")
    assert (await client.get("/v1/tenants", headers=admin)).status_code == 200
    missing = await client.get("/v1/tenants")
    assert_envelope(missing, 429, "rate_limited")


def test_blocked_addresses_are_pruned_once_their_block_ends() -> None:
    attempts = FailedAttempts(limit=1, window_s=60, block_s=0.0, max_addresses=50)
    for i in range(500):
        attempts.record_failure(f"198.51.100.{i}")
    assert len(attempts._blocked_until) <= 50
    assert len(attempts._failures) <= 50


async def test_every_answer_says_nosniff_and_401s_name_the_scheme(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/v1/nothing"),
        await client.get("/v1/tenants", headers=admin),
        await client.post("/v1/checks", json={"to": "+14155552671"}, headers=admin),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
    for headers in ({}, bearer("cg_wrong")):
        for response in (
            await client.get("/v1/tenants", headers=headers),
            await client.post("/v1/checks", json={"to": "+14155552671"}, headers=headers),
        ):
            assert_envelope(response, 401, "invalid_token")
            assert re.match(r'Bearer realm="callguard"', response.headers["www-authenticate"])


async def test_spooled_uploads_are_private_to_the_service(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    _, headers = await tenant_with_key(client, admin)
    list_id = (await client.post("/v1/dnc/lists", json={"name": "p"}, headers=headers)).json()["id"]
    seen: list[int] = []
    runner = app.state.uploads
    original = runner._import

    async def look(upload_id: str, spool: Any) -> None:
        seen.append(stat.S_IMODE(spool.stat().st_mode))
        await original(upload_id, spool)

    runner._import = look
    response = await client.post(
        f"/v1/dnc/lists/{list_id}/uploads",
        content=b"+14155552671\n",
        headers={**headers, "content-type": "text/csv"},
    )
    assert response.status_code == 202
    await runner.wait()
    assert seen == [0o600]
    assert stat.S_IMODE(runner.spool_dir.stat().st_mode) == 0o700


async def test_tenants_do_not_see_the_rows_of_a_global_upload(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        created = await client.post(
            "/v1/dnc/lists", json={"name": "g", "scope": "global"}, headers=admin
        )
        assert created.status_code == 201, created.text
        list_id = created.json()["id"]
        upload = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads",
            content=b"+14155552671\n+1415999\n",
            headers={**admin, "content-type": "text/csv"},
        )
        assert upload.status_code == 202, upload.text
        await app.state.uploads.wait()
        path = f"/v1/dnc/uploads/{upload.json()['id']}"
        as_admin = (await client.get(path, headers=admin)).json()
        assert "+1415999" in str(as_admin["errors"])
        _, tenant = await tenant_with_key(client, admin)
        as_tenant = await client.get(path, headers=tenant)
        assert as_tenant.status_code == 200
        errors = as_tenant.json()["errors"]
        assert errors
        assert "+1415999" not in str(errors)
        assert errors[0]["line"] == as_admin["errors"][0]["line"]


async def test_a_client_leaving_mid_upload_is_not_a_server_error(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _, headers = await tenant_with_key(client, admin)
    list_id = (await client.post("/v1/dnc/lists", json={"name": "d"}, headers=headers)).json()["id"]
    path = f"/v1/dnc/lists/{list_id}/uploads"
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b"+14155552671\n", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*raw, (b"content-type", b"text/csv"), (b"host", b"t")],
        "client": ("127.0.0.1", 40001),
        "server": ("t", 80),
    }
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    assert not [m for m in sent if m["type"] == "http.response.start"]  # nobody to answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    metrics = (await client.get("/metrics")).text
    assert 'route="/v1/dnc/lists/{list_id}/uploads",status="499"' in metrics
    assert 'route="/v1/dnc/lists/{list_id}/uploads",status="500"' not in metrics
    assert list(app.state.uploads.spool_dir.glob("*.upload")) == []
