"""The attempts' upkeep through the migration's functions on the real database: monthly
partitions made ahead, and whole months past the retention dropped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.attempts.tasks import PARTITIONS_AHEAD, drop_expired, ensure_partitions
from app.core.config import Settings

PARTITIONS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'call_attempts'::regclass"
)


def _name(month: date) -> str:
    return f"call_attempts_p{month:%Y%m}"


def _next(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def _prev(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


async def _partitions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(text(PARTITIONS))).scalars())


async def _make(engine: AsyncEngine, month: date) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE {_name(month)} PARTITION OF call_attempts "
                f"FOR VALUES FROM ('{month}T00:00:00Z') TO ('{_next(month)}T00:00:00Z')"
            )
        )


async def _drop(engine: AsyncEngine, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


async def test_partitions_are_made_ahead(engine: AsyncEngine) -> None:
    this = datetime.now(UTC).date().replace(day=1)
    months = [_prev(this), this]
    for _ in range(PARTITIONS_AHEAD):
        months.append(_next(months[-1]))
    expected = {_name(m) for m in months}
    assert expected <= await _partitions(engine)  # the migration made them
    assert await ensure_partitions(engine) == 0

    # a missing month ahead is made again, attached with the parent's index
    last = _name(months[-1])
    await _drop(engine, last)
    try:
        assert last not in await _partitions(engine)
        assert await ensure_partitions(engine) == 1
        assert expected <= await _partitions(engine)
        async with engine.connect() as conn:
            indexes = await conn.scalar(
                text("SELECT count(*) FROM pg_indexes WHERE tablename = :n"), {"n": last}
            )
        assert indexes == 2  # the primary key, and (tenant, number, at)
    finally:
        await ensure_partitions(engine)


async def test_months_past_the_retention_are_dropped_and_the_rest_kept(
    engine: AsyncEngine, settings: Settings
) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    retention = settings.model_copy(update={"attempt_retention_days": 1830})
    before = now - timedelta(days=1830)  # 2021-12-02 12:00
    old = date(2021, 10, 1)  # ends 2021-11-01: wholly older, dropped
    straddling = date(2021, 11, 1)  # ends 2021-12-01: wholly older too, dropped
    kept = date(2021, 12, 1)  # holds `before`: kept (part of it is young enough)
    assert _next(straddling) <= before.date() < _next(kept)
    try:
        for month in (old, straddling, kept):
            await _make(engine, month)
        assert await drop_expired(engine, retention, now=now) == 2
        names = await _partitions(engine)
        assert _name(kept) in names
        assert not {_name(old), _name(straddling)} & names
        this = datetime.now(UTC).date().replace(day=1)
        assert _name(this) in names  # the current months are never touched
        assert await drop_expired(engine, retention, now=now) == 0
        # the real clock drops nothing the migration made
        assert await drop_expired(engine, settings) >= 0
        assert _name(this) in await _partitions(engine)
    finally:
        for month in (old, straddling, kept):
            await _drop(engine, _name(month))
