"""A big batch looked up in parts on a second connection while its records are written.

A batch is one lookup, then one write of its records, on its writer slot's connection: for
10,000 checks PostgreSQL's part alone is the two back to back, and the write takes longer than
the lookup (docs/BENCHMARKS.md, issue 22). From SPLIT_FROM checks, in a batch with no reserving
check (whose locks, lookup and write share one transaction), the writer looks the batch up in
PARTS parts by position, one after another on its helper connection (one per process, lent to
one batch at a time: a batch that finds it lent is looked up the usual way), and starts the
records' COPY on the slot's connection once the first part's rows are in. Each later part's
checks are decided when its rows are in, while PostgreSQL stores the records before them; a
part whose rows are late holds the COPY, never a check decided without its rows.

The records, their order and their chain are those of one lookup; each part reads the lists as
they stand when it runs (each after the batch began, as one lookup would). Registry lists near
or past their maximum age (rare) come the same in every part's rows: when the first part has
any, the batch waits for every part and is decided whole (app/checks/freshness screens it
whole); a later part with other ones than the first (a list's age changed meanwhile) fails the
batch (503).
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from app.checks import repository
from app.checks.jobs import CheckUnavailable, Job, Maker, records
from app.checks.matching import KIND, matches
from app.checks.outcome import Decided, Found
from app.checks.slots import Lane, Slot
from app.checks.stages import Stages

SPLIT_FROM = 2_000  # checks in a batch from which its lookup is split
PARTS = 4

Valid = list[tuple[int, int, str | None]]  # (number, index in the batch, tenant), number order
Heads = dict[str | None, tuple[int, bytes]]
# the batch decided whole from these rows (all its parts' rows, the aging lists once)
Whole = Callable[[list[Any]], Awaitable[Heads]]


class Helper:
    """The writer's second connection (its Slot holds it; no lane of it is ever written), lent
    to one big batch at a time."""

    def __init__(self) -> None:
        self.slot = Slot()
        self.lent = False


def parts_of(valid: Valid, size: int) -> tuple[list[Valid], list[int]]:
    """The numbers of each part (items [bounds[k], bounds[k + 1]) of the batch), each in number
    order, and the bounds."""
    bounds = [size * k // PARTS for k in range(PARTS + 1)]
    parts: list[Valid] = [[] for _ in range(PARTS)]
    for entry in valid:
        parts[bisect_right(bounds, entry[1]) - 1].append(entry)
    return parts, bounds


async def _look_up_parts(
    raw: Any,
    parts: list[Valid],
    futures: list[asyncio.Future[list[Any]]],
    tenants: list[str],
    now: datetime,
    furthest: datetime,
    scope: tuple[list[int], datetime, datetime],
) -> None:
    """Each part's lookup in turn, its rows into its future (a failure into every future still
    waited for)."""
    capped, start, end = scope
    capped_set = set(capped)
    try:
        for part, future in zip(parts, futures, strict=True):
            numbers = sorted({number for number, _, _ in part})
            rows: list[Any] = []
            if numbers:
                caps = [n for n in numbers if n in capped_set]
                rows = await repository.look_up(
                    raw, numbers, tenants, now, furthest, (caps, start, end)
                )
            future.set_result(rows)
    except BaseException as exc:
        for future in futures:
            if not future.done():
                future.set_exception(
                    exc if isinstance(exc, Exception) else CheckUnavailable("stopped")
                )
        raise


def _aging(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in rows if row[KIND] == "aging")


async def write(
    raw: Any,
    helper: Any,
    lane: Lane,
    jobs: list[Job],
    valid: Valid,
    lookup: tuple[list[str], datetime, datetime, tuple[list[int], datetime, datetime]],
    on_decided: Callable[[list[Decided]], None],
    whole: Whole,
    stages: Stages | None,
) -> Heads:
    """Look up the batch in parts on `helper` while its records are written on `raw`; the
    lane's new heads once written. `lookup`: the tenants, now, the furthest instant and the
    attempts' scope, as repository.look_up takes them."""
    tenants, decided_at, furthest, scope = lookup
    size = sum(job.size for job in jobs)
    parts, bounds = parts_of(valid, size)
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[list[Any]]] = [loop.create_future() for _ in parts]
    task = asyncio.create_task(
        _look_up_parts(helper, parts, futures, tenants, decided_at, furthest, scope)
    )
    maker = Maker(jobs)
    items = maker.items  # made part by part, while the parts are looked up and written
    try:
        await maker.until(bounds[1])
        if stages is not None:
            stages.prepare_done()  # the first part's items
        first = await futures[0]
        if _aging(first):  # rare: the batch decided whole, as one lookup would have it
            await maker.until(size)
            rest = [row for future in futures[1:] for row in await future if row[KIND] != "aging"]
            heads = await whole(first + rest)
            await task
            return heads
        found: dict[int, Found] = matches(first, items, parts[0])[0]
        if stages is not None:
            stages.lookup_done(size, len(first))
        heads = dict(lane.heads)
        hand_over = on_decided
        if stages is not None:

            def hand_over(results: list[Decided]) -> None:
                stages.decide_done()
                on_decided(results)

        # each item is taken when its record is due: made by then, as its part's rows are in
        in_order = (items[i] for i in range(size))
        decided = records(in_order, found, decided_at, lane.id, heads, hand_over, {}, None)

        async def streamed() -> AsyncIterator[tuple[Any, ...]]:
            for k in range(PARTS):
                if k:
                    await maker.until(bounds[k + 1])
                    rows = await futures[k]
                    if _aging(rows):
                        raise CheckUnavailable("a registry list's age changed during the batch")
                    found.update(matches(rows, items, parts[k])[0])
                for _ in range(bounds[k + 1] - bounds[k]):
                    yield next(decided)
            for row in decided:  # none left: ends the generator, which hands the decisions over
                yield row

        await repository.copy_records(raw, streamed())
        await task
        return heads
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        for future in futures:  # what no one will read now: seen, so none is reported unread
            if future.done() and not future.cancelled():
                future.exception()
            else:
                future.cancel()
        raise
