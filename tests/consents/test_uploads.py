"""Bulk consent uploads through the HTTP API, run in the background against committed data."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.core.db import Database
from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key
from tests.workers import Workers, client_of

CSV = {"content-type": "text/csv"}


async def _upload(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    response = await client.post("/v1/consents/uploads", content=body, headers={**headers, **CSV})
    assert response.status_code == 202, response.text
    upload = response.json()
    assert (upload["status"], upload["mode"]) == ("queued", "append")
    await app.state.uploads.wait()
    done = await client.get(f"/v1/consents/uploads/{upload['id']}", headers=headers)
    assert done.status_code == 200, done.text
    return dict(done.json())


async def _events(database: Database, tenant_id: str) -> list[Any]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT type, target, details FROM change_events "
                "WHERE tenant_id = :t AND type LIKE 'consent%'"
            ),
            {"t": tenant_id},
        )
        return list(rows)


GOOD_AND_BAD = (
    "Phone,Basis,Obtained_At,Expires_At,Channel,Evidence,notes\n"
    # 2: US inquiry, default 3 months, month end
    "(415) 555-2671,ebr_inquiry,2025-11-30T10:00:00Z,,,,a\n"
    # 3: Canada inquiry, default 6 months, leap day
    "+1 416 555 2671,ebr_inquiry,2023-08-31T10:00:00-04:00,,sms,crm 12,b\n"
    # 4: a transaction with its own expiry and evidence with a tab and a quote
    '2125552671,ebr_transaction,2026-01-05T10:00:00Z,2026-06-01T00:00:00Z,voice,"a\tb ""c""",\n'
    "\n"
    # 6: written consent, never expires
    "+12125552672,express_written_consent,2025-02-01T00:00:00+00:00,,all,doc-7,\n"
    # 7: the same row as line 2: a duplicate
    "(415) 555-2671,ebr_inquiry,2025-11-30T10:00:00Z,,,,a\n"
    # 8-15: rejected rows
    "555-CALL,ebr_inquiry,2025-11-30T10:00:00Z,,,,\n"
    "4155552673,ebr_purchase,2025-11-30T10:00:00Z,,,,\n"
    "4155552674,ebr_inquiry,2025-11-30T10:00:00,,,,\n"
    "4155552675,ebr_inquiry,2025-11-30T10:00:00Z,2025-11-30T10:00:00Z,,,\n"
    "4155552676,ebr_inquiry,2025-11-30T10:00:00Z,,fax,,\n"
    "4155552677,ebr_inquiry,2025-11-30T10:00:00Z,,all," + "e" * 1001 + ",\n"
    "4155552678,ebr_inquiry,2100-01-01T00:00:00Z,,,,\n"
    "4155552679,ebr_inquiry,2025-11-30T10:00:00Z,tomorrow,,,\n"
    "+14155550123,ebr_inquiry,2025-11-30T10:00:00Z,,,,\n"
)


async def test_a_consent_file_records_its_good_rows_and_names_its_bad_ones(
    workers: Workers,
) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        tenant_id, headers = await tenant_with_key(client, admin)
        key_id = (await client.get("/v1/me", headers=headers)).json()["key_id"]
        done = await _upload(app, client, headers, GOOD_AND_BAD.encode())
        assert done["status"] == "succeeded", done
        counts = {k: done[k] for k in done if k.startswith("rows_")}
        assert counts == {
            "rows_read": 14,
            "rows_accepted": 4,
            "rows_rejected": 9,
            "rows_duplicate": 1,
            "rows_added": 4,
            "rows_removed": 0,
        }
        assert [(e["line"], e["reason"]) for e in done["errors"]] == [
            (8, "not_a_phone_number"),
            (9, "unknown_basis"),
            (10, "invalid_obtained_at"),
            (11, "expires_not_after_obtained"),
            (12, "unknown_channel"),
            (13, "evidence_too_long"),
            (14, "obtained_at_in_future"),
            (15, "invalid_expires_at"),
            (16, "fictional"),
        ]
        assert done["errors"][1]["value"] == "ebr_purchase"
        assert len(done["errors"][5]["value"]) == 64  # a long value is cut

        listed = (await client.get("/v1/consents?limit=10", headers=headers)).json()["data"]
        by_phone = {item["phone"]: item for item in listed}
        assert len(listed) == 4
        for item in listed:
            assert item["id"].startswith("cns_")
            assert (item["upload_id"], item["source"], item["created_by"]) == (
                done["id"],
                "upload",
                key_id,
            )
        us = by_phone["+14155552671"]
        assert (us["basis"], us["channel"], us["evidence"]) == ("ebr_inquiry", "all", "")
        assert us["expires_at"] == "2026-02-28T10:00:00Z"
        canada = by_phone["+14165552671"]
        assert canada["obtained_at"] == "2023-08-31T14:00:00Z"
        assert canada["expires_at"] == "2024-02-29T14:00:00Z"
        assert (canada["channel"], canada["evidence"]) == ("sms", "crm 12")
        given = by_phone["+12125552671"]
        assert given["expires_at"] == "2026-06-01T00:00:00Z"
        assert (given["channel"], given["evidence"]) == ("voice", 'a\tb "c"')
        written = by_phone["+12125552672"]
        assert (written["basis"], written["expires_at"]) == ("express_written_consent", None)

        # one event for the upload, none per row
        events = await _events(database, tenant_id)
        assert [e.type for e in events] == ["consent_upload.finished"]
        [finished] = events
        assert finished.target == done["id"]
        assert finished.details == {"source": "upload", "mode": "append", **counts}

        # the same file again records nothing: every row is held already
        again = await _upload(app, client, headers, GOOD_AND_BAD.encode())
        assert (again["rows_accepted"], again["rows_added"]) == (4, 0)
        assert len((await client.get("/v1/consents", headers=headers)).json()["data"]) == 4


