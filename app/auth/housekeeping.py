"""Background upkeep: the audit trail's monthly partitions are made three months ahead (at start
and every run); expired Idempotency-Key records are purged every few minutes."""

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.idempotency import purge_expired
from app.core.config import Settings
from app.core.db import is_unavailable

log = logging.getLogger("callguard.housekeeping")


def start_housekeeping(
    engine: AsyncEngine, settings: Settings, every_s: float = 600.0
) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            try:
                await ensure_partitions(engine)
                purged = await purge_expired(engine, settings)
                if purged:
                    log.info("purged expired idempotency records", extra={"count": purged})
            except Exception as exc:
                # upkeep retries on its next round whatever went wrong (a lock it waited for
                # too long, say): it must not die and leave the partitions unmade
                if is_unavailable(exc):
                    log.warning("housekeeping skipped: database unavailable")
                else:
                    log.exception("housekeeping failed; retrying next round")
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name="housekeeping")
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
    return task


PARTITIONS_AHEAD = 3


async def ensure_partitions(engine: AsyncEngine) -> int:
    """Make the check_records partitions missing from this month to three months on."""
    async with engine.begin() as conn:
        made = await conn.scalar(
            text("SELECT ensure_check_partitions(:ahead)"), {"ahead": PARTITIONS_AHEAD}
        )
    return int(made or 0)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
