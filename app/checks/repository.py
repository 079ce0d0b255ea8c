"""Every statement on check records: the check writer's lookup and writes (app/checks/pipeline.py
runs them on its slots' driver connections), and the audit trail's reads (a filtered page, one
record, every matching record in order for CSV, every chain of a tenant for verify, a number's
records, the hourly counts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    RowMapping,
    Select,
    cast,
    func,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.attempts.repository import CHECK_LOOKUP_ATTEMPTS
from app.checks import chain
from app.checks.models import COUNTED
from app.checks.models import check_counts as counts
from app.checks.models import check_records as t
from app.consents.repository import check_lookup_consented
from app.core.db import Database
from app.core.pagination import PageRequest
from app.core.schemas import utc_isoformat
from app.dnc.repository import CHECK_LOOKUP_LISTED, CHECK_LOOKUP_REGISTRY_AGING
from app.optouts.repository import CHECK_LOOKUP_OPTED_OUT

STREAM_ROWS = 2000
Row = RowMapping

# One statement for everything a batch's checks look up, each half written by the feature that
# owns its tables: a row per list holding one of its numbers (global, or of one of its tenants),
# a row per opt-out state of one of its tenants that opts a number out, a row per consent one of
# its tenants holds for a number found on a registry list, and a row per registry list that
# applies and is near or past its maximum age (usually none). Python gives each check the rows of
# its number and tenant (app/checks/matching.py). The listed half is computed once (the consents
# probe only its registry numbers, about a tenth of a batch's); the others are plain subqueries,
# pulled up into the UNION ALL. Every row has the same columns:
#   0 number, 1 tenant_id, 2 id, 3 name | basis, 4 scope | channel, 5 listed_at | obtained_at |
#   refreshed_at | an attempt's at, 6-13 the opt-out columns, 14 what the row is (a list kind,
#   'consent', 'aging', 'attempt', or null for an opt-out), 15 expires_at, 16 revoked_at,
#   17 max_age_days. An attempt row has its purpose in 3 and its disposition in 4.
REGISTRY_NUMBERS = "ARRAY(SELECT number FROM listed WHERE kind = 'registry')"
_NO_OPT_OUT = (
    "NULL::boolean, NULL::timestamptz, NULL::text, NULL::text, "
    "NULL::boolean, NULL::timestamptz, NULL::text, NULL::text"
)
LOOKUP = f"""
WITH listed AS MATERIALIZED ({CHECK_LOOKUP_LISTED})
SELECT number, tenant_id, id, name, scope, listed_at, {_NO_OPT_OUT},
  kind, NULL::timestamptz, NULL::timestamptz, NULL::int
FROM listed
UNION ALL
SELECT number, tenant_id, NULL, NULL, NULL, NULL,
  voice_out, voice_at, voice_channel, voice_source, sms_out, sms_at, sms_channel, sms_source,
  NULL, NULL, NULL, NULL
FROM ({CHECK_LOOKUP_OPTED_OUT}) opted_out
UNION ALL
SELECT number, tenant_id, id, basis, channel, obtained_at, {_NO_OPT_OUT},
  'consent', expires_at, revoked_at, NULL
FROM ({check_lookup_consented(REGISTRY_NUMBERS)}) consented
UNION ALL
SELECT NULL, tenant_id, id, name, scope, refreshed_at, {_NO_OPT_OUT},
  'aging', NULL, NULL, max_age_days
FROM ({CHECK_LOOKUP_REGISTRY_AGING}) aging
"""
# with the attempts of the numbers some cap may apply to: a batch with no such check sends the
# statement above, which does not touch the attempts' partitions at all
LOOKUP_CAPPED = f"""{LOOKUP}
UNION ALL
SELECT number, tenant_id, NULL, purpose, disposition, at, {_NO_OPT_OUT},
  'attempt', NULL, NULL, NULL
FROM ({CHECK_LOOKUP_ATTEMPTS}) attempts
"""

# A small batch's records as one JSON array of rows (COLUMNS in order, the hashes in hex): one
# text parameter that PostgreSQL parses once, where seventeen arrays cost asyncpg several times
# more to encode (a single check's INSERT went from about 125 to 90 microseconds of the worker's
# CPU, four records from 165 to 70); the details stay the exact text the chain hashed.
INSERT = """
INSERT INTO check_records (id, decided_at, tenant_id, api_key_id, request_id, phone, at,
  channel, recipient_state, batch, outcome, error, details, lane, lane_seq, prev_hash, hash)
SELECT r->>0, (r->>1)::timestamptz, r->>2, r->>3, r->>4, r->>5, (r->>6)::timestamptz, r->>7,
  r->>8, (r->>9)::boolean, r->>10, r->>11, (r->>12)::json, r->>13, (r->>14)::bigint,
  decode(r->>15, 'hex'), decode(r->>16, 'hex')
