from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import ChangeEvent
from app.core.ids import new_id


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
        insert(ChangeEvent).values(
            id=event_id,
            at=func.clock_timestamp(),  # the moment of the change, even inside a long transaction
            type=type,
            target=target,
            tenant_id=tenant_id,
            actor_key_id=actor_key_id,
            details=details or {},
        )
    )
    return event_id
