"""A number's history: the lists holding it, its opt-out state and its consents in force now,
and one timeline of its check decisions, single-number DNC changes, opt-out events and consents
granted and revoked, newest first.

Each source is read through its owner's repository or service, newest first from the page's
cursor, at most a page and one more; the merge keeps the newest page and one more, so every
source costs one index range read whatever the number's history holds. Items are ordered by
(instant, key), the key being the item's own id (check, event, opt-out event, consent (a
revocation: its consent's id and `.revoked`), or for a current entry its list's id), all
compared byte by byte in SQL and in Python alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.checks.repository import trail as checks
from app.consents import service as consents
from app.consents.schemas import ConsentOut
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import rfc3339_utc
from app.dnc import service as dnc
from app.dnc.schemas import NumberEntry
from app.events import repository as events
from app.history.schemas import (
    ChannelsNow,
    HistoryItem,
    ItemType,
    ListHolding,
    NumberHistory,
    NumberNow,
)
from app.numbers.parsing import PhoneNumber
from app.optouts import service as optouts
from app.optouts.schemas import RecordedOptOutEvent

ADDED, REMOVED = "dnc_number.added", "dnc_number.removed"  # change events of a number
CONTACT = {"voice": "calls", "sms": "texts", "all": "calls and texts"}
BASIS_TEXT = {
    "express_written_consent": "express written consent",
    "ebr_transaction": "a transaction",
    "ebr_inquiry": "an inquiry",
}


@dataclass(frozen=True, slots=True)
class _Item:
    at: datetime
    key: str
    type: ItemType
    summary: str
    details: dict[str, Any]


def _time(value: datetime | None) -> str | None:
    """Times in details are written as every time the API answers: RFC 3339 in UTC with Z."""
    return None if value is None else rfc3339_utc(value)


def _position(item: _Item) -> tuple[datetime, str]:
    return item.at, item.key


def _check_summary(row: Mapping[Any, Any]) -> str:
    what = "a call" if row["channel"] == "voice" else "a text"
    details = row["details"]
    match row["outcome"], row["error"]:
        case "allowed", _:
            return f"Allowed {what}."
        case _, "opted_out":
            return f"Blocked {what}: the recipient opted out."
        case _, "dnc_blocked":
            return f'Blocked {what}: on the Do-Not-Call list "{details.get("list_name")}".'
        case _, "call_hours_violation":
            return f"Blocked {what}: outside calling hours ({details.get('rule')})."
        case _:
            return f"Refused {what}: not a valid number."


def _check(row: Mapping[Any, Any]) -> _Item:
    return _Item(
        at=row["decided_at"],
        key=row["id"],
        type="check",
        summary=_check_summary(row),
        details={
            "check_id": row["id"],
            "at": _time(row["at"]),
            "outcome": row["outcome"],
            "error": row["error"],
            "channel": row["channel"],
            "recipient_state": row["recipient_state"],
            "batch": row["batch"],
            "api_key_id": row["api_key_id"],
            "request_id": row["request_id"],
            "record": row["details"],
        },
    )


def _dnc_change(event: events.Event, names: Mapping[str, str]) -> _Item:
    list_id = str(event.details.get("list_id"))
    name = names.get(list_id, list_id)
    added = event.type == ADDED
    details: dict[str, Any] = {
        "list_id": list_id,
        "list_name": name,
        "event_id": event.id,
        "actor_key_id": event.actor_key_id,
    }
    if added:
        details["reason"] = event.details.get("reason")
    return _Item(
        at=event.at,
        key=event.id,
        type="dnc.added" if added else "dnc.removed",
        summary=f'Added to the DNC list "{name}".'
        if added
        else f'Removed from the DNC list "{name}".',
        details=details,
    )


def _listing(entry: NumberEntry) -> _Item:
    """A current entry the number got without a change event of its own (a bulk upload)."""
    return _Item(
        at=entry.listed_at,
        key=entry.list_id,
        type="dnc.added",
        summary=f'Listed on the DNC list "{entry.list_name}".',
        details={
            "list_id": entry.list_id,
            "list_name": entry.list_name,
            "event_id": None,
            "actor_key_id": None,
            "reason": entry.reason,
            "expires_at": _time(entry.expires_at),
        },
    )


def _optout(event: RecordedOptOutEvent) -> _Item:
    contact = CONTACT.get(event.channel, event.channel)
    out = event.kind == "opt_out"
    return _Item(
        at=event.occurred_at,
        key=event.id,
        type="optout" if out else "optin",
        summary=f"Opted out of {contact} (source: {event.source})."
        if out
        else f"Opted back in to {contact}.",
        details={
            "event_id": event.id,
            "channel": event.channel,
            "source": event.source,
            "note": event.note,
            "recorded_at": _time(event.recorded_at),
            "actor_key_id": event.actor_key_id,
            "upload_id": event.upload_id,
        },
    )


def _consent(change: consents.ConsentChange) -> _Item:
    consent = change.consent
    contact = CONTACT.get(consent.channel, consent.channel)
    basis = BASIS_TEXT.get(consent.basis, consent.basis)
    granted = change.change == "granted"
    return _Item(
        at=change.at,
        key=change.key,
        type="consent.granted" if granted else "consent.revoked",
        summary=f"Consent to {contact} given ({basis})."
        if granted
        else f"Consent to {contact} revoked ({basis}).",
        details={
            "consent_id": consent.id,
            "basis": consent.basis,
            "channel": consent.channel,
            "obtained_at": _time(consent.obtained_at),
            "expires_at": _time(consent.expires_at),
            "revoked_at": _time(consent.revoked_at),
            "source": consent.source,
            "evidence": consent.evidence,
            "recorded_at": _time(consent.created_at),
            "actor_key_id": consent.created_by if granted else consent.revoked_by,
            "upload_id": consent.upload_id,
        },
    )


async def _listings(
    session: AsyncSession,
    number: PhoneNumber,
    tenant_id: str | None,
    entries: list[NumberEntry],
    page: PageRequest,
) -> list[_Item]:
    """The current entries whose addition no change event records (an add event at or after
    the entry's `listed_at` is the one that made it), on this page's side of the cursor."""
    if not entries:
        return []
    recorded = await events.newest_by_list(
        session, target=number.e164, type_=ADDED, tenant_id=tenant_id
    )
    items = []
    for entry in entries:
        made_by = recorded.get(entry.list_id)
        if made_by is not None and made_by >= entry.listed_at:
            continue
        item = _listing(entry)
        if page.after is None or _position(item) < page.after:
            items.append(item)
    return items


async def number_history(
    *, session: AsyncSession, tenant_id: str | None, number: PhoneNumber, page: PageRequest
) -> NumberHistory:
    """The number as the tenant's checks see it (None: the platform's own checks, which only
    global lists decide) and a page of its timeline."""
    wanted = page.limit + 1
    entries = await dnc.number_entries(session=session, number=number, tenant_id=tenant_id)
    opted_out = ChannelsNow(voice=False, sms=False)
    optout_events: list[RecordedOptOutEvent] = []
    in_force: list[ConsentOut] = []
    consent_changes: list[consents.ConsentChange] = []
    if tenant_id is not None:  # opt-outs and consents are a tenant's
        state = await optouts.opted_out_now(session=session, tenant_id=tenant_id, number=number)
        opted_out = ChannelsNow(voice=state.voice, sms=state.sms)
        optout_events = await optouts.history_page(
            session=session, tenant_id=tenant_id, number=number, before=page.after, limit=wanted
        )
        in_force = await consents.in_force(session=session, tenant_id=tenant_id, number=number)
        consent_changes = await consents.history_page(
            session=session, tenant_id=tenant_id, number=number, before=page.after, limit=wanted
        )
    records = await checks.number_records(
        session, tenant_id=tenant_id, phone=number.e164, before=page.after, limit=wanted
    )
    changes = await events.target_events(
        session,
        target=number.e164,
        types=(ADDED, REMOVED),
        tenant_id=tenant_id,
        before=page.after,
        limit=wanted,
    )
    names = await dnc.list_names(
        session=session, list_ids=[str(event.details.get("list_id")) for event in changes]
    )
    items = [
        *(_check(row) for row in records),
        *(_dnc_change(event, names) for event in changes),
        *(_optout(event) for event in optout_events),
        *(_consent(change) for change in consent_changes),
        *await _listings(session, number, tenant_id, entries, page),
    ]
    items.sort(key=_position, reverse=True)
    kept, cursor = cut_page(items[:wanted], page, key=_position)
    now = datetime.now(UTC)
    return NumberHistory(
        phone=number.e164,
        now=NumberNow(
            lists=[
                ListHolding(
                    list_id=entry.list_id,
                    list_name=entry.list_name,
                    kind=entry.kind,
                    scope=entry.scope,
                    listed_at=entry.listed_at,
                )
                for entry in entries
                if entry.expires_at is None or entry.expires_at > now
            ],
            opted_out=opted_out,
            consents=in_force,
            attempts_24h=0,
        ),
        data=[
            HistoryItem(at=item.at, type=item.type, summary=item.summary, details=item.details)
            for item in kept
        ],
        next_cursor=cursor,
    )
