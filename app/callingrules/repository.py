"""All SQL of declared bans and tenant policies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.callingrules.models import CallingBan, CallingPolicy
from app.core.pagination import PageRequest


async def insert_ban(session: AsyncSession, **values: object) -> CallingBan:
    return (await session.scalars(insert(CallingBan).values(**values).returning(CallingBan))).one()


async def current_bans(session: AsyncSession) -> Sequence[CallingBan]:
    """Bans not lifted that have not ended yet (future ones included)."""
    stmt = select(CallingBan).where(CallingBan.lifted_at.is_(None), CallingBan.ends_at > func.now())
    return (await session.scalars(stmt.order_by(CallingBan.starts_at, CallingBan.id))).all()


async def list_bans(
    session: AsyncSession, page: PageRequest, *, include_past: bool
) -> Sequence[CallingBan]:
    stmt = select(CallingBan).order_by(CallingBan.created_at, CallingBan.id)
    if not include_past:
        stmt = stmt.where(CallingBan.lifted_at.is_(None), CallingBan.ends_at > func.now())
    if page.after:
        stmt = stmt.where(tuple_(CallingBan.created_at, CallingBan.id) > tuple_(*page.after))
    return (await session.scalars(stmt.limit(page.limit + 1))).all()


async def get_ban(session: AsyncSession, ban_id: str) -> CallingBan | None:
    return await session.get(CallingBan, ban_id, with_for_update=True)


async def lift_ban(session: AsyncSession, ban_id: str) -> CallingBan | None:
    stmt = (
        update(CallingBan)
        .where(CallingBan.id == ban_id)
        .values(lifted_at=func.coalesce(CallingBan.lifted_at, func.now()))
        .returning(CallingBan)
    )
    return (
        await session.scalars(stmt, execution_options={"populate_existing": True})
    ).one_or_none()


async def all_policies(session: AsyncSession) -> Sequence[CallingPolicy]:
    return (await session.scalars(select(CallingPolicy))).all()


async def get_policy(session: AsyncSession, tenant_id: str) -> CallingPolicy | None:
    return await session.get(CallingPolicy, tenant_id, populate_existing=True)


async def upsert_policy(
    session: AsyncSession,
    *,
    tenant_id: str,
    windows: dict[str, Any],
    banned_dates: list[date],
    on_stale_registry: str,
    frequency_caps: list[dict[str, Any]],
    after_conversation_hours: int | None,
) -> CallingPolicy:
    stmt = pg_insert(CallingPolicy).values(
        tenant_id=tenant_id,
        windows=windows,
        banned_dates=banned_dates,
        on_stale_registry=on_stale_registry,
        frequency_caps=frequency_caps,
        after_conversation_hours=after_conversation_hours,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["tenant_id"],
        set_={
            "windows": stmt.excluded.windows,
            "banned_dates": stmt.excluded.banned_dates,
            "on_stale_registry": stmt.excluded.on_stale_registry,
            "frequency_caps": stmt.excluded.frequency_caps,
            "after_conversation_hours": stmt.excluded.after_conversation_hours,
            "updated_at": func.now(),
        },
    ).returning(CallingPolicy)
    result = await session.scalars(upsert, execution_options={"populate_existing": True})
    return result.one()
