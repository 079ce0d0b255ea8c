"""The reference snapshot's one statement: announce a change to every process."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reference.snapshot import CHANNEL


async def notify_reference_change(session: AsyncSession, what: str) -> None:
    """NOTIFY in the caller's transaction: delivered to every listener on commit."""
    await session.execute(
        text("SELECT pg_notify(:channel, :what)"), {"channel": CHANNEL, "what": what}
    )
