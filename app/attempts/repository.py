"""All SQL of call attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import BigInteger, DateTime, Text

from app.attempts.models import call_attempts

# ---------------------------------------------------------------------------------------------
# Reported attempts (POST /v1/attempts), a number's listing, and the partitions' upkeep.

# A request's attempts in one statement, whatever their number: one array per column, unnested
# into rows (no statement per item, no parameter per value).
_RECORD = text(
    """
    INSERT INTO call_attempts
        (id, at, tenant_id, number, purpose, channel, disposition, check_id)
    SELECT a.id, a.at, :tenant_id, a.number, a.purpose, a.channel, a.disposition, a.check_id
    FROM unnest(:ids, :ats, :numbers, :purposes, :channels, :dispositions, :check_ids)
        AS a(id, at, number, purpose, channel, disposition, check_id)
    """
).bindparams(
    bindparam("ids", type_=ARRAY(Text)),
    bindparam("ats", type_=ARRAY(DateTime(timezone=True))),
    bindparam("numbers", type_=ARRAY(BigInteger)),
    bindparam("purposes", type_=ARRAY(Text)),
    bindparam("channels", type_=ARRAY(Text)),
    bindparam("dispositions", type_=ARRAY(Text)),
    bindparam("check_ids", type_=ARRAY(Text)),
)


async def record_attempts(
    session: AsyncSession,
    *,
    tenant_id: str,
    ids: list[str],
    ats: list[datetime],
    numbers: list[int],
    purposes: list[str],
    channels: list[str],
    dispositions: list[str | None],
    check_ids: list[str | None],
) -> int:
    """Append a tenant's attempts (one list per column, one item each); how many were added."""
    result = await session.execute(
        _RECORD,
        {
            "tenant_id": tenant_id,
            "ids": ids,
            "ats": ats,
            "numbers": numbers,
            "purposes": purposes,
            "channels": channels,
            "dispositions": dispositions,
            "check_ids": check_ids,
        },
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def number_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    number: int,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Any]:
    """Up to `limit` of a tenant's attempts at a number, newest first (at, then id), with `at`
    in [since, until), before the position `before` (at, id): the (tenant, number, at) index,
    read backwards over the months the span touches."""
    a = call_attempts.c
    stmt = select(
        a.id, a.at, a.number, a.purpose, a.channel, a.disposition, a.check_id, a.recorded_at
    ).where(a.tenant_id == tenant_id, a.number == number)
    if since is not None:
        stmt = stmt.where(a.at >= since)
    if until is not None:
        stmt = stmt.where(a.at < until)
    if before is not None:
        stmt = stmt.where(tuple_(a.at, a.id) < tuple_(*before))
    stmt = stmt.order_by(a.at.desc(), a.id.desc()).limit(limit)
    return (await session.execute(stmt)).all()


async def ensure_partitions(conn: AsyncConnection, months_ahead: int) -> int:
    """Make the missing monthly partitions from last month to `months_ahead` months on (the
    migration's `ensure_attempt_partitions`); how many were made."""
    made = await conn.scalar(
        text("SELECT ensure_attempt_partitions(:ahead)"), {"ahead": months_ahead}
    )
    return int(made or 0)


async def drop_partitions(conn: AsyncConnection, before: datetime) -> int:
    """Drop the monthly partitions whose whole month lies before `before` (the migration's
    `drop_attempt_partitions`); how many were dropped."""
    dropped = await conn.scalar(text("SELECT drop_attempt_partitions(:before)"), {"before": before})
    return int(dropped or 0)


# ---------------------------------------------------------------------------------------------
# The check's statements (app/checks runs them on its writer slots' connections; the lead's).

# The check's batch lookup, this feature's half (app/checks/repository.py joins the halves into
# one statement): the attempts of the tenants $2 at the numbers $7 (those some cap may apply
# to: sorted, distinct) whose `at` lies in [$5, $6), the span that can matter to the batch's
# caps and their next allowed instants. Monthly partitions outside the span are pruned
# at execution. Columns: number, tenant_id, purpose, disposition, at.
CHECK_LOOKUP_ATTEMPTS = """
SELECT a.number, a.tenant_id, a.purpose, a.disposition, a.at
FROM call_attempts a
WHERE a.tenant_id = ANY($2::text[]) AND a.number = ANY($7::bigint[])
  AND a.at >= $5 AND a.at < $6
"""

# A batch with reserving checks takes, before its lookup, a transaction-long advisory lock per
# bucket of the (tenant, number) pairs it reserves (app/checks/jobs.py lock_keys), in key
# order (so two batches never wait on each other in a cycle): a reserving check on the same
# number in any slot or process waits until this batch has committed its attempts, then looks
# up (a new snapshot) and counts them.
_LOCK = (
    "SELECT count(pg_advisory_xact_lock($1::int, k)) FROM "
    "(SELECT k FROM unnest($2::int[]) k ORDER BY k) keys"
)

_RESERVE = """
INSERT INTO call_attempts (id, at, tenant_id, number, purpose, channel, check_id)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::text[],
  $6::text[], $7::text[])
"""


async def lock_numbers(raw: Any, lock_class: int, keys: list[int]) -> None:
    """In the connection's open transaction: the two-key advisory locks (lock_class, key) of
    these keys, in order."""
    await raw.fetchval(_LOCK, lock_class, sorted(set(keys)))


async def reserve(raw: Any, rows: list[tuple[Any, ...]]) -> None:
    """The attempts of allowed reserving checks: (id, at, tenant, number, purpose, channel,
    check id) each; in the batch's transaction."""
    columns = zip(*rows, strict=True)
    await raw.execute(_RESERVE, *(list(column) for column in columns))
