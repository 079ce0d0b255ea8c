"""Fail closed: when the lookups or the audit write cannot happen, a check answers 503, never ok,
and the service recovers on its own. These tests stop a database server, so they run on a
private embedded cluster of their own, with the app's real lifespan (its writer slots)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database, async_url, plain_url
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer, tenant_with_key

CHECK = {"to": "+14155552671", "at": "2026-11-23T18:30:00Z"}


@pytest.fixture(scope="module")
def private_server() -> Iterator[tuple[EmbeddedPostgres, str]]:
    with tempfile.TemporaryDirectory(prefix="callguard-failclosed-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            url = embedded.start()
            upgrade(url)
            yield embedded, url
        finally:
            embedded.close()


@pytest.fixture
async def running(
    private_server: tuple[EmbeddedPostgres, str],
) -> AsyncIterator[tuple[FastAPI, EmbeddedPostgres, str, dict[str, str]]]:
    embedded, url = private_server
    settings = Settings(database_url=url, db_timeout_s=1.0, key_listener=False)
    database = Database.from_url(url, settings)
    async with database.sessionmaker() as session, session.begin():
        _, secret = await auth_service.create_key(
            session=session, principal=None, data=ApiKeyIn(name="fc", scopes=[Scope.ADMIN])
        )
    app = create_app(settings, database)
    try:
        async with app.router.lifespan_context(app):
            yield app, embedded, url, bearer(secret)
    finally:
        await asyncio.to_thread(embedded.start)  # leave the server up for the next test
        await database.dispose()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://callguard.test")


async def _until_ok(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    for _ in range(20):
        response = await client.post("/v1/checks", json=CHECK, headers=headers)
        if response.status_code != 503:
            return response
        await asyncio.sleep(0.25)
    return response


async def test_a_stopped_database_answers_503_to_every_check_then_recovers(
    running: tuple[FastAPI, EmbeddedPostgres, str, dict[str, str]],
) -> None:
    app, embedded, _, admin = running
    async with _client(app) as client:
        _, headers = await tenant_with_key(client, admin)
        assert (await client.post("/v1/checks", json=CHECK, headers=headers)).status_code == 200

        await asyncio.to_thread(embedded.stop)
        answers = await asyncio.gather(
            *[client.post("/v1/checks", json=CHECK, headers=headers) for _ in range(20)],
            client.post(
                "/v1/checks/batch", json={"items": [{"to": CHECK["to"]}] * 50}, headers=headers
            ),
        )
        for response in answers:
            assert_envelope(response, 503, "service_unavailable")

        await asyncio.to_thread(embedded.start)
        recovered = await _until_ok(client, headers)
        assert recovered.status_code == 200, recovered.text
        check_id = recovered.json()["check_id"]
        record = await client.get(f"/v1/audit/checks/{check_id}", headers=headers)
        assert record.status_code == 200, record.text


async def test_an_audit_write_that_cannot_finish_is_503_and_leaves_no_record(
    running: tuple[FastAPI, EmbeddedPostgres, str, dict[str, str]],
) -> None:
    app, _, url, admin = running
    async with _client(app) as client:
        _, headers = await tenant_with_key(client, admin)
        assert (await client.post("/v1/checks", json=CHECK, headers=headers)).status_code == 200
        blocker = await asyncpg.connect(plain_url(async_url(url)))
        try:
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE check_records IN ACCESS EXCLUSIVE MODE")
            stuck = await client.post("/v1/checks", json=CHECK, headers=headers)
            assert_envelope(stuck, 503, "service_unavailable")
            await transaction.rollback()
        finally:
            await blocker.close()
        after = await _until_ok(client, headers)
        assert after.status_code == 200
        listed = (await client.get("/v1/audit/checks", headers=headers)).json()["data"]
        assert len(listed) == 2  # the 503 left no record
        verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
        assert verdict["ok"] is True, verdict
