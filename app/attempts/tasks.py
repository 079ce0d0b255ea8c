"""The attempts' background work (run by the periodic upkeep, app/main.py): monthly partitions
made ahead of time, and whole months older than the retention dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.attempts import repository
from app.core.config import Settings

PARTITIONS_AHEAD = 3


async def ensure_partitions(engine: AsyncEngine) -> int:
    """Make the call_attempts partitions missing from last month to three months on."""
    async with engine.begin() as conn:
        return await repository.ensure_partitions(conn, PARTITIONS_AHEAD)


async def drop_expired(engine: AsyncEngine, settings: Settings, now: datetime | None = None) -> int:
    """Drop the months of attempts older than `attempt_retention_days` (a month goes once the
    whole of it is); what the default partition holds is kept."""
    before = (now or datetime.now(UTC)) - timedelta(days=settings.attempt_retention_days)
    async with engine.begin() as conn:
        return await repository.drop_partitions(conn, before)
