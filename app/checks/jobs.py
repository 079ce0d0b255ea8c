"""A batch's jobs (one per waiting request) and what the writer does with them apart from the
database: the numbers to look up, the items made while the lookup runs, the records decided and
chained as COPY sends them, and the answers of a batch that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.checks import chain
from app.checks.outcome import Decided, Found, Prepared, decide


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


def numbers_of(jobs: list[Job]) -> list[tuple[int, int, str | None]]:
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


def prepare(jobs: list[Job]) -> None:
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


def records(
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


def fail(jobs: Iterable[Job], reason: str) -> None:
    """Answer every job still waited for with a 503."""
    for job in jobs:
        for future in (job.decided, job.future):
            if future is not None and not future.done():
                future.set_exception(CheckUnavailable(reason))


def expire(job: Job) -> None:
    fail([job], "the database did not answer in time")


def retrieved(job: Job) -> None:
    """Mark a failed job's futures as seen (a caller stops at the first that fails)."""
    for future in (job.decided, job.future):
        if future is not None and future.done() and not future.cancelled():
            future.exception()
