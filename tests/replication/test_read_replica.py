"""CALLGUARD_READ_DATABASE_URL: the audit trail's listings, statistics and a number's history
are read from the standby; checks and every write stay on the primary; /metrics shows the
replica's lag; with the replica gone those reads go to the primary (said in a log line) and
still answer, and go back to the replica once it answers again."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from harness import IN_HOURS, admin_secret, day_npas

from app.core.config import Settings
from app.core.dependencies import read_replica_of
from app.main import create_app
from tests.helpers import bearer
from tests.replication.conftest import Pair

PHONE = f"+1{day_npas()[0]}4820123"
READS = "callguard-reads"  # the replica pool's application_name


async def sessions_named(pair: Pair, node_name: str, application: str) -> int:
    node = pair.primary if node_name == "primary" else pair.standby
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
    return int(await node.fetchval(query, application))


@pytest.fixture
async def served(pair: Pair) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    with tempfile.TemporaryDirectory(prefix="cg-replica-") as tmp:
        settings = Settings(
            database_url=pair.url("query"),  # the repeated ?host= spelling
            read_database_url=pair.node_url(pair.standby),
            data_dir=Path(tmp),
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
                yield app, client


async def test_reads_go_to_the_replica_and_fall_back_to_the_primary(
    pair: Pair, served: tuple[FastAPI, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    app, client = served
    headers = bearer(await admin_secret(pair.url()))
    check = await client.post("/v1/checks", json={"to": PHONE, "at": IN_HOURS}, headers=headers)
    assert check.status_code == 200, check.text
    check_id = check.json()["check_id"]

    # the record reaches the standby (synchronous commit: it was flushed there before the 200)
    deadline = time.monotonic() + 10
    while True:
        listed = await client.get("/v1/audit/checks", params={"phone": PHONE}, headers=headers)
        assert listed.status_code == 200, listed.text
        if check_id in {row["check_id"] for row in listed.json()["data"]}:
            break
        assert time.monotonic() < deadline, "the record never showed on the replica"
        await asyncio.sleep(0.1)
    for path in ("/v1/audit/stats", "/v1/audit/events", f"/v1/numbers/{PHONE}/history"):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.text)
    csv = await client.get("/v1/audit/checks", headers={**headers, "Accept": "text/csv"})
    assert csv.status_code == 200
    assert check_id in csv.text

    # the reads' connections are on the standby; the checks' and every write's on the primary
    assert await sessions_named(pair, "standby", READS) >= 1
    assert await sessions_named(pair, "primary", READS) == 0
    assert await sessions_named(pair, "standby", "callguard") == 0
    assert await sessions_named(pair, "primary", "callguard") >= 1

    metrics = (await client.get("/metrics")).text
    assert "callguard_read_replica_up 1.0" in metrics
    assert "callguard_read_replica_in_recovery 1.0" in metrics
    assert "callguard_read_replica_lag_seconds " in metrics

    # the replica goes away: those reads answer from the primary and say so in the log
    replica = read_replica_of(app)
    assert replica is not None
    replica.retry_s = 0.5
    logging.getLogger("callguard").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="callguard.replica"):
            pair.standby.stop("fast")
            for path in ("/v1/audit/checks", "/v1/audit/stats", f"/v1/numbers/{PHONE}/history"):
                answer = await client.get(path, headers=headers)
                assert answer.status_code == 200, (path, answer.text)
            listed = await client.get("/v1/audit/checks", params={"phone": PHONE}, headers=headers)
            assert check_id in {row["check_id"] for row in listed.json()["data"]}
            csv = await client.get("/v1/audit/checks", headers={**headers, "Accept": "text/csv"})
            assert csv.status_code == 200
            assert check_id in csv.text
            assert "callguard_read_replica_up 0.0" in (await client.get("/metrics")).text
            assert any("unreachable" in r.getMessage() for r in caplog.records), caplog.text
            assert replica.fallbacks >= 1

            # back: after retry_s the reads go to it again
            pair.standby.start()
            await pair.standby.wait_accepting()
            await asyncio.sleep(replica.retry_s)
            answer = await client.get("/v1/audit/stats", headers=headers)
            assert answer.status_code == 200
            assert any("answers again" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        logging.getLogger("callguard").removeHandler(caplog.handler)
    check = await client.post("/v1/checks", json={"to": PHONE, "at": IN_HOURS}, headers=headers)
    assert check.status_code == 200, check.text
