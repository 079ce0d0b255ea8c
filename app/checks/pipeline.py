"""The hot path's database work, batched: every check that arrives while the writer slots are
busy goes into the next batch, which costs one lookup statement and one audit insert however
many checks it holds. Both run on the driver's connection outside any transaction block, so the
INSERT is one atomic statement that has committed (durably, with synchronous_commit on) when it
returns; only then is each check's answer released (group commit). A failure fails every check
of the batch (503), except that a batch of several requests that fails on its data, not on the
database, is retried one request at a time so one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from app.attempts import repository as attempts_repository
from app.checks import repository
from app.checks.freshness import screen
from app.checks.jobs import (
    LOCK_CLASS,
    Deferred,
    Job,
    attempts_scope,
    defer,
    expire,
    fail,
    furthest,
    lock_keys,
    numbers_of,
    prepare,
    records,
    retrieved,
)
from app.checks.matching import matches
from app.checks.outcome import Decided, Found, Prepared
from app.checks.slots import Lane, Slot
from app.checks.stages import Stages
from app.core.db import Database, is_unavailable

log = logging.getLogger("callguard.checks")

MAX_BATCH_ITEMS = 20_000


class CheckWriter:
    """Per process: a few writer slots, each taking whatever checks are queued as one batch."""

    def __init__(
        self,
        database: Callable[[], Database],
        slots: int,
        timeout_s: float,
        stage_timers: bool = False,
    ) -> None:
        self._database = database
        self._stage_timers = stage_timers
        self._slots = slots
        self.timeout_s = timeout_s
        # a batch gives up at 90% of a caller's bound, counted from the batch's start: a
        # caller that waited in the queue may have its 503 before its batch gives up, and its
        # record may still commit then (fail closed all the same: no ok without a record)
        self._bound_s = timeout_s * 0.9
        self._queue: deque[Job] = deque()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._slot_states: list[Slot] = []

    def start(self) -> None:
        if self._tasks:
            return
        self._ready = asyncio.Event()
        # sessions sharing one connection (tests) can run one statement at a time
        slots = 1 if self._database().shared_connection else self._slots
        self._slot_states = [Slot() for _ in range(slots)]
        self._tasks = [
            asyncio.create_task(self._slot(state), name=f"check-writer-{n}")
            for n, state in enumerate(self._slot_states)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for state in self._slot_states:
            await state.release(broken=False)
        self._slot_states = []
        fail(self._queue, "the service is stopping")
        self._queue.clear()

    async def decide(
        self,
        items: list[Prepared],
        meanwhile: Callable[[list[Decided]], Awaitable[None]] | None = None,
        *,
        deferred: Deferred | None = None,
    ) -> list[Decided]:
        """Look up, decide and durably record these checks; raises CheckUnavailable.

        `meanwhile` is called with the decisions as soon as they are made, while their records
        are being written (a big batch builds its answer then); should the batch be tried
        again, it is called again with the decisions that were recorded.

        With `deferred` instead of items, the numbers are looked up first and its `prepare()`
        makes the items while PostgreSQL runs the lookup; an item whose number is not the one
        looked up for it fails the batch (never decided unlooked-up).
        """
        self.start()
        loop = asyncio.get_running_loop()
        job = Job(items, loop.create_future())
        if deferred is not None:
            defer(job, deferred)
        if meanwhile is not None:
            job.decided = loop.create_future()
        self._queue.append(job)
        self._ready.set()
        # the caller's bound, set on the futures themselves (cheaper than wait_for): a job
        # still queued when it passes is dropped by `_take`; one already running may still be
        # recorded, but its caller has its 503 and will not call on it
        expiry = loop.call_later(self.timeout_s, expire, job)
        try:
            early = None
            if meanwhile is not None and job.decided is not None:
                early = await job.decided
                await meanwhile(early)
            decided = await job.future
            if meanwhile is not None and decided is not early:
                await meanwhile(decided)
            return decided
        finally:
            expiry.cancel()
            if not job.future.done():  # the caller was cancelled: its job is not taken
                job.future.cancel()
            retrieved(job)

    def _take(self) -> list[Job]:
        """The next batch: queued jobs in order, up to MAX_BATCH_ITEMS (a bigger job alone),
        skipping those whose caller has given up."""
        jobs: list[Job] = []
        count = 0
        while self._queue:
            job = self._queue[0]
            if job.future.done():
                self._queue.popleft()
                continue
            if jobs and count + job.size > MAX_BATCH_ITEMS:
                break
            self._queue.popleft()
            jobs.append(job)
            count += job.size
        if not self._queue:
            self._ready.clear()
        return jobs

    async def _slot(self, slot: Slot) -> None:
        while True:
            await self._ready.wait()
            jobs = self._take()
            if jobs:
                await self._settle(slot, jobs, split=True)
            # let go of the batch now: its requests free what they hold once they have sent
            # their answers, instead of this slot freeing it when it takes its next batch
            # (for 10,000 checks about 15 ms, which the next batch would wait for)
            del jobs

    async def _settle(self, slot: Slot, jobs: list[Job], split: bool) -> None:
        """Run these jobs as one batch and answer them."""

        def decided(results: list[Decided]) -> None:
            start = 0
            for job in jobs:
                end = start + len(job.items)
                job.result = results[start:end]
                if job.decided is not None and not job.decided.done():
                    job.decided.set_result(job.result)
                start = end

        try:
            async with asyncio.timeout(self._bound_s):
                await self._run(slot, jobs, decided)
        except asyncio.CancelledError:
            fail(jobs, "the service is stopping")
            raise
        except Exception as exc:
            log.warning("check batch failed: %s", type(exc).__name__, exc_info=exc)
            # the commit may or may not have happened: this lane's heads are unknown, so the
            # slot starts a new lane
            slot.lane = Lane()
            if split and len(jobs) > 1 and not is_unavailable(exc):
                # the database answered and refused something in the batch: nothing was
                # written, and each request still waited for is tried alone, so only the bad
                # one fails
                try:
                    for job in jobs:
                        if not job.future.done():
                            await self._settle(slot, [job], split=False)
                except asyncio.CancelledError:
                    fail(jobs, "the service is stopping")
                    raise
                return
            fail(jobs, str(exc))
            return
        for job in jobs:
            if not job.future.done() and job.result is not None:
                job.future.set_result(job.result)

    async def _run(
        self, slot: Slot, jobs: list[Job], decided: Callable[[list[Decided]], None]
    ) -> None:
        database = self._database()
        stages = Stages() if self._stage_timers else None
        if database.shared_connection:  # tests: inside the test's transaction
            async with database.sessionmaker() as session:
                connection = await session.connection()
                raw = (await connection.get_raw_connection()).driver_connection
                heads = await self._write(raw, slot.lane, jobs, decided, stages)
                await session.commit()
        else:
            raw = await slot.hold(database)
            try:
                heads = await self._write(raw, slot.lane, jobs, decided, stages)
            except BaseException:
                await asyncio.shield(slot.release(broken=True))
                raise
        slot.lane.heads = heads
        if stages is not None:
            stages.log()  # committed

    async def _write(
        self,
        raw: Any,
        lane: Lane,
        jobs: list[Job],
        on_decided: Callable[[list[Decided]], None],
        stages: Stages | None,
    ) -> dict[str | None, tuple[int, bytes]]:
        """Look up, decide, then write the records; the lane's new heads once written. A batch
        with reserving checks does it in one transaction holding the advisory lock of each
        (tenant, number) it may reserve, taken before the lookup (README: frequency caps)."""
        keys = lock_keys(jobs)
        if not keys:
            return await self._decide_and_write(raw, lane, jobs, on_decided, None, stages)
        # READ COMMITTED whatever the server's default: the lookup must take its snapshot
        # after the locks are held
        async with raw.transaction(isolation="read_committed"):
            await attempts_repository.lock_numbers(raw, LOCK_CLASS, keys)
            reservations: list[tuple[Any, ...]] = []
            heads = await self._decide_and_write(raw, lane, jobs, on_decided, reservations, stages)
            if reservations:
                await attempts_repository.reserve(raw, reservations)
            return heads

    @staticmethod
    async def _prepare_meanwhile(
        jobs: list[Job], look_up: Awaitable[Any], stages: Stages | None
    ) -> Any:
        """The lookup's rows, the deferred jobs' items made while PostgreSQL runs it."""
        lookup = asyncio.ensure_future(look_up)  # awaited, or cancelled and awaited, below
        try:
            await asyncio.sleep(0)  # the lookup is sent: prepare while it runs
            await prepare(jobs)
            if stages is not None:
                stages.prepare_done()
            return await lookup
        except BaseException:
            lookup.cancel()
            with contextlib.suppress(BaseException):
                await lookup
            raise

    async def _decide_and_write(
        self,
        raw: Any,
        lane: Lane,
        jobs: list[Job],
        on_decided: Callable[[list[Decided]], None],
        reservations: list[tuple[Any, ...]] | None,
        stages: Stages | None,
    ) -> dict[str | None, tuple[int, bytes]]:
        found: dict[int, Found] = {}
        decided_at = datetime.now(UTC)  # entries expiring by now no longer match
        valid = numbers_of(jobs)
        rows: list[Any] = []
        if valid:
            numbers = sorted({number for number, _, _ in valid})
            tenants = sorted({tenant for _, _, tenant in valid if tenant is not None})
            scope = attempts_scope(jobs, decided_at)
            latest = furthest(jobs, decided_at)
            args = (raw, numbers, tenants, decided_at, latest, scope)
            if any(job.prepare is not None for job in jobs):
                rows = await self._prepare_meanwhile(jobs, repository.look_up(*args), stages)
            else:  # nothing to do meanwhile: no task for the lookup
                if stages is not None:
                    stages.prepare_done()
                rows = await repository.look_up(*args)
        else:
            await prepare(jobs)
            if stages is not None:
                stages.prepare_done()
        items = [item for job in jobs for item in job.items]
        warnings: dict[str | None, list[dict[str, Any]]] = {}
        if valid:
            found, aging = matches(rows, items, valid)
            if aging:  # registry lists near or past their maximum age apply: rarely
                items, found, warnings = screen(jobs, found, aging, decided_at)
        heads = dict(lane.heads)
        hand_over = on_decided
        if stages is not None:
            stages.lookup_done(len(items), len(rows))

            def hand_over(results: list[Decided]) -> None:
                stages.decide_done()
                on_decided(results)

        rows_out = records(
            items, found, decided_at, lane.id, heads, hand_over, warnings, reservations
        )
        await repository.write_records(raw, rows_out, len(items))
        return heads
