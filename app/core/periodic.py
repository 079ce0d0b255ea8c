"""Background upkeep: jobs the features declare in their `tasks.py`, run at start and then
every few minutes, each round retried whatever went wrong (a lock waited on too long, a
database away): upkeep must never die and leave its work undone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger("callguard.housekeeping")
Job = Callable[[], Awaitable[object]]


def start_periodic(
    name: str, jobs: Sequence[Job], every_s: float, unavailable: Callable[[BaseException], bool]
) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            for job in jobs:
                try:
                    await job()
                except Exception as exc:
                    if unavailable(exc):
                        log.warning("%s skipped: database unavailable", name)
                    else:
                        log.exception("%s failed; retrying next round", name)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name=name)
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
