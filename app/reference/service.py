"""A change to what checks read from memory: audited, announced, and reloaded here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.events.repository import record_event
from app.reference import repository
from app.reference.snapshot import ReferenceData


async def reference_changed(
    session: AsyncSession,
    reference: ReferenceData,
    *,
    kind: str,
    target: str,
    tenant_id: str | None,
    actor_key_id: str,
    details: dict[str, Any],
) -> None:
    """Record the change event, NOTIFY every process, and mark this one's snapshot stale once
    the transaction commits."""
    await record_event(
        session,
        type=kind,
        target=target,
        tenant_id=tenant_id,
        actor_key_id=actor_key_id,
        details=details,
    )
    await repository.notify_reference_change(session, kind)
    after_commit(session, reference.mark_dirty)
