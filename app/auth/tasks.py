"""Auth's background work: Idempotency-Key records past their retention are purged."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import repository
from app.core.config import Settings

log = logging.getLogger("callguard.housekeeping")


async def purge_idempotency_records(engine: AsyncEngine, settings: Settings) -> int:
    purged = await repository.purge_idempotency_records(engine, settings.idempotency_retention_s)
    if purged:
        log.info("purged expired idempotency records", extra={"count": purged})
    return purged
