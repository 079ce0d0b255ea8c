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
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.checks import chain, repository
from app.checks.matching import matches
from app.checks.outcome import Decided, Found, Prepared, decide
from app.core.db import Database, is_unavailable
from app.core.ids import new_id

log = logging.getLogger("callguard.checks")

MAX_BATCH_ITEMS = 20_000


class CheckUnavailable(Exception):
    """The batch could not be looked up or recorded: its checks answer 503, never ok."""


@dataclass(slots=True)
class Job:
    items: list[Prepared]
    future: asyncio.Future[list[Decided]]  # the decisions, once recorded
    # the same decisions as soon as they are made, before they are recorded (for a caller that
    # prepares its answer meanwhile; it still answers only once `future` is done)
    decided: asyncio.Future[list[Decided]] | None = None
    result: list[Decided] | None = None  # this job's part of its batch's decisions
    # A big request's items are prepared while its lookup runs: `numbers` holds what each
    # item's text reads as a number (None where it cannot be a valid one), `prepare` makes the
    # items, and `tenant_id` is whose lists apply. Once prepared, `items` holds them.
    numbers: list[int | None] | None = None
    prepare: Callable[[], list[Prepared]] | None = None
    tenant_id: str | None = None

    @property
    def size(self) -> int:
        if self.prepare is not None and self.numbers is not None:
            return len(self.numbers)
        return len(self.items)


@dataclass(slots=True)
class Lane:
    """One writer slot's chains: per tenant, the last sequence number and hash written."""

    id: str = field(default_factory=lambda: new_id("ln"))
    heads: dict[str | None, tuple[int, bytes]] = field(default_factory=dict)


@dataclass(slots=True)
class Slot:
    """One writer slot: its lane, and the connection it holds while it works (its statements
    run one after another, so it never needs a second; no pool checkout per batch)."""

    lane: Lane = field(default_factory=Lane)
    held: AsyncConnection | None = None
    raw: Any = None  # the driver's connection of `held`

    async def hold(self, database: Database) -> Any:
        """The slot's driver connection, taken from the pool the first time (or again after
        a failure). Its prepared lookup keeps one generic plan: PostgreSQL would otherwise
        plan it anew on every execution (custom plans), which cost several times the lookup
        itself; the generic plan is the same index probes in number order."""
        if self.raw is None or self.raw.is_closed():
            await self.release(broken=True)
            self.held = await database.engine.connect()
            try:
                self.raw = (await self.held.get_raw_connection()).driver_connection
                await repository.prefer_generic_plans(self.raw)
            except BaseException:
                await self.release(broken=True)
                raise
        return self.raw

    async def release(self, broken: bool) -> None:
        held, raw, self.held, self.raw = self.held, self.raw, None, None
        if held is None:
            return
        if not broken and raw is not None:
            try:
                await repository.reset_plans(raw)  # back to the pool as it came
            except Exception:
                broken = True
        with contextlib.suppress(Exception):
            if broken:  # statements ran on the driver's connection, unseen by the pool
                await held.invalidate()
        with contextlib.suppress(Exception):
            await held.close()


