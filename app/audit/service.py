"""The audit trail's reads: check records (paged, or every row as CSV), change events, and the
end-to-end verification of the hash chains."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, text, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import ChangeEvent
from app.checks import chain
from app.checks.models import check_records as t
from app.core.csvcells import inert
from app.core.db import Database
from app.core.errors import NotFound
from app.core.pagination import PageRequest, encode_cursor
from app.core.schemas import rfc3339_utc

CSV_FIELDS = (
    "check_id",
    "decided_at",
    "at",
    "tenant_id",
    "api_key_id",
    "phone",
    "outcome",
    "error",
    "details",
    "request_id",
)
STREAM_ROWS = 2000


@dataclass(frozen=True, slots=True)
class CheckFilter:
    tenant_id: str | None  # None with every_tenant: all tenants
    every_tenant: bool
    outcome: str | None = None
    error: str | None = None
    phone: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    api_key_id: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if not self.every_tenant:
            conditions.append(
                t.c.tenant_id.is_(None)
                if self.tenant_id is None
                else t.c.tenant_id == self.tenant_id
            )
        for column, value in (
            (t.c.outcome, self.outcome),
            (t.c.error, self.error),
            (t.c.phone, self.phone),
            (t.c.api_key_id, self.api_key_id),
        ):
            if value is not None:
                conditions.append(column == value)
        if self.since is not None:
            conditions.append(t.c.decided_at >= self.since)
        if self.until is not None:
            conditions.append(t.c.decided_at < self.until)
        return conditions


def _select(flt: CheckFilter) -> Select[Any]:
    return select(t).where(*flt.where()).order_by(t.c.decided_at.desc(), t.c.id.desc())


def record_out(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "check_id": row["id"],
        "decided_at": row["decided_at"],
        "at": row["at"],
        "tenant_id": row["tenant_id"],
        "api_key_id": row["api_key_id"],
        "phone": row["phone"],
        "outcome": row["outcome"],
        "error": row["error"],
        "details": row["details"],
        "request_id": row["request_id"],
    }


async def list_checks(
    session: AsyncSession, flt: CheckFilter, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    stmt = _select(flt)
    if page.after is not None:
        stmt = stmt.where(tuple_(t.c.decided_at, t.c.id) < tuple_(*page.after))
    rows = (await session.execute(stmt.limit(page.limit + 1))).mappings().all()
    kept = rows[: page.limit]
    more = len(rows) > page.limit
    cursor = encode_cursor(kept[-1]["decided_at"], kept[-1]["id"]) if more and kept else None
    return [record_out(row) for row in kept], cursor


async def get_check(session: AsyncSession, flt: CheckFilter, check_id: str) -> dict[str, Any]:
    row = (
        (await session.execute(select(t).where(t.c.id == check_id, *flt.where())))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("No such check.")
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
    """Every matching record as CSV, header first, read through a server-side cursor in
    chunks: memory stays flat however many rows match. The database ends the transaction if
    this stream is left waiting longer than `idle_in_transaction_ms` between two reads
    (0: never, for the command line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    yield buffer.getvalue().encode()
    async with database.sessionmaker() as session:
        await session.execute(
            text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"),
            {"ms": str(idle_in_transaction_ms)},
        )
        result = await session.stream(_select(flt), execution_options={"yield_per": STREAM_ROWS})
        async for rows in result.mappings().partitions(STREAM_ROWS):
            buffer.seek(0)
            buffer.truncate()
            for row in rows:
                out = record_out(row)
                writer.writerow([_csv_value(out[field]) for field in CSV_FIELDS])
            yield buffer.getvalue().encode()


async def verify(session: AsyncSession, tenant_id: str | None) -> dict[str, Any]:
    """Walk every chain of the tenant in order, recomputing each hash."""
    owner = t.c.tenant_id.is_(None) if tenant_id is None else t.c.tenant_id == tenant_id
    stmt = select(t).where(owner).order_by(t.c.lane, t.c.lane_seq)
    result = await session.stream(stmt, execution_options={"yield_per": STREAM_ROWS})
    records = 0
    first_bad: str | None = None
    lane: str | None = None
    expected_seq = 1
    prev = chain.GENESIS
    head: tuple[datetime, str, bytes] | None = None
    async for rows in result.mappings().partitions(STREAM_ROWS):
        for row in rows:
            records += 1
            if row["lane"] != lane:
                lane, expected_seq, prev = row["lane"], 1, chain.GENESIS
            intact = (
                row["lane_seq"] == expected_seq
                and bytes(row["prev_hash"]) == prev
                and chain.link(prev, chain.content(row)) == bytes(row["hash"])
            )
            if not intact and first_bad is None:
                first_bad = row["id"]
            expected_seq = row["lane_seq"] + 1
            prev = bytes(row["hash"])
            if head is None or (row["decided_at"], row["id"]) > head[:2]:
                head = (row["decided_at"], row["id"], prev)
    return {
        "ok": first_bad is None,
        "records": records,
        "head": head[2].hex() if head else None,
        "first_bad": first_bad,
    }


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
    conditions: list[ColumnElement[bool]] = []
    if not every_tenant:
        # a tenant's own changes, and the platform's (global lists, area codes, bans) that
        # decide its checks too
        shared = and_(
            ChangeEvent.tenant_id.is_(None),
            or_(*(ChangeEvent.type.startswith(prefix) for prefix in SHARED_EVENT_PREFIXES)),
        )
        conditions.append(
            or_(shared, ChangeEvent.tenant_id == tenant_id)
            if tenant_id is not None
            else ChangeEvent.tenant_id.is_(None)
        )
    if type_ is not None:
        conditions.append(ChangeEvent.type == type_)
    if since is not None:
        conditions.append(ChangeEvent.at >= since)
    if until is not None:
        conditions.append(ChangeEvent.at < until)
    return conditions


async def list_events(
    session: AsyncSession, conditions: list[ColumnElement[bool]], page: PageRequest
) -> tuple[list[ChangeEvent], str | None]:
    stmt = (
        select(ChangeEvent)
        .where(and_(true(), *conditions))
        .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
    )
    if page.after is not None:
        stmt = stmt.where(tuple_(ChangeEvent.at, ChangeEvent.id) < tuple_(*page.after))
    rows = (await session.scalars(stmt.limit(page.limit + 1))).all()
    kept = list(rows[: page.limit])
    more = len(rows) > page.limit
    return kept, encode_cursor(kept[-1].at, kept[-1].id) if more and kept else None
