"""Opt-outs and opt-ins of a tenant: events, the state they decide, listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core import channels
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import decode_number_cursor, opaque
from app.events.repository import record_event
from app.numbers.parsing import PhoneNumber
from app.optouts import repository
from app.optouts.errors import NotOptedOut
from app.optouts.models import OptOutEvent, OptOutState
from app.optouts.schemas import (
    ChannelState,
    OptedOutNumber,
    OptOutEventOut,
    OptOutIn,
    OptOutStateOut,
    RecordedOptOutEvent,
)

# a client clock a little ahead is tolerated; an event further in the future would outrank
# every opt-in recorded until then
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _event_out(number: int, event: OptOutEvent | dict[str, object]) -> OptOutEventOut:
    data = (
        event
        if isinstance(event, dict)
        else {
            "id": event.id,
            "channel": event.channel,
            "source": event.source,
            "occurred_at": event.occurred_at,
            "note": event.note,
            "kind": event.kind,
        }
    )
    return OptOutEventOut.model_validate({**data, "phone": f"+1{number:010d}"})


def _channels(row: OptOutState | None) -> ChannelState:
    if row is None:
        return ChannelState(voice=False, sms=False)
    return ChannelState(voice=row.voice_out, sms=row.sms_out)


async def opt_out(
    *,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    number: PhoneNumber,
    data: OptOutIn,
) -> OptOutEventOut:
    now = datetime.now(UTC)
    occurred_at = data.occurred_at or now
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.field(
            "occurred_at", "in the future", "occurred_at must not be in the future."
        )
    event = {
        "id": new_id("oo"),
        "channel": data.channel,
        "source": data.source,
        "occurred_at": occurred_at,
        "note": data.note,
        "kind": "opt_out",
    }
    await repository.insert_event(
        session, tenant_id=tenant_id, number=number.as_int, actor=principal.key_id, **event
    )
    await record_event(
        session,
        type="optout.opted_out",
        target=number.e164,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details={"event_id": event["id"], "channel": data.channel, "source": data.source},
    )
    return _event_out(number.as_int, event)


async def opt_in(
    *,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    number: PhoneNumber,
    channel: str,
) -> OptOutStateOut:
    """Consent given again on `channel` (an opt-in event); 404 if it was not opted out there."""
    row = await repository.state_for_update(session, tenant_id=tenant_id, number=number.as_int)
    covered = channels.covered(channel)
    if row is None or not any(getattr(row, f"{c}_out") for c in covered):
        raise NotOptedOut(f"{number.e164} is not opted out on {channel}.")
    # an opt-in decides its channels only if it is not older than what decides them now
    deciding = [getattr(row, f"{c}_at") for c in covered if getattr(row, f"{c}_at") is not None]
    occurred_at = max([datetime.now(UTC), *deciding])
    event_id = new_id("oo")
    await repository.insert_event(
        session,
        id=event_id,
        tenant_id=tenant_id,
        number=number.as_int,
        channel=channel,
        kind="opt_in",
        source="api",
        occurred_at=occurred_at,
        note=None,
        actor=principal.key_id,
    )
    await record_event(
        session,
        type="optout.opted_in",
        target=number.e164,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details={"event_id": event_id, "channel": channel},
    )
    return await state_of(session=session, tenant_id=tenant_id, number=number)


async def state_of(*, session: AsyncSession, tenant_id: str, number: PhoneNumber) -> OptOutStateOut:
    row = await repository.state(session, tenant_id=tenant_id, number=number.as_int)
    events = await repository.history(session, tenant_id=tenant_id, number=number.as_int)
    return OptOutStateOut(
        phone=number.e164,
        opted_out=_channels(row),
        history=[_event_out(number.as_int, e) for e in events],
    )


async def opted_out_now(
    *, session: AsyncSession, tenant_id: str, number: PhoneNumber
) -> ChannelState:
    """Whether the number is opted out now, per channel."""
    return _channels(await repository.state(session, tenant_id=tenant_id, number=number.as_int))


async def history_page(
    *,
    session: AsyncSession,
    tenant_id: str,
    number: PhoneNumber,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[RecordedOptOutEvent]:
    """Up to `limit` of the number's events, newest first by when they occurred, before
    `before` (occurred_at, id)."""
    rows = await repository.history_page(
        session, tenant_id=tenant_id, number=number.as_int, before=before, limit=limit
    )
    return [
        RecordedOptOutEvent(
            **_event_out(number.as_int, row).model_dump(),
            recorded_at=row.recorded_at,
            actor_key_id=row.actor_key_id,
            upload_id=row.upload_id,
        )
        for row in rows
    ]


async def list_opted_out(
    *, session: AsyncSession, tenant_id: str, channel: str | None, cursor: str | None, limit: int
) -> tuple[list[OptedOutNumber], str | None]:
    after = None
    if cursor is not None:
        after = decode_number_cursor(cursor)
    rows = await repository.opted_out(
        session, tenant_id=tenant_id, channel=channel, after=after, limit=limit
    )
    kept = rows[:limit]
    out = [
        OptedOutNumber(
            phone=f"+1{row.number:010d}",
            opted_out=_channels(row),
            updated_at=repository.latest(row) or row.updated_at,
        )
        for row in kept
    ]
    more = len(rows) > limit
    return out, opaque(str(kept[-1].number)) if more and kept else None