class CheckWriter:
    """Per process: a few writer slots, each taking whatever checks are queued as one batch."""

    def __init__(self, database: Callable[[], Database], slots: int, timeout_s: float) -> None:
        self._database = database
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
        _fail(self._queue, "the service is stopping")
        self._queue.clear()

    async def decide(
        self,
        items: list[Prepared],
        meanwhile: Callable[[list[Decided]], Awaitable[None]] | None = None,
        *,
        deferred: tuple[list[int | None], Callable[[], list[Prepared]], str | None] | None = None,
    ) -> list[Decided]:
        """Look up, decide and durably record these checks; raises CheckUnavailable.

        `meanwhile` is called with the decisions as soon as they are made, while their records
        are being written (a big batch builds its answer then); should the batch be tried
        again, it is called again with the decisions that were recorded.

        With `deferred` (numbers, prepare, tenant id) instead of items, the numbers are looked
        up first and `prepare()` makes the items while PostgreSQL runs the lookup; an item whose
        number is not the one looked up for it fails the batch (never decided unlooked-up).
        """
        self.start()
        loop = asyncio.get_running_loop()
        job = Job(items, loop.create_future())
        if deferred is not None:
            job.numbers, job.prepare, job.tenant_id = deferred
        if meanwhile is not None:
            job.decided = loop.create_future()
        self._queue.append(job)
        self._ready.set()
        # the caller's bound, set on the futures themselves (cheaper than wait_for): a job
        # still queued when it passes is dropped by `_take`; one already running may still be
        # recorded, but its caller has its 503 and will not call on it
        expiry = loop.call_later(self.timeout_s, _expire, job)
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
            _retrieved(job)

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
            _fail(jobs, "the service is stopping")
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
                    _fail(jobs, "the service is stopping")
                    raise
                return
            _fail(jobs, str(exc))
            return
        for job in jobs:
            if not job.future.done() and job.result is not None:
                job.future.set_result(job.result)

    async def _run(
        self, slot: Slot, jobs: list[Job], decided: Callable[[list[Decided]], None]
    ) -> None:
        database = self._database()
        if database.shared_connection:  # tests: inside the test's transaction
            async with database.sessionmaker() as session:
                connection = await session.connection()
                raw = (await connection.get_raw_connection()).driver_connection
                heads = await self._write(raw, slot.lane, jobs, decided)
                await session.commit()
        else:
            raw = await slot.hold(database)
            try:
                heads = await self._write(raw, slot.lane, jobs, decided)
            except BaseException:
                await asyncio.shield(slot.release(broken=True))
                raise
        slot.lane.heads = heads

    async def _write(
        self,
        raw: Any,
        lane: Lane,
        jobs: list[Job],
        on_decided: Callable[[list[Decided]], None],
    ) -> dict[str | None, tuple[int, bytes]]:
        """Look up, decide, then write the records; the lane's new heads once written."""
        found: dict[int, Found] = {}
        decided_at = datetime.now(UTC)  # entries expiring by now no longer match
        valid = _numbers(jobs)
        rows: list[Any] = []
        if valid:
            numbers = sorted({number for number, _, _ in valid})
            tenants = sorted({tenant for _, _, tenant in valid if tenant is not None})
            lookup = asyncio.ensure_future(  # awaited, or cancelled and awaited, below
                repository.look_up(raw, numbers, tenants, decided_at)
            )
            try:
                if any(job.prepare is not None for job in jobs):
                    await asyncio.sleep(0)  # the lookup is sent: prepare while it runs
                    _prepare(jobs)
                rows = await lookup
            except BaseException:
                lookup.cancel()
                with contextlib.suppress(BaseException):
                    await lookup
                raise
        else:
            _prepare(jobs)
        items = [item for job in jobs for item in job.items]
        if valid:
            found = matches(rows, items, valid)
        heads = dict(lane.heads)
        records = _records(items, found, decided_at, lane.id, heads, on_decided)
        await repository.write_records(raw, records, len(items))
        return heads


def _numbers(jobs: list[Job]) -> list[tuple[int, int, str | None]]:
    """(number, index in the batch, tenant) for every number to look up, in number order."""
    valid = []
    offset = 0
    for job in jobs:
        if job.prepare is not None and job.numbers is not None:
            tenant = job.tenant_id
            valid += [(n, offset + k, tenant) for k, n in enumerate(job.numbers) if n is not None]
        else:
            valid += [
                (item.number.as_int, offset + k, item.tenant_id)
                for k, item in enumerate(job.items)
                if item.number is not None
            ]
        offset += job.size
    valid.sort()
    return valid


def _prepare(jobs: list[Job]) -> None:
    """Makes the items of deferred jobs; each valid number must be the one looked up for it."""
    for job in jobs:
        if job.prepare is None or job.numbers is None:
            continue
        items = job.prepare()
        numbers = job.numbers
        if len(items) != len(numbers) or any(
            item.number is not None and item.number.as_int != number
            for item, number in zip(items, numbers, strict=False)
        ):
            raise CheckUnavailable("an item's number is not the one looked up")
        job.items, job.prepare = items, None


def _records(
    items: list[Prepared],
    found: dict[int, Found],
    decided_at: datetime,
    lane: str,
    heads: dict[str | None, tuple[int, bytes]],
    on_decided: Callable[[list[Decided]], None],
) -> Iterator[tuple[Any, ...]]:
    """Decides each check and yields its record as a row of COLUMNS, chained to the one before
    it in its tenant's chain of this lane (`heads` follows along); once every check is decided,
    hands the decisions to `on_decided` (before the last rows are stored)."""
    texts: dict[int, str] = {}  # details objects shared by several records, encoded once
    decided = []
    for i, item in enumerate(items):
        result = decide(item, found.get(i), decided_at)
        decided.append(result)
        record = result.record
        tenant = record["tenant_id"]
        seq, prev = heads.get(tenant, (0, chain.GENESIS))
        record["lane"] = lane
        record["lane_seq"] = seq = seq + 1
        details = record["details"]
        text = texts.get(id(details))
        if text is None:
            text = texts[id(details)] = chain.details_json(details)
        values = chain.content(record, text)
        digest = chain.link(prev, values)
        heads[tenant] = (seq, digest)
        yield (*values, prev, digest)
    on_decided(decided)


def _fail(jobs: Iterable[Job], reason: str) -> None:
    """Answer every job still waited for with a 503."""
    for job in jobs:
        for future in (job.decided, job.future):
            if future is not None and not future.done():
                future.set_exception(CheckUnavailable(reason))


def _expire(job: Job) -> None:
    _fail([job], "the database did not answer in time")


def _retrieved(job: Job) -> None:
    """Mark a failed job's futures as seen (a caller stops at the first that fails)."""
    for future in (job.decided, job.future):
        if future is not None and future.done() and not future.cancelled():
            future.exception()
