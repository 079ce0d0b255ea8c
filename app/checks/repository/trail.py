"""The audit trail's reads of check records: a filtered page, one record, every matching record
in order for CSV, a number's records, the hourly counts, and every chain of a tenant for
verification. The check writer's own statements are in the package (`app.checks.repository`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    RowMapping,
    Select,
    cast,
    func,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.checks.models import COUNTED
from app.checks.models import check_counts as counts
from app.checks.models import check_records as t
from app.checks.repository import owners
from app.core.db import Database
from app.core.pagination import PageRequest

STREAM_ROWS = 2000
Row = RowMapping


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


def _newest_first(flt: CheckFilter) -> Select[Any]:
    order = [t.c.decided_at.desc(), t.c.id.desc()]
    if not flt.every_tenant:
        # one tenant: the same order, spelled as ix_check_records_tenant_decided read backwards
        # (PostgreSQL does not take the platform's `tenant_id IS NULL` as fixing the first
        # column, and would sort the platform's records for every page otherwise)
        order.insert(0, t.c.tenant_id.desc())
    return select(t).where(*flt.where()).order_by(*order)


async def page_records(session: AsyncSession, flt: CheckFilter, page: PageRequest) -> list[Row]:
    """Up to `page.limit + 1` records, newest first, after the page's cursor."""
    if (
        flt.every_tenant
        and flt.outcome is None
        and flt.error is None
        and flt.api_key_id is None
        and await owners.merge_pays(session)
    ):
        stmt = owners.every_owners_page(flt.where(), page.after, page.limit + 1)
        return list((await session.execute(stmt)).mappings().all())
    stmt = _newest_first(flt)
    if page.after is not None:
        stmt = stmt.where(tuple_(t.c.decided_at, t.c.id) < tuple_(*page.after))
    return list((await session.execute(stmt.limit(page.limit + 1))).mappings().all())


async def record(session: AsyncSession, flt: CheckFilter, check_id: str) -> Row | None:
    stmt = select(t).where(t.c.id == check_id, *flt.where())
    return (await session.execute(stmt)).mappings().first()


async def stream_records(
    database: Database, flt: CheckFilter, idle_in_transaction_ms: int = 0
) -> AsyncIterator[Sequence[Row]]:
    """Every matching record, newest first, in chunks of STREAM_ROWS (memory stays flat). The
    database ends the transaction if the reader leaves it waiting longer than
    `idle_in_transaction_ms` between two chunks (0: never).

    A tenant's records are read in keyset pages along ix_check_records_tenant_decided, each
    page a statement of its own: one statement over every match is planned for its whole
    result, and with a filter matching a fair share of a large tenant's records PostgreSQL
    scanned the whole table and sorted the matches before the first row. Every tenant's
    records have no index in that order (one would cost every check's write): they are read by
    one statement, which sorts them all first, with no statement timeout, as the time that
    takes grows with the table (2.6 s before the first row at five million records on a quiet
    2-core machine, past 5 s on a busy one). All pages read from one snapshot."""
    async with database.sessionmaker() as session:
        await database.one_snapshot(session)
        await session.execute(
            text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"),
            {"ms": str(idle_in_transaction_ms)},
        )
        if flt.every_tenant:
            await session.execute(text("SET LOCAL statement_timeout = 0"))
            result = await session.stream(
                _newest_first(flt), execution_options={"yield_per": STREAM_ROWS}
            )
            async for rows in result.mappings().partitions(STREAM_ROWS):
                yield rows
            return
        after: tuple[datetime, str] | None = None
        while True:
            rows = await page_records(session, flt, PageRequest(STREAM_ROWS - 1, after))
            if rows:
                yield rows
            if len(rows) < STREAM_ROWS:
                return
            after = (rows[-1]["decided_at"], rows[-1]["id"])


