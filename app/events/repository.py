"""The one writer of change events, and their reads.

Every event is stamped `clock_timestamp()`: the moment of the change, even inside a transaction
that has run for minutes (an upload's merge), never the transaction's start (`now()`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, text, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.ids import new_id
from app.core.pagination import PageRequest
from app.events.models import ChangeEvent

Event = ChangeEvent  # what the readers get (other features do not import the model)

INSERT_EVENT = (
    "INSERT INTO change_events (id, at, tenant_id, actor_key_id, type, target, details) "
    "VALUES ($1, clock_timestamp(), $2, $3, $4, $5, $6::jsonb) RETURNING at"
)
_INSERT_EVENT_BOUND = text(
    "INSERT INTO change_events (id, at, tenant_id, actor_key_id, type, target, details) "
    "VALUES (:id, clock_timestamp(), :tenant_id, :actor_key_id, :type, :target, "
    "CAST(:details AS jsonb))"
)


class RawConnection(Protocol):
    """The driver's connection (asyncpg), for work that runs outside a session (uploads)."""

    async def fetchval(self, query: str, *args: object) -> Any: ...


async def record_event(
    session: AsyncSession,
    *,
    type: str,
    target: str,
    tenant_id: str | None,
    actor_key_id: str | None,
    details: dict[str, Any] | None = None,
) -> str:
    """Add a change event in the caller's transaction, so it commits (or not) with the change."""
    event_id = new_id("evt")
    await session.execute(
        _INSERT_EVENT_BOUND,
        {
            "id": event_id,
            "tenant_id": tenant_id,
            "actor_key_id": actor_key_id,
            "type": type,
            "target": target,
            "details": json.dumps(details or {}),
        },
    )
    return event_id


async def record_event_on(
    raw: RawConnection,
    *,
    type: str,
    target: str,
    tenant_id: str | None,
    actor_key_id: str | None,
    details: dict[str, Any] | None = None,
) -> datetime:
    """`record_event` on the driver's connection, in its transaction; the event's instant."""
    at: datetime = await raw.fetchval(
        INSERT_EVENT,
        new_id("evt"),
        tenant_id,
        actor_key_id,
        type,
        target,
        json.dumps(details or {}),
    )
    return at


async def events_by_ids(session: AsyncSession, ids: Sequence[str]) -> list[ChangeEvent]:
    """The events of these ids that exist, in no particular order (webhook deliveries)."""
    if not ids:
        return []
    stmt = select(ChangeEvent).where(ChangeEvent.id.in_(list(ids)))
    return list((await session.scalars(stmt)).all())


def event_filter(
    tenant_id: str | None,
    every_tenant: bool,
    type_: str | None,
    since: datetime | None,
    until: datetime | None,
    shared_prefixes: Sequence[str],
) -> list[ColumnElement[bool]]:
    """A tenant's own events and the platform's whose type starts with a shared prefix (they
    decide the tenant's checks too); every event for the platform's view of every tenant."""
    conditions: list[ColumnElement[bool]] = []
    if not every_tenant:
        shared = and_(
            ChangeEvent.tenant_id.is_(None),
            or_(*(ChangeEvent.type.startswith(prefix) for prefix in shared_prefixes)),
        )
        conditions.append(
            or_(shared, ChangeEvent.tenant_id == tenant_id)
            if tenant_id is not None
            else ChangeEvent.tenant_id.is_(None)
        )
    if type_ is not None:
        conditions.append(ChangeEvent.type == type_)
    if since is not None:
        conditions.append(ChangeEvent.at >= since)
    if until is not None:
        conditions.append(ChangeEvent.at < until)
    return conditions


async def page_events(
    session: AsyncSession, conditions: list[ColumnElement[bool]], page: PageRequest
) -> list[ChangeEvent]:
    """Up to `page.limit + 1` events, newest first, after the page's cursor."""
    stmt = (
        select(ChangeEvent)
        .where(and_(true(), *conditions))
        .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
    )
    if page.after is not None:
        stmt = stmt.where(tuple_(ChangeEvent.at, ChangeEvent.id) < tuple_(*page.after))
    return list((await session.scalars(stmt.limit(page.limit + 1))).all())


def _visible_to_tenant(tenant_id: str | None) -> ColumnElement[bool]:
    """A tenant's own events and the platform's (tenant NULL); the platform's alone for None."""
    platform = ChangeEvent.tenant_id.is_(None)
    return platform if tenant_id is None else or_(platform, ChangeEvent.tenant_id == tenant_id)


async def target_events(
    session: AsyncSession,
    *,
    target: str,
    types: Sequence[str],
    tenant_id: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[ChangeEvent]:
    """Up to `limit` events of these types about one target (a number), the tenant's and the
    platform's, newest first, before `before` (at, id; ids compared byte by byte): a range of
    ix_change_events_target_at."""
    key = ChangeEvent.id.collate("C")
    stmt = (
        select(ChangeEvent)
        .where(
            ChangeEvent.target == target,
            ChangeEvent.type.in_(types),
            _visible_to_tenant(tenant_id),
        )
        .order_by(ChangeEvent.at.desc(), key.desc())
        .limit(limit)
    )
    if before is not None:
        at, id_ = before
        stmt = stmt.where(ChangeEvent.at <= at, or_(ChangeEvent.at < at, key < id_))
    return list((await session.scalars(stmt)).all())


async def newest_by_list(
    session: AsyncSession, *, target: str, type_: str, tenant_id: str | None
) -> dict[str, datetime]:
    """For each DNC list (`details.list_id`), the newest event of this type about the target."""
    list_id = ChangeEvent.details["list_id"].astext
    stmt = (
        select(list_id, func.max(ChangeEvent.at))
        .where(
            ChangeEvent.target == target,
            ChangeEvent.type == type_,
            _visible_to_tenant(tenant_id),
        )
        .group_by(list_id)
    )
    return {str(row[0]): row[1] for row in (await session.execute(stmt)).all()}
