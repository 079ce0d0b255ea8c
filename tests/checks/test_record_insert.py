"""The small batch's INSERT (one JSON array of rows) stores every field exactly as hashed: text
with quotes, backslashes, line breaks and non-ASCII, NULLs, instants to the microsecond in any
offset (one of seconds too, which JSON encoders round to minutes), the details' own spelling and
the hashes' bytes (issue 22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.checks import chain, repository


async def test_small_batches_store_each_field_as_hashed(connection: AsyncConnection) -> None:
    decided = datetime(2026, 12, 6, 15, 30, 1, 123456, tzinfo=UTC)
    at = datetime(2026, 12, 6, 10, 30, 1, 7, tzinfo=timezone(timedelta(hours=-5, seconds=-30)))
    odd = 'q"uote \\ back\nline é 漢 \U0001f4de'
    records = []
    prev = chain.GENESIS
    for seq, (details, state) in enumerate(
        [({"zones": [odd], "b": 1, "a": None}, "CA"), ({}, None)], start=1
    ):
        record = {
            "id": f"chk_insert{seq}",
            "decided_at": decided,
            "tenant_id": None,
            "api_key_id": odd,
            "request_id": f"req_{seq}",
            "phone": "+14155552671",
            "at": at,
            "channel": "voice",
            "recipient_state": state,
            "batch": seq == 2,
            "outcome": "allowed",
            "error": None,
            "details": details,
            "lane": "lane_insert",
            "lane_seq": seq,
        }
        values = chain.content(record)
        digest = chain.link(prev, values)
        records.append((*values, prev, digest))
        prev = digest
    raw = (await connection.get_raw_connection()).driver_connection
    await repository.write_records(raw, iter(records), len(records))

    rows = (
        (
            await connection.execute(
                text("SELECT * FROM check_records WHERE lane = 'lane_insert' ORDER BY lane_seq")
            )
        )
        .mappings()
        .all()
    )
    assert len(rows) == 2
    prev = chain.GENESIS
    for row, written in zip(rows, records, strict=True):
        read = chain.content(row)
        assert read == list(written[: len(chain.CONTENT)])
        assert bytes(row["prev_hash"]) == prev
        assert chain.link(prev, read) == bytes(row["hash"]) == written[-1]
        prev = bytes(row["hash"])
    assert rows[0]["at"] == at
    assert rows[0]["decided_at"] == decided
    stored = (
        await connection.execute(
            text("SELECT details::text FROM check_records WHERE lane = 'lane_insert' ORDER BY 1")
        )
    ).scalars()
    assert sorted(stored) == sorted(written[chain.DETAILS] for written in records)
