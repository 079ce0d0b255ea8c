"""All SQL of area codes and their overrides."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.areacodes.models import AreaCodeOverride, AreaCodeRow
from app.reference.snapshot import AreaCode


async def effective_area_codes(
    session: AsyncSession, npa: str | None = None
) -> tuple[dict[str, AreaCode], set[str]]:
    """Area codes (every one, or just `npa`) with overrides applied, and which are overridden."""
    stmt = select(AreaCodeRow, AreaCodeOverride).outerjoin(
        AreaCodeOverride, AreaCodeOverride.npa == AreaCodeRow.npa
    )
    if npa is not None:
        stmt = stmt.where(AreaCodeRow.npa == npa)
    rows = (await session.execute(stmt)).all()
    codes: dict[str, AreaCode] = {}
    overridden: set[str] = set()
    for base, override in rows:
        zones, region, in_service = base.time_zones, base.region, base.in_service
        if override is not None:
            overridden.add(base.npa)
            zones = override.time_zones if override.time_zones is not None else zones
            region = override.region if override.region is not None else region
            in_service = override.in_service if override.in_service is not None else in_service
        codes[base.npa] = AreaCode(
            npa=base.npa,
            country=base.country,
            region=region,
            time_zones=tuple(zones),
            geographic=base.geographic,
            in_service=in_service,
            parent_npa=base.parent_npa,
            source="operator override" if override is not None else base.source,
        )
    return codes, overridden


async def shipped_exists(session: AsyncSession, npa: str) -> bool:
    return await session.get(AreaCodeRow, npa) is not None


async def upsert_override(
    session: AsyncSession,
    *,
    npa: str,
    time_zones: list[str] | None,
    region: str | None,
    in_service: bool | None,
    actor_key_id: str,
) -> None:
    values = {
        "npa": npa,
        "time_zones": time_zones,
        "region": region,
        "in_service": in_service,
        "updated_by": actor_key_id,
    }
    stmt = insert(AreaCodeOverride).values(**values)
    kept = ("time_zones", "region", "in_service")  # a field not sent keeps its override
    stmt = stmt.on_conflict_do_update(
        index_elements=["npa"],
        set_={k: func.coalesce(stmt.excluded[k], getattr(AreaCodeOverride, k)) for k in kept}
        | {"updated_by": stmt.excluded.updated_by, "updated_at": text("now()")},
    )
    await session.execute(stmt)


async def delete_override(session: AsyncSession, npa: str) -> bool:
    result = await session.execute(delete(AreaCodeOverride).where(AreaCodeOverride.npa == npa))
    return bool(result.rowcount)  # type: ignore[attr-defined]