async def test_a_revoked_consent_is_not_brought_back_by_an_old_file(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        body = b"phone,basis,obtained_at\n4155552671,ebr_transaction,2026-01-05T10:00:00Z\n"
        first = await _upload(app, client, headers, body)
        assert first["rows_added"] == 1
        [consent] = (await client.get("/v1/consents", headers=headers)).json()["data"]
        revoked = await client.delete(f"/v1/consents/{consent['id']}", headers=headers)
        assert revoked.status_code == 200
        again = await _upload(app, client, headers, gzip.compress(body))
        assert (again["status"], again["rows_accepted"], again["rows_added"]) == (
            "succeeded",
            1,
            0,
        )
        active = (await client.get("/v1/consents?active=true", headers=headers)).json()
        assert active["data"] == []


async def test_a_file_without_the_columns_fails_and_changes_nothing(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        for body, error in (
            (b"phone,basis\n4155552671,ebr_inquiry\n", "unreadable_file"),
            (b"4155552671\n2125552671\n", "unreadable_file"),  # no header
            (b"phone,basis,obtained_at\n", "upload_rejected"),  # no row
            (b"phone,basis,obtained_at\n4155552671,nope,2026-01-05T10:00:00Z\n", "upload_rejected"),
        ):
            done = await _upload(app, client, headers, body)
            assert done["status"] == "failed", done
            assert done["failure"]["error"] == error, done
        assert (await client.get("/v1/consents", headers=headers)).json()["data"] == []


async def test_who_may_upload_and_read_an_upload(workers: Workers) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as client:
        tenant_id, headers = await tenant_with_key(client, admin)
        _, reader = await create_key(client, admin, tenant_id=tenant_id, scopes=["consents:read"])
        body = b"phone,basis,obtained_at\n4155552671,ebr_inquiry,2026-01-05T10:00:00Z\n"
        denied = await client.post("/v1/consents/uploads", content=body, headers={**reader, **CSV})
        assert_envelope(denied, 403, "scope_required")
        for query in ("?mode=replace", "?mode=remove"):
            refused = await client.post(
                f"/v1/consents/uploads{query}", content=body, headers={**headers, **CSV}
            )
            assert_envelope(refused, 400, "validation_failed")
        done = await _upload(app, client, headers, body)
        assert (await client.get(f"/v1/consents/uploads/{done['id']}", headers=reader)).is_success
        # not an opt-out or DNC upload, and not another tenant's
        _, other = await tenant_with_key(client, admin)
        for path, who in (
            (f"/v1/opt-outs/uploads/{done['id']}", headers),
            (f"/v1/dnc/uploads/{done['id']}", headers),
            (f"/v1/consents/uploads/{done['id']}", other),
        ):
            assert_envelope(await client.get(path, headers=who), 404, "not_found")
        # a platform key names the tenant
        as_admin = await client.post(
            f"/v1/consents/uploads?tenant_id={tenant_id}", content=body, headers={**admin, **CSV}
        )
        assert as_admin.status_code == 202, as_admin.text
        await app.state.uploads.wait()
