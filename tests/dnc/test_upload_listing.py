"""Listing uploads (issue 15's gap: the console's Overview shows every running upload, not only
its own tab's): GET /v1/dnc/uploads and GET /v1/opt-outs/uploads, newest first, filtered by
status, paged by the one cursor, each tenant seeing only what it may read."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

CSV = {"content-type": "text/csv"}


async def _list(client: httpx.AsyncClient, headers: dict[str, str], name: str, **body: Any) -> str:
    response = await client.post("/v1/dnc/lists", json={"name": name, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, query: str = ""
) -> str:
    response = await client.post(
        f"{url}{query}", content=b"4155552671\n", headers={**headers, **CSV}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _made(
    connection: AsyncConnection,
    status: str,
    minutes_ago: int,
    *,
    list_id: str | None = None,
    tenant_id: str | None = None,
    mode: str = "append",
) -> str:
    """An upload row as if it had been posted and had run so far: a DNC upload into `list_id`
    (the list's tenant), or else the tenant's opt-out upload. (Uploads posted in this
    rolled-back transaction never run: the runner's connection cannot see them.)"""
    upload_id = f"upl_t{secrets.token_hex(8)}"
    if list_id is not None:
        tenant_id = await connection.scalar(
            text("SELECT tenant_id FROM dnc_lists WHERE id = :l"), {"l": list_id}
        )
    await connection.execute(
        text(
            "INSERT INTO uploads (id, kind, list_id, tenant_id, channel, source, mode, status, "
            "created_at, heartbeat_at, finished_at, errors) VALUES (:id, :kind, :list, :tenant, "
            ":channel, :source, :mode, :status, clock_timestamp() - make_interval(mins => :ago), "
            "clock_timestamp(), CASE WHEN :done THEN clock_timestamp() END, CAST(:errors AS jsonb))"
        ),
        {
            "id": upload_id,
            "kind": "dnc" if list_id else "optout",
            "list": list_id,
            "tenant": tenant_id,
            "channel": None if list_id else "all",
            "source": None if list_id else "api",
            "mode": mode,
            "status": status,
            "ago": minutes_ago,
            "done": status in ("succeeded", "failed"),
            "errors": '[{"line": 2, "reason": "fictional"}]',
        },
    )
    return upload_id


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [u["id"] for u in response.json()["data"]]


async def test_dnc_uploads_newest_first_by_status_and_list(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
) -> None:
    _, headers = await tenant_with_key(client, admin)
    first = await _list(client, headers, "first")
    second = await _list(client, headers, "second", kind="registry")
    a = await _made(connection, "succeeded", 40, list_id=first)
    b = await _made(connection, "failed", 30, list_id=second, mode="replace")
    c = await _made(connection, "running", 20, list_id=first, mode="remove")
    d = await _made(connection, "queued", 10, list_id=second)

    everything = await client.get("/v1/dnc/uploads", headers=headers)
    assert _ids(everything) == [d, c, b, a]
    assert everything.json()["next_cursor"] is None
    by_id = {u["id"]: u for u in everything.json()["data"]}
    assert (by_id[b]["kind"], by_id[b]["mode"], by_id[b]["status"]) == ("dnc", "replace", "failed")
    assert (by_id[b]["list_id"], by_id[b]["list_name"]) == (second, "second")
    assert by_id[c]["list_name"] == "first"
    assert "errors" not in by_id[a]  # read the one upload for those
    assert by_id[a]["finished_at"] is not None
    assert by_id[d]["finished_at"] is None

    running = await client.get("/v1/dnc/uploads?status=running", headers=headers)
    assert _ids(running) == [c]
    active = await client.get("/v1/dnc/uploads?status=queued&status=running", headers=headers)
    assert _ids(active) == [d, c]
    done = await client.get("/v1/dnc/uploads?status=succeeded&status=failed", headers=headers)
    assert _ids(done) == [b, a]
    assert _ids(await client.get(f"/v1/dnc/uploads?list_id={first}", headers=headers)) == [c, a]
    one = await client.get(f"/v1/dnc/uploads?list_id={second}&status=failed", headers=headers)
    assert _ids(one) == [b]
    assert _ids(await client.get("/v1/dnc/uploads?list_id=lst_nope", headers=headers)) == []


async def test_dnc_uploads_page_with_the_cursor(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
) -> None:
    _, headers = await tenant_with_key(client, admin)
    list_id = await _list(client, headers, "paged")
    made = [await _made(connection, "succeeded", 10 - age, list_id=list_id) for age in range(5)]
    # two uploads in the same instant are ordered by id, and never skipped or repeated
    await connection.execute(
        text(
            "UPDATE uploads SET created_at = (SELECT created_at FROM uploads WHERE id = :a) "
            "WHERE id = :b"
        ),
        {"a": made[2], "b": made[3]},
    )
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await client.get(f"/v1/dnc/uploads?limit=2{cursor}", headers=headers)
        seen += _ids(page)
        pages += 1
        following = page.json()["next_cursor"]
        if following is None:
            break
        cursor = f"&cursor={following}"
    assert pages == 3
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5
    assert (seen[0], seen[-1]) == (made[4], made[0])


@pytest.mark.parametrize(
    "query",
    [
        "status=done",
        "status=RUNNING",
        "limit=0",
        "limit=1001",
        "cursor=nope",
        f"list_id={'x' * 41}",
    ],
)
async def test_bad_listing_queries_are_400(
    client: httpx.AsyncClient, admin: dict[str, str], query: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    assert_envelope(
        await client.get(f"/v1/dnc/uploads?{query}", headers=headers), 400, "validation_failed"
    )
    if query.startswith(("status", "limit", "cursor")):
        assert_envelope(
            await client.get(f"/v1/opt-outs/uploads?{query}", headers=headers),
            400,
            "validation_failed",
        )


async def test_each_tenant_lists_its_own_uploads_and_global_ones(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    a_id, a = await tenant_with_key(client, admin)
    b_id, b = await tenant_with_key(client, admin)
    a_list = await _list(client, a, "a")
    b_list = await _list(client, b, "b")
    ftc = await _list(client, admin, "FTC", scope="global", kind="registry")
    a_upload = await _made(connection, "succeeded", 5, list_id=a_list)
    b_upload = await _made(connection, "running", 4, list_id=b_list)
    ftc_upload = await _made(connection, "queued", 3, list_id=ftc)
    a_optout = await _made(connection, "succeeded", 2, tenant_id=a_id)
    b_optout = await _made(connection, "failed", 1, tenant_id=b_id)

    assert set(_ids(await client.get("/v1/dnc/uploads", headers=a))) == {a_upload, ftc_upload}
    assert set(_ids(await client.get("/v1/dnc/uploads", headers=b))) == {b_upload, ftc_upload}
    assert _ids(await client.get(f"/v1/dnc/uploads?list_id={b_list}", headers=a)) == []
    every = set(_ids(await client.get("/v1/dnc/uploads", headers=admin)))
    assert {a_upload, b_upload, ftc_upload} <= every

    assert _ids(await client.get("/v1/opt-outs/uploads", headers=a)) == [a_optout]
    b_page = await client.get("/v1/opt-outs/uploads", headers=b)
    assert _ids(b_page) == [b_optout]
    summary = b_page.json()["data"][0]
    assert (summary["kind"], summary["channel"], summary["source"]) == ("optout", "all", "api")
    assert "errors" not in summary
    named = await client.get(f"/v1/opt-outs/uploads?tenant_id={b_id}", headers=admin)
    assert _ids(named) == [b_optout]
    assert {a_optout, b_optout} <= set(
        _ids(await client.get("/v1/opt-outs/uploads", headers=admin))
    )
    assert_envelope(
        await client.get(f"/v1/opt-outs/uploads?tenant_id={b_id}", headers=a), 404, "not_found"
    )


async def test_listing_needs_the_read_scope(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, checks_only = await tenant_with_key(client, admin, scopes=["checks:write"])
    for url in ("/v1/dnc/uploads", "/v1/opt-outs/uploads"):
        assert_envelope(await client.get(url, headers=checks_only), 403, "scope_required")


async def test_real_uploads_and_a_dead_one_are_listed_as_they_ended(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        tenant_id, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers, "real")
        good = await _post(client, headers, f"/v1/dnc/lists/{list_id}/uploads")
        await app.state.uploads.wait()
        bad = (
            await client.post(
                f"/v1/dnc/lists/{list_id}/uploads",
                content=b"name,email\nann,a@b.c\n",
                headers={**headers, **CSV},
            )
        ).json()["id"]
        await app.state.uploads.wait()
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO uploads (id, list_id, tenant_id, mode, status, heartbeat_at) "
                    "VALUES ('upl_listed_orphan', :l, :t, 'append', 'running', "
                    "now() - interval '1 hour')"
                ),
                {"l": list_id, "t": tenant_id},
            )
        assert _ids(await client.get("/v1/dnc/uploads?status=succeeded", headers=headers)) == [good]
        started = time.monotonic()
        # its process died: never listed as running, but as failed
        assert _ids(await client.get("/v1/dnc/uploads?status=running", headers=headers)) == []
        assert time.monotonic() - started < 5
        failed = await client.get("/v1/dnc/uploads?status=failed", headers=headers)
        assert set(_ids(failed)) == {bad, "upl_listed_orphan"}
        orphan = next(u for u in failed.json()["data"] if u["id"] == "upl_listed_orphan")
        assert orphan["failure"]["error"] == "interrupted"
