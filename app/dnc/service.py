"""DNC lists and single entries; the cross-list lookup."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.scoping import existing_tenant, visible_to
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page, decode_number_cursor, opaque
from app.dnc import repository
from app.dnc.errors import ListNameTaken, ListNotFound, NumberNotListed
from app.dnc.models import DncEntry, DncList
from app.dnc.schemas import (
    EntryIn,
    EntryOut,
    ListIn,
    ListMatch,
    ListOut,
    NumberEntry,
    NumberLookup,
)
from app.events.repository import record_event
from app.numbers.parsing import PhoneNumber


def readable(principal: Principal) -> ColumnElement[bool]:
    """Global lists, and the caller's tenant's (every tenant's for an admin)."""
    return or_(DncList.tenant_id.is_(None), visible_to(principal, DncList.tenant_id))


def list_out(row: DncList) -> ListOut:
    """A list as the API shows it."""
    return ListOut.model_validate(row, from_attributes=True)


async def _event(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    target: str,
    dnc_list: DncList,
    **details: object,
) -> None:
    await record_event(
        session,
        type=kind,
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
    )
    if row is None:
        raise ListNameTaken(f"A list named {data.name!r} already exists here.")
    await _event(
        session, principal, "dnc_list.created", row.id, row, name=row.name, scope=row.scope
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
        list_seq=dnc_list.seq,
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
    if not await repository.delete_entry(session, list_seq=dnc_list.seq, number=number.as_int):
        raise NumberNotListed(f"{number.e164} is not on this list.")
    await repository.adjust_count(session, dnc_list.id, -1)
    await _event(session, principal, "dnc_number.removed", number.e164, dnc_list)


async def get_entry(*, session: AsyncSession, dnc_list: DncList, number: PhoneNumber) -> EntryOut:
    entry = await repository.get_entry(session, list_seq=dnc_list.seq, number=number.as_int)
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
    entries = await repository.list_entries(
        session, list_seq=dnc_list.seq, after=_after_number(cursor), limit=limit
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
        ListMatch(list_id=lst.id, list_name=lst.name, scope=lst.scope, listed_at=entry.listed_at)
        for lst, entry in rows
    ]
    return NumberLookup(phone=number.e164, listed=bool(matches), lists=matches)


# API-2.md section 12 gives lists a kind; until kinds are stored, every list is what the spec
# makes the lists that exist before them: `internal`
LIST_KIND = "internal"


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
            kind=LIST_KIND,
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


async def global_list_for_import(session: AsyncSession, name: str) -> str:
    """The live global list of that name (`callguard dnc import --list-name`), created on
    first use by the operator's command line (no key: the event has no actor)."""
    row = await repository.insert_list(
        session, id=new_id("lst"), tenant_id=None, scope="global", name=name, description=""
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
        details={"name": name, "scope": "global"},
    )
    return row.id
