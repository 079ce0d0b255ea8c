"""The migrations and the models agree, and every migration can be undone and redone."""

import asyncio
from datetime import UTC, datetime

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.all_models import Base
from app.core.db import async_url, drop_database, ensure_database, plain_url
from app.core.migrations import downgrade, upgrade


def _not_a_partition(name: str | None, type_: str, _: object) -> bool:
    # the monthly partitions of check_records and call_attempts (and the latter's default
    # partition) are made at run time, not declared as models
    return not (
        type_ == "table"
        and name is not None
        and name.startswith(("check_records_p", "call_attempts_p", "call_attempts_default"))
    )


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_a_partition}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_downgrade_to_base_and_up_again(server_url: str) -> None:
    name = "callguard_test_roundtrip"
    asyncio.run(ensure_database(server_url, name))
    url = plain_url(async_url(server_url).set(database=name))
    try:
        upgrade(url)
        downgrade(url, "base")
        upgrade(url)
    finally:
        asyncio.run(drop_database(server_url, name))


async def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(statement)]
    finally:
        await conn.close()


def test_every_tenants_counts_are_summed_from_the_hours_merged_before(server_url: str) -> None:
    """Migration 0021 adds each hour's merged rows (lane '') of every tenant and the platform
    into the hour's row of every tenant ('*'), leaving lanes not merged yet to upkeep; undone,
    those rows go."""
    name = "callguard_test_counts_every_tenant"
    asyncio.run(ensure_database(server_url, name))
    url = plain_url(async_url(server_url).set(database=name))
    try:
        upgrade(url, "0020_change_events_at")
        asyncio.run(
            _sql(
                url,
                "INSERT INTO check_counts (tenant_id, hour, lane, allowed, invalid_phone, "
                "opted_out, dnc_blocked, call_hours_violation) VALUES "
                "('ten_a', '2026-12-01 10:00Z', '', 1, 0, 0, 2, 0), "
                "('ten_b', '2026-12-01 10:00Z', '', 4, 0, 1, 0, 0), "
                "('', '2026-12-01 10:00Z', '', 8, 1, 0, 0, 0), "
                "('ten_a', '2026-12-01 11:00Z', '', 16, 0, 0, 0, 3), "
                "('ten_a', '2026-12-01 11:00Z', 'ln_a', 32, 0, 0, 0, 0)",
            )
        )
        upgrade(url)
        every = "SELECT hour, allowed, invalid_phone, opted_out, dnc_blocked, "
        every += "call_hours_violation FROM check_counts WHERE tenant_id = '*' ORDER BY hour"
        assert asyncio.run(_sql(url, every)) == [
            (datetime(2026, 12, 1, 10, tzinfo=UTC), 13, 1, 1, 2, 0),
            (datetime(2026, 12, 1, 11, tzinfo=UTC), 16, 0, 0, 0, 3),
        ]
        merge = "SELECT compact_check_counts('2026-12-02 00:00Z')"
        asyncio.run(_sql(url, merge))  # the lane left: into its tenant's row and every tenant's
        assert asyncio.run(_sql(url, every))[1] == (
            datetime(2026, 12, 1, 11, tzinfo=UTC),
            48,
            0,
            0,
            0,
            3,
        )
        downgrade(url, "0020_change_events_at")
        assert asyncio.run(_sql(url, every)) == []
        asyncio.run(
            _sql(
                url,
                "INSERT INTO check_counts VALUES "
                "('ten_b', '2026-12-01 11:00Z', 'ln_b', 64, 0, 0, 0, 0)",
            )
        )
        asyncio.run(_sql(url, merge))  # the old function: no row of every tenant
        assert asyncio.run(_sql(url, every)) == []
        upgrade(url)  # and up again: every hour's sum, the one merged meanwhile too
        assert asyncio.run(_sql(url, every)) == [
            (datetime(2026, 12, 1, 10, tzinfo=UTC), 13, 1, 1, 2, 0),
            (datetime(2026, 12, 1, 11, tzinfo=UTC), 112, 0, 0, 0, 3),
        ]
    finally:
        asyncio.run(drop_database(server_url, name))
