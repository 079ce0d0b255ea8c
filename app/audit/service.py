"""The audit trail's reads: check records (paged, or every row as CSV), change events, the
end-to-end verification of the hash chains, and the statistics of decisions (from the hourly
counts the checks feature keeps, never from the records)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.errors import CheckNotFound
from app.audit.schemas import Counts
from app.checks import service as checks_service
from app.checks.repository import trail as checks
from app.checks.repository.trail import CheckFilter
from app.core.csvcells import inert
from app.core.db import Database
from app.core.errors import ValidationFailed
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import rfc3339_utc
from app.events import repository as events

CSV_FIELDS = (
    "check_id",
    "decided_at",
    "at",
    "tenant_id",
    "api_key_id",
    "phone",
    "channel",
    "recipient_state",
    "outcome",
    "error",
    "details",
    "request_id",
)


def record_out(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "check_id": row["id"],
        "decided_at": row["decided_at"],
        "at": row["at"],
        "tenant_id": row["tenant_id"],
        "api_key_id": row["api_key_id"],
        "phone": row["phone"],
        "channel": row["channel"],
        "recipient_state": row["recipient_state"],
        "outcome": row["outcome"],
        "error": row["error"],
        "details": row["details"],
        "request_id": row["request_id"],
    }


async def list_checks(
    session: AsyncSession, flt: CheckFilter, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    rows = await checks.page_records(session, flt, page)
    kept, cursor = cut_page(rows, page, key=lambda row: (row["decided_at"], row["id"]))
    return [record_out(row) for row in kept], cursor


async def get_check(session: AsyncSession, flt: CheckFilter, check_id: str) -> dict[str, Any]:
    row = await checks.record(session, flt, check_id)
    if row is None:
        raise CheckNotFound()
    return record_out(row)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return rfc3339_utc(value)
    if isinstance(value, dict | list):
        return inert(json.dumps(value, separators=(",", ":"), sort_keys=True))
    return inert(str(value))


async def stream_csv(
    database: Database, flt: CheckFilter, idle_in_transaction_ms: int = 0
) -> AsyncIterator[bytes]:
    """Every matching record as CSV, header first, in chunks: memory stays flat however many
    rows match (`checks.stream_records` says what `idle_in_transaction_ms` does)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    yield buffer.getvalue().encode()
    async for rows in checks.stream_records(database, flt, idle_in_transaction_ms):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            out = record_out(row)
            writer.writerow([_csv_value(out[field]) for field in CSV_FIELDS])
        yield buffer.getvalue().encode()


async def verify(
    database: Database, tenant_id: str | None, *, every_tenant: bool = False
) -> dict[str, Any]:
    """Walk every chain of the tenant (or of every tenant) in order, recomputing each hash, all
    from one snapshot (the walk is many statements: a record written meanwhile is not half in)."""
    async with database.sessionmaker() as session:
        await database.one_snapshot(session)
        return await checks_service.verify_chains(session, tenant_id, every_tenant=every_tenant)


# the platform's changes (tenant NULL) that decide every tenant's checks, and so are shown to
# every tenant; the rest of the platform's (its own keys) are for admins only
SHARED_EVENT_PREFIXES = ("dnc_list.", "dnc_number.", "dnc_upload.", "area_code.", "ban.", "policy.")


def event_filter(
    tenant_id: str | None,
    every_tenant: bool,
    type_: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    return events.event_filter(tenant_id, every_tenant, type_, since, until, SHARED_EVENT_PREFIXES)


async def list_events(
    session: AsyncSession, conditions: list[ColumnElement[bool]], page: PageRequest
) -> tuple[list[events.Event], str | None]:
    rows = await events.page_events(session, conditions, page)
    return cut_page(rows, page, key=lambda event: (event.at, event.id))


BucketSize = Literal["hour", "day"]
STEP: dict[BucketSize, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
DEFAULT_SPAN: dict[BucketSize, timedelta] = {"hour": timedelta(hours=24), "day": timedelta(days=30)}
MAX_BUCKETS = 10_000
OUTCOMES = tuple(Counts.model_fields)


def _floor(at: datetime, bucket: BucketSize) -> datetime:
    at = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0) if bucket == "day" else at


def _ceil(at: datetime, bucket: BucketSize) -> datetime:
    floor = _floor(at, bucket)
    return floor if floor == at else floor + STEP[bucket]


def stats_range(
    since: datetime | None, until: datetime | None, bucket: BucketSize, now: datetime
) -> tuple[datetime, datetime]:
    """The whole buckets covering [since, until): by default up to the end of the current
    bucket, from a day (hourly) or 30 days (daily) before."""
    end = _ceil(until or now, bucket)
    start = _floor(since, bucket) if since is not None else end - DEFAULT_SPAN[bucket]
    if start >= end:
        raise ValidationFailed.field("since", "must be before until")
    if (end - start) / STEP[bucket] > MAX_BUCKETS:
        raise ValidationFailed.field(
            "since", f"the range holds more than {MAX_BUCKETS} buckets of one {bucket}"
        )
    return start, end


async def stats(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    every_tenant: bool,
    since: datetime | None,
    until: datetime | None,
    bucket: BucketSize,
) -> bytes:
    """Decisions per bucket by outcome, every bucket of the range (empty ones as zeros), as
    the JSON of `StatsOut`: thousands of buckets are written straight, not validated one by
    one (a year by the hour is 8,760 of them)."""
    start, end = stats_range(since, until, bucket, datetime.now(UTC))
    rows = await checks.count_buckets(
        session,
        tenant_id=tenant_id,
        every_tenant=every_tenant,
        since=start,
        until=end,
        bucket=bucket,
    )
    found = {row["start"]: row for row in rows}
    zeros = dict.fromkeys(OUTCOMES, 0)
    buckets = []
    totals = dict(zeros)
    at = start
    while at < end:
        row = found.get(at)
        counts = zeros if row is None else {name: int(row[name]) for name in OUTCOMES}
        for name, count in counts.items():
            totals[name] += count
        buckets.append({"start": rfc3339_utc(at), **counts})
        at += STEP[bucket]
    return orjson.dumps(
        {
            "since": rfc3339_utc(start),
            "until": rfc3339_utc(end),
            "bucket": bucket,
            "buckets": buckets,
            "totals": totals,
        }
    )
