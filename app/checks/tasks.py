"""The checks' background work: the audit trail's monthly partitions, made ahead of time, and
the hourly counts of past hours merged to one row per tenant and hour."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.checks import repository

PARTITIONS_AHEAD = 3


async def ensure_partitions(engine: AsyncEngine) -> int:
    """Make the check_records partitions missing from this month to three months on."""
    return await repository.ensure_partitions(engine, PARTITIONS_AHEAD)


async def compact_counts(engine: AsyncEngine) -> int:
    """Merge the writer lanes' counts of past hours (reads then sum one row per hour)."""
    return await repository.compact_counts(engine)
