"""Bulk opt-out uploads through the HTTP API, run in the background against committed data."""

from __future__ import annotations

import gzip

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of


async def _upload(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], body: bytes, query: str = ""
) -> dict[str, object]:
    response = await client.post(
        f"/v1/opt-outs/uploads{query}",
        content=body,
        headers={**headers, "content-type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    upload = response.json()
    assert upload["status"] == "queued"
    await app.state.uploads.wait()
    done = await client.get(f"/v1/opt-outs/uploads/{upload['id']}", headers=headers)
    assert done.status_code == 200, done.text
    return dict(done.json())


async def test_bulk_opt_outs_with_bad_rows(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        tenant_id, headers = await tenant_with_key(client, admin)
        # already opted out on sms: counted as accepted, not as added
        await client.post(
            "/v1/opt-outs", json={"phone": "+12125552671", "channel": "sms"}, headers=headers
        )
        body = (
            b"phone,reply\n"
            b"(415) 555-2671,STOP\n"
            b"555-CALL,STOP\n"
            b"\n"
            b"+1 212 555 2671,QUIT\n"
            b"4155552671,again\n"
            b"+44 20 7946 0958,STOP\n"
        )
        done = await _upload(app, client, headers, body, "?channel=sms&source=sms_stop")
        assert done["status"] == "succeeded", done
        assert (done["channel"], done["source"], done["mode"]) == ("sms", "sms_stop", "append")
        assert (done["rows_read"], done["rows_rejected"], done["rows_accepted"]) == (5, 2, 2)
        assert (done["rows_added"], done["rows_removed"]) == (1, 0)
        assert [(e["line"], e["value"]) for e in done["errors"]] == [  # type: ignore[attr-defined]
            (3, "555-CALL"),
            (7, "+44 20 7946 0958"),
        ]
        state = (await client.get("/v1/opt-outs/+14155552671", headers=headers)).json()
        assert state["opted_out"] == {"voice": False, "sms": True}
        [event] = state["history"]
        assert (event["kind"], event["channel"], event["source"]) == ("opt_out", "sms", "sms_stop")
        assert event["id"].startswith("oo_")
        listed = (await client.get("/v1/opt-outs", headers=headers)).json()["data"]
        assert [item["phone"] for item in listed] == ["+12125552671", "+14155552671"]
        twice = (await client.get("/v1/opt-outs/+12125552671", headers=headers)).json()
        assert len(twice["history"]) == 2

        # the same upload object is not a DNC upload, and another tenant cannot see it
        assert_envelope(
            await client.get(f"/v1/dnc/uploads/{done['id']}", headers=headers), 404, "not_found"
        )
        _, other = await tenant_with_key(client, admin)
        assert_envelope(
            await client.get(f"/v1/opt-outs/uploads/{done['id']}", headers=other),
            404,
            "not_found",
        )
        async with database.engine.connect() as conn:
            finished = (
                await conn.execute(
                    text(
                        "SELECT tenant_id, details FROM change_events "
                        "WHERE type = 'optout_upload.finished' AND target = :id"
                    ),
                    {"id": done["id"]},
                )
            ).one()
        assert finished.tenant_id == tenant_id
        assert finished.details["rows_added"] == 1


async def test_bulk_opt_outs_all_channels_gzip(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        numbers = [f"+1415555{n:04d}" for n in range(2000, 2300)]
        body = gzip.compress("\n".join(numbers).encode())
        done = await _upload(app, client, headers, body)
        assert done["status"] == "succeeded", done
        assert (done["channel"], done["source"], done["rows_added"]) == ("all", "api", 300)
        state = (await client.get(f"/v1/opt-outs/{numbers[7]}", headers=headers)).json()
        assert state["opted_out"] == {"voice": True, "sms": True}


async def test_only_append_and_known_channels(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        for query in ("?mode=replace", "?mode=remove", "?channel=fax", "?source=carrier"):
            response = await client.post(
                f"/v1/opt-outs/uploads{query}",
                content=b"+14155552671\n",
                headers={**headers, "content-type": "text/csv"},
            )
            assert_envelope(response, 400, "validation_failed")
        wrong_type = await client.post(
            "/v1/opt-outs/uploads",
            content=b"{}",
            headers={**headers, "content-type": "application/json"},
        )
        assert_envelope(wrong_type, 415, "unsupported_media_type")
        _, reader = await tenant_with_key(client, admin, scopes=["optouts:read"])
        denied = await client.post(
            "/v1/opt-outs/uploads",
            content=b"+14155552671\n",
            headers={**reader, "content-type": "text/csv"},
        )
        assert_envelope(denied, 403, "scope_required")
