"""A list is refreshed by each succeeded `append` or `replace` upload, in the upload's own
transaction, at its finish; never by a `remove` upload or a failed one (API-2.md section 12).
Uploads run against committed data, so these tests use `workers`."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from tests.dnc.api import upload
from tests.dnc.freshness import age_list, refreshed_at
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

MONTH_AND_A_DAY = timedelta(days=32)


def _at(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def _stale_registry(
    client: httpx.AsyncClient, headers: dict[str, str], workers: Workers
) -> tuple[str, datetime]:
    created = await client.post(
        "/v1/dnc/lists", json={"name": "FTC copy", "kind": "registry"}, headers=headers
    )
    assert created.status_code == 201, created.text
    list_id = str(created.json()["id"])
    async with workers[3].engine.begin() as conn:
        aged = await age_list(conn, list_id, MONTH_AND_A_DAY)
    got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
    assert got["stale"] is True
    return list_id, aged


async def test_a_succeeded_append_refreshes_the_list_at_its_finish(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id, aged = await _stale_registry(client, headers, workers)
        done = await upload(app, client, headers, list_id, b"4155552671\n2125552671\n")
        assert done["status"] == "succeeded", done
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert got["stale"] is False
        refreshed = _at(got["refreshed_at"])
        finished = _at(done["finished_at"])
        # in the merge's transaction, just before the upload is marked finished
        assert aged < refreshed <= finished
        assert finished - refreshed < timedelta(seconds=1)
        assert _at(got["stale_at"]) == refreshed + timedelta(days=31)
        async with database.engine.connect() as conn:
            assert await refreshed_at(conn, list_id) == refreshed


async def test_a_succeeded_replace_refreshes_the_list(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id, aged = await _stale_registry(client, headers, workers)
        # a replace that changes nothing is still a new copy of the registry
        for _ in range(2):
            done = await upload(app, client, headers, list_id, b"4155552671\n", "?mode=replace")
            assert done["status"] == "succeeded", done
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert (got["stale"], got["entry_count"]) == (False, 1)
        assert aged < _at(got["refreshed_at"]) <= _at(done["finished_at"])


async def test_a_remove_upload_does_not_refresh(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id, _ = await _stale_registry(client, headers, workers)
        await upload(app, client, headers, list_id, b"4155552671\n2125552671\n")
        async with database.engine.begin() as conn:
            aged = await age_list(conn, list_id, MONTH_AND_A_DAY)
        done = await upload(app, client, headers, list_id, b"4155552671\n", "?mode=remove")
        assert (done["status"], done["rows_removed"]) == ("succeeded", 1)
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert (got["stale"], got["entry_count"]) == (True, 1)
        assert _at(got["refreshed_at"]) == aged


async def test_a_failed_upload_or_a_single_number_does_not_refresh(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id, aged = await _stale_registry(client, headers, workers)
        unreadable = await upload(app, client, headers, list_id, b"name,email\nann,a@b.c\n")
        assert unreadable["status"] == "failed"
        risky = await upload(app, client, headers, list_id, b"4155552671\nnope\n", "?mode=replace")
        assert risky["failure"]["error"] == "upload_rejected"
        put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/+14155552671", headers=headers)
        assert put.status_code == 201
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert (got["stale"], _at(got["refreshed_at"])) == (True, aged)


async def test_an_internal_list_is_refreshed_too_but_never_stale(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        created = (await client.post("/v1/dnc/lists", json={"name": "own"}, headers=headers)).json()
        async with workers[3].engine.begin() as conn:
            aged = await age_list(conn, created["id"], timedelta(days=400))
        done = await upload(app, client, headers, created["id"], b"4155552671\n")
        got = (await client.get(f"/v1/dnc/lists/{created['id']}", headers=headers)).json()
        assert aged < _at(got["refreshed_at"]) <= _at(done["finished_at"])
        assert (got["stale"], got["stale_at"]) == (False, None)
