"""Calling rules: the snapshot loader (area codes, overrides, bans, policies)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.areacodes import repository as areacodes
from app.callingrules.reference import Snapshot, build_snapshot


async def load_snapshot(session: AsyncSession) -> Snapshot:
    codes, overridden = await areacodes.effective_area_codes(session)
    return build_snapshot(codes, {"overridden": frozenset(overridden)})
