"""All SQL of DNC lists and entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, literal_column, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.core.pagination import PageRequest
from app.dnc.models import DncEntry, DncList

_REFRESH = {"populate_existing": True}


def live() -> ColumnElement[bool]:
    return DncList.deleted_at.is_(None)


async def insert_list(session: AsyncSession, **values: object) -> DncList | None:
    """The new list, or None when a live list of that name exists in the same scope."""
    stmt = (
        insert(DncList)
        .values(**values)
        .on_conflict_do_nothing(
            # the index's own expression, spelled as in the index (a bound '' would not match)
            index_elements=[literal_column("coalesce(tenant_id, '')"), DncList.name],
            index_where=live(),
        )
        .returning(DncList)
    )
    return (await session.scalars(stmt, execution_options=_REFRESH)).one_or_none()


async def get_list(
    session: AsyncSession, list_id: str, visible: ColumnElement[bool], *, for_update: bool = False
) -> DncList | None:
    stmt = select(DncList).where(DncList.id == list_id, live(), visible)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt, execution_options=_REFRESH)).one_or_none()


async def list_lists(
    session: AsyncSession, visible: ColumnElement[bool], page: PageRequest
) -> Sequence[DncList]:
    stmt = select(DncList).where(live(), visible).order_by(DncList.created_at, DncList.id)
    if page.after:
        stmt = stmt.where(tuple_(DncList.created_at, DncList.id) > tuple_(*page.after))
    return (await session.scalars(stmt.limit(page.limit + 1))).all()


async def soft_delete_list(session: AsyncSession, list_id: str) -> None:
    await session.execute(
        update(DncList).where(DncList.id == list_id).values(deleted_at=func.now())
    )


async def upsert_entry(
    session: AsyncSession,
    *,
    list_seq: int,
    number: int,
    reason: str | None,
    expires_at: datetime | None,
) -> tuple[DncEntry, bool]:
    """The entry and whether it is new (an existing one gets the new reason and expiry)."""
    stmt = insert(DncEntry).values(
        number=number, list_seq=list_seq, reason=reason, expires_at=expires_at
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[DncEntry.number, DncEntry.list_seq],
        set_={"reason": stmt.excluded.reason, "expires_at": stmt.excluded.expires_at},
    ).returning(DncEntry, (literal_column("xmax") == 0).label("inserted"))
    row = (await session.execute(upsert, execution_options=_REFRESH)).one()
    return row[0], bool(row[1])


async def delete_entry(session: AsyncSession, *, list_seq: int, number: int) -> bool:
    result = await session.execute(
        delete(DncEntry).where(DncEntry.list_seq == list_seq, DncEntry.number == number)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_entry(session: AsyncSession, *, list_seq: int, number: int) -> DncEntry | None:
    return await session.get(DncEntry, (number, list_seq), populate_existing=True)


async def list_entries(
    session: AsyncSession, *, list_seq: int, after: int | None, limit: int
) -> Sequence[DncEntry]:
    stmt = select(DncEntry).where(DncEntry.list_seq == list_seq).order_by(DncEntry.number)
    if after is not None:
        stmt = stmt.where(DncEntry.number > after)
    return (await session.scalars(stmt.limit(limit + 1))).all()


async def adjust_count(session: AsyncSession, list_id: str, delta: int) -> None:
    await session.execute(
        update(DncList)
        .where(DncList.id == list_id)
        .values(entry_count=DncList.entry_count + delta, updated_at=func.now())
    )


async def lists_holding(
    session: AsyncSession, *, number: int, tenant_id: str | None, every_tenant: bool, at: datetime
) -> Sequence[tuple[DncList, DncEntry]]:
    """Every live list visible to the caller that holds the number unexpired: one index probe."""
    conditions = [
        DncEntry.number == number,
        live(),
        or_(DncEntry.expires_at.is_(None), DncEntry.expires_at > at),
    ]
    if not every_tenant:
        conditions.append(or_(DncList.tenant_id.is_(None), DncList.tenant_id == tenant_id))
    stmt = (
        select(DncList, DncEntry)
        .join(DncList, DncList.seq == DncEntry.list_seq)
        .where(*conditions)
        .order_by(DncList.scope.desc(), DncEntry.listed_at, DncList.id)  # tenant lists first
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
