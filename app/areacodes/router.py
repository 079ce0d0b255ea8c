from typing import Annotated

from fastapi import Path, Query

from app.areacodes import service
from app.areacodes.schemas import AreaCodeOut, AreaCodeOverrideIn
from app.auth.dependencies import AdminKey, CurrentPrincipal
from app.auth.errors import AUTH_ERRORS, KEY_ERRORS
from app.auth.routing import make_v1_router
from app.core.dependencies import SessionDep
from app.core.errors import NotFound
from app.core.routing import errors
from app.core.schemas import Page
from app.reference.dependencies import ReferenceDep, SnapshotDep

router = make_v1_router(tags=["area codes"])
Npa = Annotated[str, Path(pattern=r"^[0-9]{3}$", description="Three-digit area code.")]


@router.get("/area-codes", responses=errors(*KEY_ERRORS))
async def list_area_codes(
    _: CurrentPrincipal,
    snapshot: SnapshotDep,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    region: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{3}$")] = None,
) -> Page[AreaCodeOut]:
    """List area codes, by NPA, with their candidate time zones."""
    data, next_cursor = service.list_area_codes(
        snapshot=snapshot, country=country, region=region, after=cursor, limit=limit
    )
    return Page(data=data, next_cursor=next_cursor)


@router.get("/area-codes/{npa}", responses=errors(*KEY_ERRORS, NotFound))
async def get_area_code(npa: Npa, _: CurrentPrincipal, snapshot: SnapshotDep) -> AreaCodeOut:
    """One area code as checks see it (overrides applied)."""
    return service.get_area_code(snapshot=snapshot, npa=npa)


@router.put("/area-codes/{npa}", responses=errors(*AUTH_ERRORS, NotFound))
async def override_area_code(
    npa: Npa,
    body: AreaCodeOverrideIn,
    principal: AdminKey,
    session: SessionDep,
    reference: ReferenceDep,
) -> AreaCodeOut:
    """Override the shipped data for an area code (admin; audited)."""
    return await service.override_area_code(
        session=session, reference=reference, principal=principal, npa=npa, data=body
    )


@router.delete("/area-codes/{npa}", responses=errors(*AUTH_ERRORS, NotFound))
async def remove_area_code_override(
    npa: Npa, principal: AdminKey, session: SessionDep, reference: ReferenceDep
) -> AreaCodeOut:
    """Remove an override: the shipped data applies again (admin; audited)."""
    return await service.remove_override(
        session=session, reference=reference, principal=principal, npa=npa
    )
