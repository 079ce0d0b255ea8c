"""DNC lists (kinds and freshness included) and single entries; the cross-list lookup; the
registry lists' ages for operators; the listing of DNC uploads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.scoping import existing_tenant, visible_to
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page, decode_number_cursor, opaque
from app.dnc import repository
from app.dnc.errors import ListNameTaken, ListNotFound, NumberNotListed
from app.dnc.freshness import AGING_WARNING as AGING_WARNING  # the check's warnings too
from app.dnc.freshness import list_kind, registry_age
from app.dnc.freshness import stale_at as stale_at
from app.dnc.models import REGISTRY_MAX_AGE_DAYS, DncEntry, DncList
from app.dnc.schemas import (
    DncUploadSummary,
    EntryIn,
    EntryOut,
    ListIn,
    ListMatch,
    ListOut,
    ListPatch,
    NumberEntry,
    NumberLookup,
    RegistryAge,
)
from app.events.repository import record_event
from app.numbers.parsing import PhoneNumber
from app.uploads import service as uploads
from app.uploads.dependencies import UploadRunner


def readable(principal: Principal) -> ColumnElement[bool]:
    """Global lists, and the caller's tenant's (every tenant's for an admin)."""
    return or_(DncList.tenant_id.is_(None), visible_to(principal, DncList.tenant_id))


def list_out(row: DncList, now: datetime | None = None) -> ListOut:
    """A list as the API shows it, its freshness as of `now` (default: now)."""
    until = stale_at(row.refreshed_at, row.max_age_days)
    at = now or datetime.now(UTC)
    return ListOut(
        id=row.id,
        name=row.name,
        scope=row.scope,
        tenant_id=row.tenant_id,
        description=row.description,
        kind=list_kind(row.kind),
        refreshed_at=row.refreshed_at,
        max_age_days=row.max_age_days,
        stale_at=until,
        stale=until is not None and at > until,
        entry_count=row.entry_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _event(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    target: str,
    dnc_list: DncList,
    **details: object,
) -> None:
    await record_event(
        session,
        type=event_type,
        target=target,
        tenant_id=dnc_list.tenant_id,
        actor_key_id=principal.key_id,
        details={"list_id": dnc_list.id, **details},
    )


async def create_list(
    *, session: AsyncSession, principal: Principal, data: ListIn, tenant_id: str | None
) -> ListOut:
    if data.scope == "global":
        if not principal.is_admin:
            raise ScopeRequired(Scope.ADMIN)
        owner = None
    else:
        owner = await existing_tenant(session, principal, tenant_id)
    row = await repository.insert_list(
        session,
        id=new_id("lst"),
        tenant_id=owner,
        scope=data.scope,
        name=data.name,
        description=data.description,
        kind=data.kind,
        max_age_days=_max_age(data.kind, data.max_age_days),
    )
    if row is None:
        raise ListNameTaken(f"A list named {data.name!r} already exists here.")
    await _event(
        session,
        principal,
        "dnc_list.created",
        row.id,
        row,
        name=row.name,
        scope=row.scope,
        kind=row.kind,
        max_age_days=row.max_age_days,
    )
    return list_out(row)


def _max_age(kind: str, given: int | None) -> int | None:
    """A registry list's maximum age (31 days unless given); none for other kinds."""
    if kind != "registry":
        return None
    return REGISTRY_MAX_AGE_DAYS if given is None else given


async def update_list(
    *, session: AsyncSession, principal: Principal, dnc_list: DncList, data: ListPatch
) -> ListOut:
    """A partial change of kind, description and maximum age (`dnc_list` locked, as
    `visible_list(..., to_change=True)` gave it); one `dnc_list.updated` event says what
    changed, old and new. Nothing given, or nothing different: no change, no event."""
    given = data.model_fields_set
    kind = data.kind if data.kind is not None else dnc_list.kind
    if "max_age_days" in given and data.max_age_days is not None and kind != "registry":
        raise ValidationFailed.field(
            "max_age_days",
            "registry lists only",
            f"max_age_days is for registry lists only; this list is {kind} "
            "(send kind: registry with it to make it one).",
        )
    if "max_age_days" in given:
        max_age = _max_age(kind, data.max_age_days)
    elif kind == dnc_list.kind:
        max_age = dnc_list.max_age_days
    else:
        max_age = _max_age(kind, None)
    new = {
        "kind": kind,
        "description": data.description if data.description is not None else dnc_list.description,
        "max_age_days": max_age,
    }
    old = {name: getattr(dnc_list, name) for name in new}
    changes = {name: {"old": old[name], "new": new[name]} for name in new if new[name] != old[name]}
    if not changes:
        return list_out(dnc_list)
    row = await repository.update_list(
        session, dnc_list.id, **{name: new[name] for name in changes}
    )
    await _event(
        session,
        principal,
        "dnc_list.updated",
        row.id,
        row,
        name=row.name,
        kind=row.kind,
        changes=changes,
    )
    return list_out(row)


async def list_lists(
    *, session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[ListOut], str | None]:
    rows, cursor = cut_page(await repository.list_lists(session, readable(principal), page), page)
    return [list_out(row) for row in rows], cursor


async def visible_list(
    session: AsyncSession, principal: Principal, list_id: str, *, to_change: bool = False
) -> DncList:
    row = await repository.get_list(session, list_id, readable(principal), for_update=to_change)
    if row is None:
        raise ListNotFound()
    if to_change and row.scope == "global" and not principal.is_admin:
        raise ScopeRequired(Scope.ADMIN)
    return row


async def delete_list(*, session: AsyncSession, principal: Principal, dnc_list: DncList) -> None:
    """`dnc_list`: as `visible_list(..., to_change=True)` gave it (locked)."""
    await repository.soft_delete_list(session, dnc_list.id)
    await _event(
        session,
        principal,
        "dnc_list.deleted",
        dnc_list.id,
        dnc_list,
        kind=dnc_list.kind,
        entry_count=dnc_list.entry_count,
    )


def _entry_out(number: PhoneNumber, entry: DncEntry) -> EntryOut:
    return EntryOut(
        phone=number.e164,
        listed_at=entry.listed_at,
        reason=entry.reason,
        expires_at=entry.expires_at,
    )


async def put_entry(
    *,
    session: AsyncSession,
    principal: Principal,
    dnc_list: DncList,
    number: PhoneNumber,
    data: EntryIn,
) -> tuple[EntryOut, bool]:
    """`dnc_list`: as `visible_list(..., to_change=True)` gave it (locked)."""
    entry, added = await repository.upsert_entry(
        session,
        list_key=dnc_list.entry_key,
        number=number.as_int,
        reason=data.reason,
        expires_at=data.expires_at,
    )
    if added:
        await repository.adjust_count(session, dnc_list.id, 1)
    kind = "dnc_number.added" if added else "dnc_number.updated"
    await _event(session, principal, kind, number.e164, dnc_list, reason=data.reason)
    return _entry_out(number, entry), added


async def delete_entry(
    *, session: AsyncSession, principal: Principal, dnc_list: DncList, number: PhoneNumber
) -> None:
    """`dnc_list`: as `visible_list(..., to_change=True)` gave it (locked)."""
    if not await repository.delete_entry(
        session, list_key=dnc_list.entry_key, number=number.as_int
    ):
        raise NumberNotListed(f"{number.e164} is not on this list.")
    await repository.adjust_count(session, dnc_list.id, -1)
    await _event(session, principal, "dnc_number.removed", number.e164, dnc_list)


async def get_entry(*, session: AsyncSession, dnc_list: DncList, number: PhoneNumber) -> EntryOut:
    entry = await repository.get_entry(session, list_key=dnc_list.entry_key, number=number.as_int)
    if entry is None:
        raise NumberNotListed(f"{number.e164} is not on this list.")
    return _entry_out(number, entry)


def _after_number(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    return decode_number_cursor(cursor)


async def list_entries(
    *, session: AsyncSession, dnc_list: DncList, cursor: str | None, limit: int
) -> tuple[list[EntryOut], str | None]:
    if dnc_list.entry_count == 0:
        # nothing to read: a compact list (read through the primary key) would scan it all
        return [], None
    entries = await repository.list_entries(
        session, list_key=dnc_list.entry_key, after=_after_number(cursor), limit=limit
    )
    kept = entries[:limit]
    out = [_entry_out(PhoneNumber(f"{e.number:010d}"), e) for e in kept]
    more = len(entries) > limit
    return out, opaque(str(kept[-1].number)) if more and kept else None


async def lookup(
    *, session: AsyncSession, principal: Principal, number: PhoneNumber
) -> NumberLookup:
    rows = await repository.lists_holding(
        session,
        number=number.as_int,
        tenant_id=principal.tenant_id,
        every_tenant=principal.is_admin,
        at=datetime.now(UTC),
    )
    matches = [
        ListMatch(
            list_id=lst.id,
            list_name=lst.name,
            kind=list_kind(lst.kind),
            scope=lst.scope,
            listed_at=entry.listed_at,
        )
        for lst, entry in rows
    ]
    return NumberLookup(phone=number.e164, listed=bool(matches), lists=matches)


async def number_entries(
    *, session: AsyncSession, number: PhoneNumber, tenant_id: str | None
) -> list[NumberEntry]:
    """The number's entries (expired ones included) on the live lists that decide the tenant's
    checks: global lists and its own (None: global lists only)."""
    rows = await repository.entries_of_number(session, number=number.as_int, tenant_id=tenant_id)
    return [
        NumberEntry(
            list_id=lst.id,
            list_name=lst.name,
            kind=list_kind(lst.kind),
            scope=lst.scope,
            listed_at=entry.listed_at,
            reason=entry.reason,
            expires_at=entry.expires_at,
        )
        for lst, entry in rows
    ]


async def list_names(*, session: AsyncSession, list_ids: list[str]) -> dict[str, str]:
    """The names of these lists (deleted ones too: history names them)."""
    return await repository.list_names(session, sorted(set(list_ids)))


async def global_list_for_import(
    session: AsyncSession, name: str, *, kind: str | None = None, max_age_days: int | None = None
) -> str:
    """The live global list of that name (`callguard dnc import --list-name`), created on
    first use by the operator's command line (no key: the event has no actor), of `kind`
    (default internal) and `max_age_days` (registry only; 31 unless given)."""
    made_kind = kind or "internal"
    row = await repository.insert_list(
        session,
        id=new_id("lst"),
        tenant_id=None,
        scope="global",
        name=name,
        description="",
        kind=made_kind,
        max_age_days=_max_age(made_kind, max_age_days),
    )
    if row is None:
        found = await repository.live_global_list(session, name)
        assert found is not None, "a live list of that name exists (insert_list said so)"
        return found.id
    await record_event(
        session,
        type="dnc_list.created",
        target=row.id,
        tenant_id=None,
        actor_key_id=None,
        details={
            "list_id": row.id,
            "name": name,
            "scope": "global",
            "kind": row.kind,
            "max_age_days": row.max_age_days,
        },
    )
    return row.id


def import_mismatch(row: DncList, *, kind: str | None, max_age_days: int | None) -> str | None:
    """Why `callguard dnc import --kind/--max-age-days` does not fit an existing list (None:
    it does). The command line never changes a list's kind: PATCH does, audited."""
    if kind is not None and row.kind != kind:
        return (
            f"the list {row.id} is {row.kind}, not {kind}; change its kind with "
            f"PATCH /v1/dnc/lists/{row.id} first."
        )
    if max_age_days is not None and row.max_age_days != max_age_days:
        return (
            f"the list {row.id} has max_age_days {row.max_age_days}, not {max_age_days}; change "
            f"it with PATCH /v1/dnc/lists/{row.id} first."
        )
    return None


async def registry_ages(*, session: AsyncSession, now: datetime | None = None) -> list[RegistryAge]:
    """Every live registry list's age and freshness at `now` (default: now), the first to be
    (or that was) stale first: one read of the few registry rows of dnc_lists (/readyz,
    /metrics)."""
    at = now or datetime.now(UTC)
    ages = [registry_age(row, at) for row in await repository.live_registry_lists(session)]
    return sorted(ages, key=lambda age: (age.stale_at, age.list_id))


async def list_uploads(
    *,
    runner: UploadRunner,
    session: AsyncSession,
    principal: Principal,
    statuses: Sequence[str],
    list_id: str | None,
    page: PageRequest,
) -> tuple[list[DncUploadSummary], str | None]:
    """DNC uploads the caller may read (its tenant's lists' and global ones; every one for the
    platform), newest first, each with its list's name."""
    data, cursor = await uploads.list_uploads(
        runner=runner,
        session=session,
        kind="dnc",
        out=DncUploadSummary,
        statuses=statuses,
        tenant_id=principal.tenant_id,
        every_tenant=principal.is_admin,
        with_global=True,
        list_id=list_id,
        page=page,
    )
    names = await repository.list_names(session, sorted({u.list_id for u in data}))
    for upload in data:
        upload.list_name = names.get(upload.list_id)
    return data, cursor
