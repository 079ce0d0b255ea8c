"""Reading the area-code table (from memory) and operators' overrides (audited)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.areacodes import repository
from app.areacodes.errors import AreaCodeNotFound, NoOverride
from app.areacodes.schemas import AreaCodeOut, AreaCodeOverrideIn
from app.auth.principal import Principal
from app.core.errors import ValidationFailed
from app.reference.service import reference_changed
from app.reference.snapshot import AreaCode, ReferenceData, Snapshot


def _out(code: AreaCode, overridden: bool) -> AreaCodeOut:
    return AreaCodeOut(
        npa=code.npa,
        country=code.country,
        region=code.region,
        time_zones=list(code.time_zones),
        geographic=code.geographic,
        in_service=code.in_service,
        overridden=overridden,
    )


def _overridden(snapshot: Snapshot) -> frozenset[str]:
    value = snapshot.extras.get("overridden", frozenset())
    return value if isinstance(value, frozenset) else frozenset()


def list_area_codes(
    *, snapshot: Snapshot, country: str | None, region: str | None, after: str | None, limit: int
) -> tuple[list[AreaCodeOut], str | None]:
    overridden = _overridden(snapshot)
    matches = [
        code
        for npa, code in sorted(snapshot.area_codes.items())
        if (country is None or code.country == country)
        and (region is None or code.region == region)
        and (after is None or npa > after)
    ]
    page = matches[:limit]
    cursor = page[-1].npa if len(matches) > limit else None
    return [_out(code, code.npa in overridden) for code in page], cursor


def get_area_code(*, snapshot: Snapshot, npa: str) -> AreaCodeOut:
    code = snapshot.area_codes.get(npa)
    if code is None:
        raise AreaCodeNotFound(f"No area code {npa} in the table.")
    return _out(code, npa in _overridden(snapshot))


async def _effective(session: AsyncSession, npa: str) -> AreaCodeOut:
    codes, overridden = await repository.effective_area_codes(session, npa)
    return _out(codes[npa], npa in overridden)


async def override_area_code(
    *,
    session: AsyncSession,
    reference: ReferenceData,
    principal: Principal,
    npa: str,
    data: AreaCodeOverrideIn,
) -> AreaCodeOut:
    if not await repository.shipped_exists(session, npa):
        raise AreaCodeNotFound(f"No area code {npa} in the table.")
    snapshot = await reference.current_in(session)
    country = snapshot.area_codes[npa].country
    if data.region is not None and f"{country}-{data.region}" not in snapshot.region_zones:
        raise ValidationFailed.field(
            "region",
            f"not a region of {country}",
            f"{data.region} is not a region of {country}; a wrong region would drop its law.",
        )
    await repository.upsert_override(
        session,
        npa=npa,
        time_zones=data.time_zones,
        region=data.region,
        in_service=data.in_service,
        actor_key_id=principal.key_id,
    )
    await reference_changed(
        session,
        reference,
        kind="area_code.overridden",
        target=npa,
        tenant_id=None,
        actor_key_id=principal.key_id,
        details=data.model_dump(exclude_none=True),
    )
    return await _effective(session, npa)


async def remove_override(
    *, session: AsyncSession, reference: ReferenceData, principal: Principal, npa: str
) -> AreaCodeOut:
    if not await repository.delete_override(session, npa):
        raise NoOverride(f"Area code {npa} has no override.")
    await reference_changed(
        session,
        reference,
        kind="area_code.override_removed",
        target=npa,
        tenant_id=None,
        actor_key_id=principal.key_id,
        details={},
    )
    return await _effective(session, npa)