FROM jsonb_array_elements($1::jsonb) r
"""
COLUMNS = (*chain.CONTENT, "prev_hash", "hash")
HASHES = len(chain.CONTENT)  # where prev_hash and hash are in a row of COLUMNS
COPY_FROM = 500  # records in a batch from which they are written with COPY


async def prefer_generic_plans(raw: Any) -> None:
    """A writer slot's connection keeps one generic plan for its prepared lookup: PostgreSQL
    would otherwise plan it anew on every execution (custom plans), which cost several times
    the lookup itself; the generic plan is the same index probes in number order."""
    await raw.execute("SET plan_cache_mode = force_generic_plan")


async def reset_plans(raw: Any) -> None:
    await raw.execute("RESET plan_cache_mode")


def look_up(
    raw: Any,
    numbers: list[int],
    tenants: list[str],
    now: datetime,
    furthest: datetime,
    attempts: tuple[list[int], datetime, datetime],
) -> Awaitable[Any]:
    """The batch's lookup (sent once awaited, or run as a task); its rows. Entries are read at
    `now`, the registry lists' freshness at `furthest` (the latest of now and the checks' `at`);
    `attempts` are the numbers to read attempts of (LOOKUP_CAPPED; none: LOOKUP) and the span
    of their `at` (jobs.attempts_scope)."""
    capped, start, end = attempts
    result: Awaitable[Any]
    if capped:
        result = raw.fetch(LOOKUP_CAPPED, numbers, tenants, now, furthest, start, end, capped)
    else:
        result = raw.fetch(LOOKUP, numbers, tenants, now, furthest)
    return result


async def write_records(raw: Any, records: Iterator[tuple[Any, ...]], count: int) -> None:
    """The batch's `count` records, rows of COLUMNS: one INSERT, or for a big batch binary COPY
    (about a third cheaper for thousands of rows, but more round trips). `records` is consumed
    as COPY sends it: checks are decided and hashed while PostgreSQL stores the first ones."""
    if count >= COPY_FROM:
        await raw.copy_records_to_table("check_records", records=records, columns=list(COLUMNS))
    elif count:
        rows = [(*row[:HASHES], row[HASHES].hex(), row[HASHES + 1].hex()) for row in records]
        # instants spelled as the chain hashes them (any offset, a naive or subclassed datetime)
        text = orjson.dumps(rows, option=orjson.OPT_PASSTHROUGH_DATETIME, default=utc_isoformat)
        await raw.execute(INSERT, text.decode())


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
    if flt.every_tenant and flt.outcome is None and flt.error is None and flt.api_key_id is None:
        stmt = _every_owners_page(flt, page.after, page.limit + 1)
        return list((await session.execute(stmt)).mappings().all())
    stmt = _newest_first(flt)
    if page.after is not None:
        stmt = stmt.where(tuple_(t.c.decided_at, t.c.id) < tuple_(*page.after))
    return list((await session.execute(stmt.limit(page.limit + 1))).mappings().all())


def _every_owners_page(
    flt: CheckFilter, after: tuple[datetime, str] | None, limit: int
) -> Select[Any]:
    """Every tenant's matching records (and the platform's), newest first: the first `limit` of
    each owner, read in its own index order (ix_check_records_tenant_decided, or with `phone`
    ix_check_records_tenant_phone), merged. No index orders every owner's records together (one
    would cost every check's write), and one ORDER BY over them all sorted every record of
    every month for each page: 1.5-2.0 s at 4.8 million records of 50 tenants. This costs a few
    index descents per owner and month, and up to `limit` rows per owner, instead (16-26 ms
    there, pages of 101). The owners are found in the records themselves (a skip scan of the
    index's first column), so no record is missed, whatever the tenants table holds.

    Not for a filter on outcome, error or key: an owner with no match would be walked to its
    first record in index order, slower than the one sort when the filter matches little (5.5
    s against 1.1 s for a key with no record, at 4.8 million). Those pages sort as before."""
    conditions = flt.where()
    if after is not None:
        conditions.append(tuple_(t.c.decided_at, t.c.id) < tuple_(*after))
    order = (t.c.tenant_id.desc(), t.c.decided_at.desc(), t.c.id.desc())
    first = select(t.c.tenant_id).where(t.c.tenant_id.is_not(None))
    owners = first.order_by(t.c.tenant_id).limit(1).cte("owners", recursive=True)
    following = (
        select(t.c.tenant_id)
        .where(t.c.tenant_id > owners.c.tenant_id)
        .order_by(t.c.tenant_id)
        .limit(1)
        .scalar_subquery()
        .correlate(owners)
    )
    owners = owners.union_all(select(following).where(owners.c.tenant_id.is_not(None)))
    own = select(t).where(t.c.tenant_id == owners.c.tenant_id, *conditions)
    per_tenant = own.order_by(*order).limit(limit).lateral("per_tenant")
    tenants = select(per_tenant).select_from(owners).join(per_tenant, true())
    platform = select(t).where(t.c.tenant_id.is_(None), *conditions).order_by(*order).limit(limit)
    merged = union_all(tenants, platform).subquery("merged")
    return select(merged).order_by(merged.c.decided_at.desc(), merged.c.id.desc()).limit(limit)


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
    start = func.date_trunc(bucket, counts.c.hour, "UTC").label("start")
    stmt = (
        select(start, *(cast(func.sum(counts.c[name]), BigInteger).label(name) for name in COUNTED))
        .where(counts.c.hour >= since, counts.c.hour < until)
        .group_by(start)
        .order_by(start)
    )
    if not every_tenant:
        stmt = stmt.where(counts.c.tenant_id == (tenant_id or PLATFORM))
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


async def compact_counts(engine: AsyncEngine) -> int:
    """Merge the lanes of every hour before the last one into one row per tenant and hour (no
    batch writes them any more); how many rows were merged."""
    async with engine.begin() as conn:
        merged = await conn.scalar(
            text(
                "SELECT compact_check_counts(date_trunc('hour', now(), 'UTC') - interval '1 hour')"
            )
        )
    return int(merged or 0)


async def ensure_partitions(engine: AsyncEngine, months_ahead: int) -> int:
    """Make the missing monthly partitions up to `months_ahead`; how many were made."""
    async with engine.begin() as conn:
        made = await conn.scalar(
            text("SELECT ensure_check_partitions(:ahead)"), {"ahead": months_ahead}
        )
    return int(made or 0)
