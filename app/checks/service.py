"""Preparing checks from requests (parse, calling hours from memory) and answering them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.callingrules.decide import HoursDecision, decide_hours
from app.callingrules.reference import Snapshot
from app.checks.outcome import SUMMARY_KEYS, Decided, Prepared, batch_item
from app.checks.pipeline import CheckWriter
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_strict
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


def _state(value: str | None, field: str, snapshot: Snapshot) -> str | None:
    """A recipient state the rules know (US state or territory, Canadian province), upper case."""
    if value is None:
        return None
    state = value.strip().upper()
    if f"US-{state}" in snapshot.region_zones or f"CA-{state}" in snapshot.region_zones:
        return state
    raise ValidationFailed.field(
        field,
        "unknown state or province",
        f"recipient_state {value[:16]!r} is not a US state or territory or a Canadian province.",
    )


class Preparer:
    """Prepares the items of one request; calling hours are computed once per (area code,
    recipient state) within it, since they share the instant and the tenant."""

    def __init__(self, ctx: Context, at: datetime, channel: str, batch: bool) -> None:
        self.ctx = ctx
        self.at = at
        self.channel = channel
        self.batch = batch
        self._hours: dict[tuple[str, str | None], HoursDecision] = {}

    def item(self, to: str, recipient_state: str | None) -> Prepared:
        ctx = self.ctx
        item = Prepared(
            check_id=new_id("chk"),
            phone=to[:64],
            at=self.at,
            channel=self.channel,
            recipient_state=recipient_state,
            tenant_id=ctx.tenant_id,
            api_key_id=ctx.api_key_id,
            request_id=ctx.request_id,
            batch=self.batch,
        )
        try:
            number = parse_strict(to, ctx.snapshot.in_service)
        except InvalidPhone as exc:
            item.invalid = dict(exc.details or {})
            item.invalid_message = exc.message
            return item
        key = (number.npa, recipient_state)
        hours = self._hours.get(key)
        if hours is None:
            hours = decide_hours(
                number=number,
                at=self.at,
                recipient_state=recipient_state,
                tenant_id=ctx.tenant_id,
                snapshot=ctx.snapshot,
                laws=ctx.laws,
                holidays=ctx.holidays,
            )
            self._hours[key] = hours
        item.number = number
        item.hours = hours
        return item


def _instant(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not 1900 <= at.year <= 2200:  # the rules and time-zone data mean nothing out there
        raise ValidationFailed.field(
            "at", "out of range", "at must be between the years 1900 and 2200."
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
) -> Decided:
    state = _state(recipient_state, "recipient_state", ctx.snapshot)
    preparer = Preparer(ctx, _instant(at), channel, batch=False)
    [decided] = await writer.decide([preparer.item(to, state)])
    return decided


async def check_batch(
    writer: CheckWriter,
    ctx: Context,
    *,
    items: list[tuple[str, str | None]],
    at: datetime | None,
    channel: str,
) -> dict[str, Any]:
    states = [
        _state(state, f"items[{n}].recipient_state", ctx.snapshot)
        for n, (_, state) in enumerate(items)
    ]
    preparer = Preparer(ctx, _instant(at), channel, batch=True)
    prepared = [preparer.item(to, state) for (to, _), state in zip(items, states, strict=True)]
    decided = await writer.decide(prepared)
    summary = dict.fromkeys(SUMMARY_KEYS, 0)
    results = []
    for (to, _), result in zip(items, decided, strict=True):
        results.append(batch_item(to, result))
        key = "allowed" if result.status == 200 else result.body["error"]
        summary[key] += 1
    return {"results": results, "summary": summary}
