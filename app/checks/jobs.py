"""A batch's jobs (one per waiting request) and what the writer does with them apart from the
database: the numbers to look up, the items made while the lookup runs, the records decided and
chained as COPY sends them, and the answers of a batch that failed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from app.checks import chain
from app.checks.outcome import Decided, Found, Prepared, decide
from app.core.errors import ServiceUnavailable
from app.core.ids import new_record_ids
from app.rules.caps import Attempt


class CheckUnavailable(Exception):
    """The batch could not be looked up or recorded, or a check must not be decided now: its
    checks answer 503 (`answer`, or the plain one), never ok."""

    def __init__(self, reason: str, answer: ServiceUnavailable | None = None) -> None:
        super().__init__(reason)
        self.answer = answer or ServiceUnavailable()


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
    # items one by one, and `tenant_id` is whose lists apply. Once prepared, `items` holds them.
    numbers: list[int | None] | None = None
    prepare: Callable[[], Iterator[Prepared]] | None = None
    tenant_id: str | None = None
    # such a job's frequency caps, known before its items: whether it reserves, the numbers
    # some cap may apply to, and the span of attempts its caps can look at
    reserve: bool = False
    capped_numbers: list[int] | None = None
    span: tuple[datetime, datetime] | None = None
    at: datetime | None = None  # its checks' instant

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


@dataclass(frozen=True, slots=True)
class Deferred:
    """A big request's numbers as read from its text (None where it cannot be a valid one),
    the function that makes its items, whose lists apply, and what its caps need."""

    numbers: list[int | None]
    prepare: Callable[[], Iterator[Prepared]]
    tenant_id: str | None
    reserve: bool
    capped_numbers: list[int]
    span: tuple[datetime, datetime] | None
    at: datetime


def defer(job: Job, deferred: Deferred) -> None:
    job.numbers, job.prepare, job.tenant_id = deferred.numbers, deferred.prepare, deferred.tenant_id
    job.reserve, job.capped_numbers, job.span = (
        deferred.reserve,
        deferred.capped_numbers,
        deferred.span,
    )
    job.at = deferred.at


def furthest(jobs: list[Job], now: datetime) -> datetime:
    """The latest of now and the batch's checks' instants: a registry copy must still be fresh
    then (a check for a later call is judged on the copy's age at the call)."""
    latest = now
    for job in jobs:
        instants = [job.at] if job.at is not None else [item.at for item in job.items]
        for at in instants:
            if at > latest:
                latest = at
    return latest


def attempts_scope(jobs: list[Job], now: datetime) -> tuple[list[int], datetime, datetime]:
    """The numbers whose attempts a cap of the batch may count (sorted, distinct) and the span
    of `at` those attempts can lie in (empty, [now, now), when no check is capped)."""
    numbers: set[int] = set()
    start = end = None
    for job in jobs:
        if job.prepare is not None and job.capped_numbers is not None:
            numbers.update(job.capped_numbers)
            spans = [job.span] if job.span is not None and job.capped_numbers else []
        else:
            capped = [item for item in job.items if item.capped and item.number is not None]
            numbers.update(item.number.as_int for item in capped if item.number is not None)
            spans = [item.attempts_span for item in capped]
        for low, high in spans:
            start = low if start is None or low < start else start
            end = high if end is None or high > end else end
    if start is None or end is None or not numbers:
        return [], now, now
    return sorted(numbers), start, end


# A reserving batch locks (tenant, number) buckets, not the pairs themselves: advisory locks
# share PostgreSQL's lock table (max_locks_per_transaction x max_connections entries, 6,400 by
# default), which 10,000 locks of one batch would overflow. A pair is always in the same
# bucket, so it never escapes its lock; two pairs sharing a bucket only wait on each other.
LOCK_BUCKETS = 512
LOCK_CLASS = 0x43475244  # the first key of callguard's two-key advisory locks ("CGRD")


def lock_keys(jobs: list[Job]) -> list[int]:
    """The lock buckets of every (tenant, number) a reserving check of the batch may reserve:
    a hash, the same in every process, into LOCK_BUCKETS."""
    keys: set[int] = set()
    for job in jobs:
        if job.prepare is not None and job.numbers is not None:
            if job.reserve and job.tenant_id is not None:
                keys.update(lock_key(job.tenant_id, n) for n in job.numbers if n is not None)
        else:
            keys.update(
                lock_key(item.tenant_id, item.number.as_int)
                for item in job.items
                if item.reserve and item.number is not None and item.tenant_id is not None
            )
    return sorted(keys)


def lock_key(tenant_id: str, number: int) -> int:
    digest = hashlib.blake2b(f"{tenant_id}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % LOCK_BUCKETS


# Items made between two turns of the event loop while a big batch's lookup runs: the loop
# then reads the rows PostgreSQL has sent so far. Made all at once (about 65 ms for 10,000), the
# rows filled the socket's buffer and the server waited to send the rest: the lookup took half
# as long again inside the batch as alone (docs/BENCHMARKS.md, issue 22, fourth round).
PREPARE_CHUNK = 500


async def prepare(jobs: list[Job]) -> None:
    """Makes the items of deferred jobs, PREPARE_CHUNK at a time with the event loop let run in
    between; each valid number must be the one looked up for it."""
    for job in jobs:
        if job.prepare is None or job.numbers is None:
            continue
        made = job.prepare()
        items: list[Prepared] = []
        while chunk := list(islice(made, PREPARE_CHUNK)):
            items += chunk
            await asyncio.sleep(0)
        numbers = job.numbers
        if len(items) != len(numbers) or any(
            item.number is not None and item.number.as_int != number
            for item, number in zip(items, numbers, strict=False)
        ):
            raise CheckUnavailable("an item's number is not the one looked up")
        capped = set(job.capped_numbers or ())
        if any(
            item.capped and item.number is not None and item.number.as_int not in capped
            for item in items
        ):  # its attempts were not read: never decide a capped check without them
            raise CheckUnavailable("a capped item's attempts were not looked up")
        job.items, job.prepare = items, None


def records(
    items: list[Prepared],
    found: dict[int, Found],
    decided_at: datetime,
    lane: str,
    heads: dict[str | None, tuple[int, bytes]],
    on_decided: Callable[[list[Decided]], None],
    warnings: dict[str | None, list[dict[str, Any]]],
    reservations: list[tuple[Any, ...]] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Decides each check and yields its record as a row of COLUMNS, chained to the one before
    it in its tenant's chain of this lane (`heads` follows along); once every check is decided,
    hands the decisions to `on_decided` (before the last rows are stored). `warnings` are
    those of each tenant's allowed answers. With `reservations` (a batch with reserving
    checks), each allowed reserving check adds its attempt there (a row for
    attempts.repository.reserve), and later checks of the batch for its number count it."""
    texts: dict[int, str] = {}  # details objects shared by several records, encoded once
    decided = []
    reserved: dict[tuple[str | None, int], list[Attempt]] = {}
    for i, item in enumerate(items):
        extra = None
        if reservations is not None and item.number is not None:
            extra = reserved.get((item.tenant_id, item.number.as_int))
        result = decide(item, found.get(i), decided_at, warnings.get(item.tenant_id), extra)
        if reservations is not None and item.reserve and result.status == 200:
            number = item.number
            assert number is not None
            assert item.tenant_id is not None
            reserved.setdefault((item.tenant_id, number.as_int), []).append(
                Attempt(item.at, item.purpose)
            )
            attempt_id = new_record_ids("att", 1)[0]
            # the answer and the audit record name the attempt reserved
            reservation = {"attempt_id": attempt_id, "purpose": item.purpose}
            result.body["reservation"] = reservation
            result.record["details"] = {**result.record["details"], "reservation": reservation}
            reservations.append(
                (
                    attempt_id,
                    item.at,
                    item.tenant_id,
                    number.as_int,
                    item.purpose,
                    item.channel,
                    item.check_id,
                )
            )
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


def fail(jobs: Iterable[Job], reason: str, answer: ServiceUnavailable | None = None) -> None:
    """Answer every job still waited for with a 503."""
    for job in jobs:
        for future in (job.decided, job.future):
            if future is not None and not future.done():
                future.set_exception(CheckUnavailable(reason, answer))


def expire(job: Job) -> None:
    fail([job], "the database did not answer in time")


def retrieved(job: Job) -> None:
    """Mark a failed job's futures as seen (a caller stops at the first that fails)."""
    for future in (job.decided, job.future):
        if future is not None and future.done() and not future.cancelled():
            future.exception()
