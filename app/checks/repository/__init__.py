"""The check writer's statements on check records: its lookup and its writes
(app/checks/pipeline.py runs them on its slots' driver connections, scrubs the lookup on theirs),
and upkeep's partitions and counts. The audit trail's reads of the records are in `trail`."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.attempts.repository import CHECK_LOOKUP_ATTEMPTS
from app.checks import chain
from app.consents.repository import check_lookup_consented
from app.core.schemas import utc_isoformat
from app.dnc.repository import CHECK_LOOKUP_LISTED, CHECK_LOOKUP_REGISTRY_AGING
from app.optouts.repository import CHECK_LOOKUP_OPTED_OUT

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