async def number_records(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    phone: str,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Row]:
    """Up to `limit` records of one number and tenant (None: the platform's), newest first,
    before `before` (decided_at, id): a range of ix_check_records_tenant_phone, read backwards."""
    owner = t.c.tenant_id.is_(None) if tenant_id is None else t.c.tenant_id == tenant_id
    stmt = (
        select(
            t.c.id,
            t.c.decided_at,
            t.c.at,
            t.c.api_key_id,
            t.c.request_id,
            t.c.channel,
            t.c.recipient_state,
            t.c.batch,
            t.c.outcome,
            t.c.error,
            t.c.details,
        )
        .where(owner, t.c.phone == phone)
        .order_by(t.c.decided_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(tuple_(t.c.decided_at, t.c.id) < tuple_(*before))
    return list((await session.execute(stmt)).mappings().all())


PLATFORM = ""  # check_counts.tenant_id of the platform's own checks
EVERY_TENANT = "*"  # ... and of every tenant's together, for the hours merged (migration 0021)


async def count_buckets(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    every_tenant: bool,
    since: datetime,
    until: datetime,
    bucket: str,
) -> list[Row]:
    """The decisions of each outcome (COUNTED) per `bucket` ('hour' or 'day', UTC) from `since`
    to `until` (both on the hour), summed from check_counts alone: never the records."""
    in_range = (counts.c.hour >= since, counts.c.hour < until)
    source: Any = counts
    if every_tenant:
        # the hours upkeep has merged: their row of every tenant (along the primary key); the
        # rest: the lanes not merged yet (along ix_check_counts_lanes, whose `lane <> ''` a
        # parameter would not match in a generic plan: spelled out). Apart, so that each keeps
        # its index (an OR of the two, or a parameter for '', took 0.5-2 s for 90-365 days)
        columns = (counts.c.hour, *(counts.c[name] for name in COUNTED))
        source = union_all(
            select(*columns).where(
                counts.c.tenant_id == literal_column(f"'{EVERY_TENANT}'"), *in_range
            ),
            select(*columns).where(counts.c.lane != literal_column("''"), *in_range),
        ).subquery("every_tenant")
    start = func.date_trunc(bucket, source.c.hour, "UTC").label("start")
    stmt = (
        select(start, *(cast(func.sum(source.c[name]), BigInteger).label(name) for name in COUNTED))
        .group_by(start)
        .order_by(start)
    )
    if not every_tenant:
        stmt = stmt.where(counts.c.tenant_id == (tenant_id or PLATFORM), *in_range)
    return list((await session.execute(stmt)).mappings().all())


CHAIN_PAGE = 5000  # records per statement of the chain walk


async def chain_rows(
    session: AsyncSession, tenant_id: str | None, *, every_tenant: bool = False
) -> AsyncIterator[Sequence[Row]]:
    """Every record of the tenant (None: the platform's), or of every tenant (the platform's
    last), chain by chain (a tenant's records in one lane) in link order.

    Read in keyset pages along ix_check_records_chain, each page its own short statement: one
    statement ordered over all of a large tenant's records is planned for its whole result, and
    PostgreSQL may sort every record before the first row, past the statement timeout."""
    if every_tenant:
        async for rows in _chain_pages(session, tenants=True):
            yield rows
    async for rows in _chain_pages(session, tenant_id=tenant_id if not every_tenant else None):
        yield rows


async def _chain_pages(
    session: AsyncSession, *, tenant_id: str | None = None, tenants: bool = False
) -> AsyncIterator[Sequence[Row]]:
    """The pages of one tenant's chains (None: the platform's), or (`tenants`) of every named
    tenant's, in (tenant_id, lane, lane_seq) order."""
    owner: ColumnElement[bool]
    # ordered by the whole index key, the one tenant's included: PostgreSQL does not take
    # `tenant_id IS NULL` (the platform's) as fixing the first column, and would sort the
    # platform's every remaining record for each page ordered by (lane, lane_seq) alone
    order = (t.c.tenant_id, t.c.lane, t.c.lane_seq)
    if tenants:
        key: tuple[Any, ...] = order
        owner = t.c.tenant_id.is_not(None)
    else:
        key = order[1:]
        owner = t.c.tenant_id.is_(None) if tenant_id is None else t.c.tenant_id == tenant_id
    # a page near the end of the key range is estimated at a row or two, and a sort of them
    # looks cheaper than merging the partitions' index scans, but it reads every remaining row
    await session.execute(text("SET LOCAL enable_sort = off"))
    after: tuple[Any, ...] | None = None
    while True:
        stmt = select(t).where(owner).order_by(*order).limit(CHAIN_PAGE)
        if after is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*after))
        rows = (await session.execute(stmt)).mappings().all()
        if rows:
            yield rows
        if len(rows) < CHAIN_PAGE:
            return
        after = tuple(rows[-1][column.name] for column in key)
        # nothing makes a chain position unique: a second record at the page's last position
        # (a forged copy) would fall between this page and the next; read it here, so the
        # walk sees it as it would in one statement (and finds the position taken twice)
        seen = {row["id"] for row in rows if tuple(row[c.name] for c in key) == after}
        same = select(t).where(owner, tuple_(*key) == tuple_(*after)).order_by(t.c.id)
        twins = [row for row in (await session.execute(same)).mappings() if row["id"] not in seen]
        if twins:
            yield twins
