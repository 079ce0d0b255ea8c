"""Preparing checks from requests (parse, calling hours from memory) and answering them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.callingrules.decide import HoursDecision, decide_hours
from app.callingrules.service import allows_stale_registry, tenant_caps
from app.checks import chain
from app.checks.hours import HoursCache
from app.checks.jobs import Deferred
from app.checks.outcome import SUMMARY_KEYS, Decided, Prepared, attempts_span, batch_item
from app.checks.pipeline import CheckWriter
from app.checks.repository import trail
from app.core import gcpause
from app.core.errors import ValidationFailed
from app.core.ids import new_record_ids
from app.core.schemas import EARLIEST_YEAR, LATEST_YEAR
from app.core.text import escaped
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import PhoneNumber, parse_strict
from app.reference.snapshot import Snapshot
from app.rules.caps import FrequencyCap
from app.rules.data import HolidayCalendars
from app.rules.model import Jurisdiction


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a check reads from memory, and who is asking."""

    snapshot: Snapshot
    laws: Mapping[str, Jurisdiction]
    holidays: HolidayCalendars
    tenant_id: str | None
    api_key_id: str | None
    request_id: str
    hours_cache: HoursCache | None = None
    caps: Mapping[str, FrequencyCap] = field(default_factory=dict)  # the laws', by jurisdiction


def known_state(value: str, snapshot: Snapshot) -> bool:
    state = value.strip().upper()
    return f"US-{state}" in snapshot.region_zones or f"CA-{state}" in snapshot.region_zones


def _state(value: str | None, field: str, snapshot: Snapshot) -> str | None:
    """A recipient state the rules know (US state or territory, Canadian province), upper case."""
    if value is None:
        return None
    if known_state(value, snapshot):
        return value.strip().upper()
    raise ValidationFailed.field(
        field,
        "unknown state or province",
        # quoted by hand: repr() would escape escaped()'s backslashes a second time
        f"recipient_state '{escaped(value[:16])}' is not a US state or territory or a "
        "Canadian province.",
    )


