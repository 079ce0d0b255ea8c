"""Bulk uploads through the HTTP API, run in the background against committed data."""

from __future__ import annotations

import asyncio
import gzip
import time

import httpx
from sqlalchemy import text

from tests.dnc.api import paged_numbers, upload
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

CSV = "text/csv"


async def _list(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/v1/dnc/lists", json={"name": "uploads"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_csv_append_with_bad_rows_and_duplicates(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        body = (
            "\ufeffname,Phone,note\r\n"
            "ann,(415) 555-2671,x\r\n"
            "bob,555-CALL,y\r\n"
            "\r\n"
            "cy,+1 212 555 2671,z\r\n"
            "dee,4155552671,dup\r\n"
            "eve,+14155550123,fictional\r\n"
        ).encode()
        done = await upload(app, client, headers, list_id, body)
        assert done["status"] == "succeeded", done
        assert (done["rows_read"], done["rows_rejected"]) == (5, 2)
        assert (done["rows_accepted"], done["rows_added"]) == (2, 2)
        assert done["errors"] == [
            {"line": 3, "value": "555-CALL", "reason": "not_a_phone_number"},
            {"line": 7, "value": "+14155550123", "reason": "fictional"},
        ]
        assert await paged_numbers(client, headers, list_id) == ["+12125552671", "+14155552671"]
        lookup = (await client.get("/v1/dnc/numbers/+14155552671", headers=headers)).json()
        assert lookup["listed"] is True
        got = (await client.get(f"/v1/dnc/lists/{list_id}", headers=headers)).json()
        assert got["entry_count"] == 2


async def test_gzip_ftc_file_then_remove(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        ftc = gzip.compress(b"415,5552671\n212,5552671\n305,5552671\n")
        done = await upload(app, client, headers, list_id, ftc, **{"content-encoding": "gzip"})
        assert done["rows_added"] == 3
        removed = await upload(
            app, client, headers, list_id, b"2125552671\n9995552671\n", "?mode=remove"
        )
        assert (removed["rows_removed"], removed["rows_rejected"]) == (1, 1)
        assert await paged_numbers(client, headers, list_id) == ["+13055552671", "+14155552671"]


async def test_replace_safety_check_and_force(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        await upload(app, client, headers, list_id, b"4155552671\n2125552671\n")
        risky = b"3055552671\nnot a number\n"  # half the rows rejected
        failed = await upload(app, client, headers, list_id, risky, "?mode=replace")
        assert failed["status"] == "failed"
        assert failed["failure"]["error"] == "upload_rejected"
        assert await paged_numbers(client, headers, list_id) == ["+12125552671", "+14155552671"]
        forced = await upload(app, client, headers, list_id, risky, "?mode=replace&force=true")
        assert (forced["status"], forced["rows_added"], forced["rows_removed"]) == (
            "succeeded",
            1,
            2,
        )
        assert await paged_numbers(client, headers, list_id) == ["+13055552671"]
        empty = await upload(app, client, headers, list_id, b"\n\n", "?mode=replace")
        assert empty["failure"]["error"] == "upload_rejected"
        assert await paged_numbers(client, headers, list_id) == ["+13055552671"]


async def test_unreadable_files_fail_and_change_nothing(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        done = await upload(app, client, headers, list_id, b"name,email\nann,a@b.c\n")
        assert done["failure"]["error"] == "unreadable_file"
        json_body = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads", json={"x": 1}, headers=headers
        )
        assert_envelope(json_body, 415, "unsupported_media_type")


async def test_other_tenant_cannot_upload_or_read_uploads(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, a = await tenant_with_key(client, admin)
        _, b = await tenant_with_key(client, admin)
        list_id = await _list(client, a)
        done = await upload(app, client, a, list_id, b"4155552671\n")
        assert_envelope(
            await client.get(f"/v1/dnc/uploads/{done['id']}", headers=b), 404, "not_found"
        )
        response = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads", content=b"1", headers={**b, "content-type": CSV}
        )
        assert_envelope(response, 404, "not_found")


async def test_an_upload_whose_process_died_reads_as_failed(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        async with database.engine.begin() as conn:
            tenant = await conn.scalar(
                text("SELECT tenant_id FROM dnc_lists WHERE id = :l"), {"l": list_id}
            )
            await conn.execute(
                text(
                    "INSERT INTO uploads (id, list_id, tenant_id, mode, status, heartbeat_at) "
                    "VALUES ('upl_orphan', :l, :t, 'append', 'running', now() - interval '1 hour')"
                ),
                {"l": list_id, "t": tenant},
            )
        started = time.monotonic()
        got = (await client.get("/v1/dnc/uploads/upl_orphan", headers=headers)).json()
        assert got["status"] == "failed"
        assert got["failure"]["error"] == "interrupted"
        assert time.monotonic() - started < 5
        await asyncio.sleep(0)


async def test_idempotency_key_on_uploads_replays_and_detects_another_file(
    workers: Workers,
) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        keyed = {**headers, "content-type": CSV, "Idempotency-Key": "upload-once"}
        url = f"/v1/dnc/lists/{list_id}/uploads"
        first = await client.post(url, content=b"4155552671\n", headers=keyed)
        again = await client.post(url, content=b"4155552671\n", headers=keyed)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = await client.post(url, content=b"2125552671\n", headers=keyed)
        assert_envelope(other, 409, "idempotency_key_reused")
        await app.state.uploads.wait()
        async with database.engine.connect() as conn:
            runs = await conn.scalar(
                text("SELECT count(*) FROM uploads WHERE list_id = :l"), {"l": list_id}
            )
        assert runs == 1


async def test_multipart_upload_with_a_gzipped_file(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        list_id = await _list(client, headers)
        data = gzip.compress(b"phone\n415-555-2671\n(212) 555-2671\n")
        response = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads",
            files={"file": ("numbers.csv.gz", data, "application/gzip")},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        await app.state.uploads.wait()
        done = (
            await client.get(f"/v1/dnc/uploads/{response.json()['id']}", headers=headers)
        ).json()
        assert (done["status"], done["rows_added"]) == ("succeeded", 2)
        missing = await client.post(
            f"/v1/dnc/lists/{list_id}/uploads",
            files={"other": ("x.csv", b"4155552671\n", "text/csv")},
            headers=headers,
        )
        assert_envelope(missing, 400, "validation_failed")


async def test_a_merge_longer_than_the_request_timeout_still_succeeds(workers: Workers) -> None:
    """Uploads run on a connection of their own: the pool's request timeout (here 5 s, and
    6 s on the client side) would cut off a merge of tens of millions of rows."""
    app, _, admin, database = workers
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION slow_merge() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(7); RETURN NULL; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER slow_merge AFTER INSERT ON dnc_entries "
                "FOR EACH STATEMENT EXECUTE FUNCTION slow_merge()"
            )
        )
    try:
        async with client_of(app) as client:
            _, headers = await tenant_with_key(client, admin)
            list_id = await _list(client, headers)
            done = await upload(app, client, headers, list_id, b"4155552671\n")
            assert done["status"] == "succeeded", done
    finally:
        async with database.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER slow_merge ON dnc_entries"))
            await conn.execute(text("DROP FUNCTION slow_merge()"))
