"""What a new user tripped on in uploads: counts that add up, a file with no valid row, the
phase of a running upload, and raw bodies sent as application/octet-stream."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.uploads import importer
from tests.dnc.api import upload
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of


async def _list(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/v1/dnc/lists", json={"name": "counts"}, headers=headers)
    return str(created.json()["id"])


async def test_the_counts_add_up_with_duplicates(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        body = b"+14155552671\n4155552671\n(212) 555-2671\nnot a number\n+14155550123\n"
        done = await upload(app, client, headers, list_id, body)
    assert done["status"] == "succeeded", done
    assert (done["rows_read"], done["rows_accepted"]) == (5, 2)
    assert (done["rows_rejected"], done["rows_duplicate"]) == (2, 1)
    assert (
        done["rows_read"] == done["rows_accepted"] + done["rows_rejected"] + done["rows_duplicate"]
    )
    assert done["phase"] is None


@pytest.mark.parametrize("mode", ["append", "remove", "replace"])
async def test_a_file_with_no_valid_row_fails_in_every_mode(workers: Workers, mode: str) -> None:
    app, _, admin, _ = workers
    garbage = bytes(range(256)) * 4 + b"\nhello\n555-CALL\n"
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        done = await upload(app, client, headers, list_id, garbage, f"?mode={mode}")
    assert done["status"] == "failed", done
    assert done["failure"]["error"] == "upload_rejected"
    assert "no valid phone number" in done["failure"]["message"].lower()
    assert done["rows_rejected"] == done["rows_read"] > 0


async def test_an_octet_stream_body_is_taken_as_the_docs_say(workers: Workers) -> None:
    app, _, admin, _ = workers
    document = app.openapi()["paths"]["/v1/dnc/lists/{list_id}/uploads"]["post"]
    assert "application/octet-stream" in document["requestBody"]["content"]
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        done = await upload(
            app,
            client,
            headers,
            list_id,
            b"+14155552671\n",
            **{"content-type": "application/octet-stream"},
        )
    assert done["status"] == "succeeded", done
    assert done["rows_accepted"] == 1


async def test_a_running_upload_says_when_it_is_merging(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, admin, _ = workers
    monkeypatch.setattr(importer, "HEARTBEAT_S", 0.05)
    runner = app.state.uploads
    dnc_target = runner.targets["dnc"]

    class SlowMerge:
        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.finished_event = inner.finished_event
            self.details = inner.details

        async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
            await asyncio.sleep(0.6)  # a merge that takes a while
            result: tuple[int, int] = await self.inner.merge(raw, mode)
            return result

    async def slow(raw: Any, upload: Mapping[str, Any]) -> Any:
        return SlowMerge(await dnc_target(raw, upload))

    monkeypatch.setattr(runner, "targets", {**runner.targets, "dnc": slow})
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        response = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads",
            content=b"+14155552671\n",
            headers={**headers, "content-type": "text/csv"},
        )
        path = f"/v1/dnc/uploads/{response.json()['id']}"
        phases = set()
        for _ in range(40):
            upload = (await client.get(path, headers=headers)).json()
            phases.add(upload["phase"])
            if upload["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.05)
        await runner.wait()
        final = (await client.get(path, headers=headers)).json()
    assert "merging" in phases, phases
    assert final["status"] == "succeeded"
    assert final["phase"] is None
    # finished_at is when it finished (after the slow merge), not when its transaction began,
    # and its change event says the same instant
    created = datetime.fromisoformat(final["created_at"])
    finished = datetime.fromisoformat(final["finished_at"])
    assert finished - created >= timedelta(seconds=0.6)
    async with client_of(app) as client:
        events = await client.get(
            "/v1/audit/events", params={"type": "dnc_upload.finished"}, headers=headers
        )
    (event,) = [e for e in events.json()["data"] if e["target"] == final["id"]]
    assert datetime.fromisoformat(event["at"]) == finished
