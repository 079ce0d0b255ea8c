"""503 service_unavailable when the database is down or too slow, and recovery without restart.

These tests stop a database server, so they use a private embedded cluster of their own.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.core.db import Database, async_url, drop_database, ensure_database, plain_url
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade
from app.main import create_app
from tests.envelope import assert_envelope
from tests.probe import add_probe_routes


@pytest.fixture(scope="module")
def private_server() -> Iterator[tuple[EmbeddedPostgres, str]]:
    with tempfile.TemporaryDirectory(prefix="callguard-outage-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            url = embedded.start()
            upgrade(url)
            yield embedded, url
        finally:
            embedded.close()


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://callguard.test")


@pytest.fixture
async def outage_app(
    private_server: tuple[EmbeddedPostgres, str],
) -> AsyncIterator[tuple[FastAPI, EmbeddedPostgres]]:
    embedded, url = private_server
    settings = Settings(database_url=url, db_timeout_s=1.0)
    database = Database.from_url(url, settings)
    app = create_app(settings, database)
    add_probe_routes(app)
    try:
        yield app, embedded
    finally:
        await asyncio.to_thread(embedded.start)  # leave the server up for the next test
        await database.dispose()


async def test_stopped_database_is_unavailable_then_recovers(
    outage_app: tuple[FastAPI, EmbeddedPostgres],
) -> None:
    app, embedded = outage_app
    async with await _client(app) as client:
        assert (await client.get("/_probe/db")).status_code == 200  # a pooled connection exists
        assert (await client.get("/readyz")).status_code == 200

        await asyncio.to_thread(embedded.stop)
        for path in ("/_probe/db", "/readyz", "/_probe/db"):
            body = assert_envelope(await client.get(path), 503, "service_unavailable")
            assert "database" in body["message"]
        assert (await client.get("/healthz")).status_code == 200  # the process is still up

        await asyncio.to_thread(embedded.start)
        assert (await client.get("/_probe/db")).json() == {"one": 1}
        assert (await client.get("/readyz")).status_code == 200


async def test_slow_database_is_unavailable(
    outage_app: tuple[FastAPI, EmbeddedPostgres],
) -> None:
    app, _ = outage_app
    async with await _client(app) as client:
        assert_envelope(await client.get("/_probe/slow"), 503, "service_unavailable")
        assert (await client.get("/_probe/db")).status_code == 200


def _probe_app(url: str) -> tuple[FastAPI, Database]:
    settings = Settings(database_url=url, db_timeout_s=1.0)
    database = Database.from_url(url, settings)
    app = create_app(settings, database)
    add_probe_routes(app)
    return app, database


async def test_dropped_database_is_unavailable(
    private_server: tuple[EmbeddedPostgres, str],
) -> None:
    _, url = private_server
    doomed_url = plain_url(async_url(url).set(database="doomed"))
    await ensure_database(url, "doomed")
    app, database = _probe_app(doomed_url)
    try:
        async with await _client(app) as client:
            assert (await client.get("/_probe/db")).status_code == 200
            await drop_database(url, "doomed")
            for _ in range(3):  # the pooled connection is gone, then a new one is refused
                assert_envelope(await client.get("/_probe/db"), 503, "service_unavailable")
    finally:
        await database.dispose()


async def test_unreachable_database_is_unavailable() -> None:
    app, database = _probe_app("postgresql://postgres@127.0.0.1:1/none")  # nothing on port 1
    try:
        async with await _client(app) as client:
            assert_envelope(await client.get("/_probe/db"), 503, "service_unavailable")
            assert_envelope(await client.get("/readyz"), 503, "service_unavailable")
    finally:
        await database.dispose()
