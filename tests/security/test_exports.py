"""H4 and M5 of the security review: stalled CSV exports must not take every tenant's
database connections, and no CSV cell callguard writes is a spreadsheet formula."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Message

from app.audit.service import stream_csv
from app.checks.repository.trail import CheckFilter
from app.core.config import Settings
from app.core.csvcells import inert
from app.core.db import Database
from app.main import create_app
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

AT = "2026-12-08T17:00:00Z"


def _export_scope(headers: dict[str, str]) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/audit/checks",
        "raw_path": b"/v1/audit/checks",
        "query_string": b"",
        "root_path": "",
        "headers": [*raw, (b"accept", b"text/csv"), (b"host", b"t")],
        "client": ("127.0.0.1", 40000),
        "server": ("t", 80),
    }


async def _stalled_export(app: FastAPI, headers: dict[str, str], statuses: list[int]) -> None:
    """An export whose client reads the status and the first chunk, then nothing more."""
    chunks = 0

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never sends or closes
        return {}

    async def send(message: Message) -> None:
        nonlocal chunks
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks += 1
            if chunks > 1:
                await asyncio.Event().wait()  # stops reading: the socket's buffer is full

    await app(_export_scope(headers), receive, send)


async def test_stalled_exports_do_not_starve_other_tenants(
    database_url: str, settings: Settings, workers: Workers
) -> None:
    _, _, admin, _ = workers
    small = settings.model_copy(
        update={
            "db_pool_size": 3,
            "check_writer_slots": 1,
            "db_max_overflow": 0,
            "db_timeout_s": 2.0,
            "export_send_timeout_s": 1.0,
            "long_read_slots": 2,
            "long_reads_per_tenant": 1,
        }
    )
    app = create_app(small, Database.from_url(database_url, small))
    async with app.router.lifespan_context(app), client_of(app) as client:
        _, auditor = await tenant_with_key(client, admin, ["checks:write", "audit:read"])
        _, dialer = await tenant_with_key(client, admin, ["checks:write"])
        made = await client.post(
            "/v1/checks", json={"to": "+14155552671", "at": AT}, headers=auditor
        )
        assert made.status_code == 200
        statuses: list[int] = []
        stalled = [asyncio.create_task(_stalled_export(app, auditor, statuses)) for _ in range(22)]
        await asyncio.sleep(0.3)
        assert statuses.count(200) == 1  # one export of the tenant at a time
        assert statuses.count(429) == 21
        # while it stalls, another tenant checks and the service is ready
        for _ in range(5):
            check = await client.post(
                "/v1/checks", json={"to": "+14155552672", "at": AT}, headers=dialer
            )
            assert check.status_code == 200, check.text
        assert (await client.get("/readyz")).status_code == 200
        # the stalled export ends once its client has taken nothing for the send timeout
        await asyncio.wait_for(asyncio.gather(*stalled), timeout=10)
        assert app.state.long_reads._running == {}
        pool = app.state.db.engine.pool
        assert pool.checkedout() <= 1 + small.check_writer_slots  # the writer's own, no export
        again = await client.get("/v1/audit/checks", headers={**auditor, "accept": "text/csv"})
        assert again.status_code == 200
    await app.state.db.dispose()


def test_cells_that_start_a_formula_are_made_inert() -> None:
    for cell in ("=1+1", '=HYPERLINK("http://evil.example","x")', "@SUM(1+9)", "-2-3", "+x"):
        assert inert(cell) == "'" + cell
    assert inert("\tcmd") == "'\tcmd"
    assert inert("\rcmd") == "'\rcmd"
    for cell in ("+14155552671", "+1", "", "plain", "ten_123", "req_-1"):
        assert inert(cell) == cell


async def test_exported_csv_neutralises_formulas_from_phone_and_request_id(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    tenant, headers = await tenant_with_key(client, admin)
    hostile = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+9)*cmd|' /C calc'!A0"]
    for to in hostile:
        response = await client.post(
            "/v1/checks", json={"to": to, "at": AT}, headers={**headers, "X-Request-Id": "-2-3"}
        )
        assert response.status_code == 400
    exported = await client.get("/v1/audit/checks", headers={**headers, "accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(row["phone"] for row in rows) == sorted("'" + to for to in hostile)
    assert {row["request_id"] for row in rows} == {"'-2-3"}
    # the command line's `callguard audit export` writes the same stream
    flt = CheckFilter(tenant_id=tenant, every_tenant=False)
    text = b"".join([chunk async for chunk in stream_csv(app.state.db, flt)]).decode()
    assert text == exported.text


async def test_the_command_line_export_neutralises_formulas_too(
    workers: Workers, database_url: str, tmp_path: Path
) -> None:
    """`callguard audit export`, the real command, on committed hostile records."""
    app, _, admin, _ = workers
    async with client_of(app) as client:
        tenant, headers = await tenant_with_key(client, admin)
        for to in ('=HYPERLINK("http://evil.example","x")', "@SUM(1+9)"):
            await client.post(
                "/v1/checks", json={"to": to, "at": AT}, headers={**headers, "X-Request-Id": "-2-3"}
            )
    env = {**os.environ, "DATABASE_URL": database_url, "CALLGUARD_DATA_DIR": str(tmp_path)}
    command = [str(Path(sys.executable).with_name("callguard")), "audit", "export"]
    result = subprocess.run(
        [*command, "--tenant", tenant], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(row["phone"][:2] for row in rows) == ["'=", "'@"]
    assert {row["request_id"] for row in rows} == {"'-2-3"}
