"""Admission of uploads: a bounded number run at once in a process, one at a time per tenant.

Each running upload holds a database connection (with a large `work_mem`) for as long as its
merge takes. Unbounded, a burst of uploads took every connection and failed each other and the
other tenants' requests. Now an accepted upload waits in this process's queue, `queued`, until
its tenant has no other upload running here and one of the process's `slots` is free; its turn
comes in the order uploads were accepted. A waiting upload's heartbeat is kept fresh, so the
sweeper does not take it for the orphan of a dead process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from app.uploads import repository
from app.uploads.importer import HEARTBEAT_S


class UploadQueue:
    def __init__(self, slots: int, per_tenant: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self.per_tenant = per_tenant
        self._tenants: dict[str, asyncio.Semaphore] = {}
        self._waiting: set[str] = set()
        self._beat: asyncio.Task[None] | None = None
        self.running = 0
        self.peak = 0  # the most that ran at once (for tests and the operator's curiosity)

    @contextlib.asynccontextmanager
    async def turn(
        self, engine: AsyncEngine, upload_id: str, tenant: str | None
    ) -> AsyncIterator[None]:
        owner = tenant or "platform"
        tenant_slot = self._tenants.setdefault(owner, asyncio.Semaphore(self.per_tenant))
        self._waiting.add(upload_id)
        if self._beat is None or self._beat.done():
            self._beat = asyncio.create_task(self._keep_alive(engine), name="upload-queue")
        try:
            async with tenant_slot, self._slots:
                self._waiting.discard(upload_id)
                self.running += 1
                self.peak = max(self.peak, self.running)
                try:
                    yield
                finally:
                    self.running -= 1
        finally:
            self._waiting.discard(upload_id)

    async def _keep_alive(self, engine: AsyncEngine) -> None:
        """The waiting uploads' heartbeat, one statement for all of them; ends when none wait."""
        while self._waiting:
            await asyncio.sleep(HEARTBEAT_S)
            if not self._waiting:
                return
            with contextlib.suppress(Exception):  # a missed beat is caught up by the next
                await repository.beat_queued(engine, sorted(self._waiting))