class Preparer:
    """Prepares the items of one request; calling hours are computed once per (area code,
    recipient state) within it, since they share the instant and the tenant."""

    def __init__(
        self,
        ctx: Context,
        at: datetime,
        channel: str,
        batch: bool,
        *,
        purpose: str = "default",
        reserve: bool = False,
    ) -> None:
        if reserve and ctx.tenant_id is None:
            raise ValidationFailed.field(
                "reserve",
                "needs a tenant",
                "reserve records an attempt of a tenant: check on a tenant's behalf "
                "(a tenant's key, or ?tenant_id=).",
            )
        self.ctx = ctx
        self.at = at
        self.channel = channel
        self.batch = batch
        self.purpose = purpose
        self.reserve = reserve
        self._hours: dict[tuple[str, str | None], HoursDecision] = {}
        self._caps: dict[tuple[str, ...], tuple[FrequencyCap, ...]] = {}
        self._allow_stale = allows_stale_registry(ctx.snapshot, ctx.tenant_id)
        self._tenant_caps, self._after_conversation = tenant_caps(ctx.snapshot, ctx.tenant_id)

    def item(self, to: str, recipient_state: str | None, check_id: str | None = None) -> Prepared:
        to = escaped(to)  # what is kept and echoed; such a number is invalid either way
        item = self._blank(to, recipient_state, check_id)
        try:
            number = parse_strict(to, self.ctx.snapshot.in_service)
        except InvalidPhone as exc:
            item.invalid = dict(exc.details or {})
            item.invalid_message = exc.message
            return item
        return self._valid(item, number, recipient_state)

    def number_item(self, number: PhoneNumber, check_id: str | None = None) -> Prepared:
        """The item of a number already known to be valid (a scrub's rows, read by the bulk
        path's normalization), with no recipient state: `item` without the parse."""
        return self._valid(self._blank(number.e164, None, check_id), number, None)

    def _blank(self, to: str, recipient_state: str | None, check_id: str | None) -> Prepared:
        ctx = self.ctx
        return Prepared(
            check_id=check_id or new_record_ids("chk", 1)[0],
            phone=to[:64],
            at=self.at,
            channel=self.channel,
            recipient_state=recipient_state,
            tenant_id=ctx.tenant_id,
            api_key_id=ctx.api_key_id,
            request_id=ctx.request_id,
            batch=self.batch,
            allow_stale=self._allow_stale,
            purpose=self.purpose,
            reserve=self.reserve,
            after_conversation_hours=self._after_conversation,
        )

    def _valid(self, item: Prepared, number: PhoneNumber, recipient_state: str | None) -> Prepared:
        key = (number.npa, recipient_state)
        hours = self._hours.get(key)
        if hours is None:
            hours = self._decide_hours(number, recipient_state)
            self._hours[key] = hours
        item.number = number
        item.hours = hours
        item.caps = self._caps_of(hours.jurisdictions)
        if item.capped:
            item.hours_at = functools.partial(self._hours_at, number, recipient_state)
        return item

    def _caps_of(self, jurisdictions: tuple[str, ...]) -> tuple[FrequencyCap, ...]:
        """The laws' caps of these jurisdictions, then the tenant's own."""
        caps = self._caps.get(jurisdictions)
        if caps is None:
            laws = self.ctx.caps
            caps = tuple(laws[j] for j in jurisdictions if j in laws) + self._tenant_caps
            self._caps[jurisdictions] = caps
        return caps

    def _hours_at(
        self, number: PhoneNumber, recipient_state: str | None, at: datetime
    ) -> HoursDecision:
        """The calling hours of this number at another instant (a capped check's search)."""
        ctx = self.ctx
        return decide_hours(
            number=number,
            at=at,
            recipient_state=recipient_state,
            tenant_id=ctx.tenant_id,
            snapshot=ctx.snapshot,
            laws=ctx.laws,
            holidays=ctx.holidays,
        )

    def capped_numbers(
        self, numbers: list[int | None], states: list[str | None]
    ) -> tuple[list[int], tuple[datetime, datetime] | None]:
        """Before a big request's items are made: the numbers some cap may apply to (by their
        area code's state or the item's recipient state, or every number when the tenant has
        caps of its own), and the span of attempts those caps can look at."""
        laws = self.ctx.caps
        if not laws and not self._tenant_caps and not self._after_conversation:
            return [], None
        if self._tenant_caps or self._after_conversation:
            picked = sorted({n for n in numbers if n is not None})
        else:
            capped_npas = _capped_npas(self.ctx.snapshot, frozenset(laws))
            regions = frozenset(j.split("-", 1)[1] for j in laws if "-" in j)
            picked = sorted(
                {
                    n
                    for n, state in zip(numbers, states, strict=True)
                    if n is not None and (n // 10_000_000 in capped_npas or state in regions)
                }
            )
        every = tuple(laws.values()) + self._tenant_caps
        return picked, attempts_span(self.at, every, self._after_conversation)

    def _decide_hours(self, number: PhoneNumber, recipient_state: str | None) -> HoursDecision:
        ctx = self.ctx
        cache = ctx.hours_cache
        key = (number.npa, recipient_state, ctx.tenant_id)
        if cache is not None and (hit := cache.get(key, ctx.snapshot, self.at)) is not None:
            return hit
        hours = decide_hours(
            number=number,
            at=self.at,
            recipient_state=recipient_state,
            tenant_id=ctx.tenant_id,
            snapshot=ctx.snapshot,
            laws=ctx.laws,
            holidays=ctx.holidays,
        )
        if cache is not None:
            cache.put(key, ctx.snapshot, self.at, hours)
        return hours


_NPAS: dict[tuple[int, frozenset[str]], frozenset[int]] = {}


def _capped_npas(snapshot: Snapshot, jurisdictions: frozenset[str]) -> frozenset[int]:
    """The area codes (as integers) of the jurisdictions that have caps, per snapshot."""
    key = (id(snapshot), jurisdictions)
    found = _NPAS.get(key)
    if found is None:
        found = frozenset(
            int(npa)
            for npa, code in snapshot.area_codes.items()
            if code.region and f"{code.country}-{code.region}" in jurisdictions
        )
        if len(_NPAS) > 16:
            _NPAS.clear()
        _NPAS[key] = found
    return found


def _instant(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:  # as every time a request names
        raise ValidationFailed.field(
            "at", "out of range", f"at must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return at.astimezone(UTC)


async def check_one(
    writer: CheckWriter,
    ctx: Context,
    *,
    to: str,
    at: datetime | None,
    recipient_state: str | None,
    channel: str,
    purpose: str = "default",
    reserve: bool = False,
) -> Decided:
    state = _state(recipient_state, "recipient_state", ctx.snapshot)
    preparer = Preparer(ctx, _instant(at), channel, batch=False, purpose=purpose, reserve=reserve)
    [decided] = await writer.decide([preparer.item(to, state)])
    return decided


def summary_counts(summary: dict[str, int]) -> dict[tuple[str, str], int]:
    """A batch summary as (outcome, error code) counts, for the checks metric."""
    return {
        ("allowed", "")
        if code == "allowed"
        else ("invalid" if code == "invalid_phone" else "blocked", code): count
        for code, count in summary.items()
    }


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    summary: dict[str, int]
    body: bytes  # the 200 answer as JSON


ANSWER_CHUNK = 1000  # items encoded between two yields to the event loop
GC_PAUSE_FROM = 1000  # items in a batch from which the garbage collector waits until it is done


async def _batch_answer(items: list[tuple[str, str | None]], decided: list[Decided]) -> BatchAnswer:
    """The batch's answer, built in chunks with the event loop let run in between: this runs
    while the batch's records are sent to PostgreSQL, which the loop keeps feeding."""
    summary = dict.fromkeys(SUMMARY_KEYS, 0)
    parts = []
    for start in range(0, len(decided), ANSWER_CHUNK):
        results = []
        end = start + ANSWER_CHUNK
        for (to, _), result in zip(items[start:end], decided[start:end], strict=True):
            results.append(batch_item(escaped(to), result))
            summary["allowed" if result.status == 200 else result.body["error"]] += 1
        parts.append(orjson.dumps(results)[1:-1])  # the items, without the list's brackets
        await asyncio.sleep(0)
    body = b'{"results":[%b],"summary":%b}' % (b",".join(parts), orjson.dumps(summary))
    return BatchAnswer(summary, body)


async def check_batch(
    writer: CheckWriter,
    ctx: Context,
    *,
    items: list[tuple[str, str | None]],
    at: datetime | None,
    channel: str,
    purpose: str = "default",
    reserve: bool = False,
) -> BatchAnswer:
    states: list[str | None] = []
    bad: list[dict[str, str]] = []
    for n, (_, state) in enumerate(items):
        try:
            states.append(_state(state, f"items[{n}].recipient_state", ctx.snapshot))
        except ValidationFailed as exc:
            bad += (exc.details or {})["fields"]
    if bad:  # every bad item named, like any other 400
        raise ValidationFailed.fields(bad)
    preparer = Preparer(ctx, _instant(at), channel, batch=True, purpose=purpose, reserve=reserve)

    def prepare() -> Iterator[Prepared]:
        ids = new_record_ids("chk", len(items))
        for (to, _), state, check_id in zip(items, states, ids, strict=True):
            yield preparer.item(to, state, check_id)

    answers: list[BatchAnswer] = []

    async def answer(decided: list[Decided]) -> None:
        answers.append(await _batch_answer(items, decided))

    # the numbers are looked up while the items are prepared
    numbers = [_candidate(to) for to, _ in items]
    capped, span = preparer.capped_numbers(numbers, states)
    deferred = Deferred(numbers, prepare, ctx.tenant_id, reserve, capped, span, preparer.at)
    if len(items) < GC_PAUSE_FROM:
        await writer.decide([], meanwhile=answer, deferred=deferred)
    else:
        with gcpause.paused():
            await writer.decide([], meanwhile=answer, deferred=deferred)
    return answers[-1]  # built from the decisions that were recorded


def _candidate(to: str) -> int | None:
    """What `to` reads as when it has the form of a valid number (`+1` and ten ASCII digits),
    for the lookup; the strict parse still decides whether it is valid."""
    if len(to) == 12 and to.startswith("+1") and to.isascii() and to[2:].isdigit():
        return int(to[2:])
    return None


async def verify_chains(
    session: AsyncSession, tenant_id: str | None, *, every_tenant: bool = False
) -> dict[str, Any]:
    """Walk every chain of the tenant's records (or of every tenant's) in order, recomputing
    each hash: whether all hold, how many records (and tenants), the newest record's hash, and
    the first record that does not hold, with its tenant."""
    records = 0
    first_bad: str | None = None
    first_bad_tenant: str | None = None
    tenants: set[str | None] = set()
    chain_of: tuple[str | None, str] | None = None
    expected_seq = 1
    prev = chain.GENESIS
    head: tuple[datetime, str, bytes] | None = None
    async for rows in trail.chain_rows(session, tenant_id, every_tenant=every_tenant):
        for row in rows:
            records += 1
            tenants.add(row["tenant_id"])
            if (row["tenant_id"], row["lane"]) != chain_of:
                chain_of, expected_seq, prev = (row["tenant_id"], row["lane"]), 1, chain.GENESIS
            intact = (
                row["lane_seq"] == expected_seq
                and bytes(row["prev_hash"]) == prev
                and chain.link(prev, chain.content(row)) == bytes(row["hash"])
            )
            if not intact and first_bad is None:
                first_bad, first_bad_tenant = row["id"], row["tenant_id"]
            expected_seq = row["lane_seq"] + 1
            prev = bytes(row["hash"])
            if head is None or (row["decided_at"], row["id"]) > head[:2]:
                head = (row["decided_at"], row["id"], prev)
    return {
        "ok": first_bad is None,
        "records": records,
        "head": head[2].hex() if head else None,
        "first_bad": first_bad,
        "first_bad_tenant_id": first_bad_tenant,
        "tenants": len(tenants),
    }
