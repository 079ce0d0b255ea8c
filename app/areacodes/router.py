from typing import Annotated

from fastapi import Path, Query, Request

from app.areacodes import service
from app.areacodes.schemas import AreaCodeOut, AreaCodeOverrideIn
from app.auth.dependencies import AdminKey, CurrentPrincipal
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.routing import make_v1_router
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.routing import errors
from app.core.schemas import Page
from app.reference.snapshot import ReferenceData, Snapshot

router = make_v1_router(tags=["area codes"])
Npa = Annotated[str, Path(pattern=r"^[0-9]{3}$", description="Three-digit area code.")]
READ_ERRORS = (InvalidToken, KeyRevoked, KeyExpired, RateLimited)


def _reference(request: Request) -> ReferenceData:
    reference: ReferenceData = request.app.state.reference
    return reference


async def _snapshot(request: Request) -> Snapshot:
    return await _reference(request).current(request.app.state.db.sessionmaker)


@router.get("/area-codes", responses=errors(*READ_ERRORS))
async def list_area_codes(
    request: Request,
    _: CurrentPrincipal,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    region: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{3}$")] = None,
) -> Page[AreaCodeOut]:
    """List area codes, by NPA, with their candidate time zones."""
    data, next_cursor = service.list_area_codes(
        snapshot=await _snapshot(request), country=country, region=region, after=cursor, limit=limit
    )
    return Page(data=data, next_cursor=next_cursor)


@router.get("/area-codes/{npa}", responses=errors(*READ_ERRORS, NotFound))
async def get_area_code(npa: Npa, request: Request, _: CurrentPrincipal) -> AreaCodeOut:
    """One area code as checks see it (overrides applied)."""
    return service.get_area_code(snapshot=await _snapshot(request), npa=npa)


@router.put("/area-codes/{npa}", responses=errors(*READ_ERRORS, ScopeRequired, NotFound))
async def override_area_code(
    npa: Npa, body: AreaCodeOverrideIn, principal: AdminKey, session: SessionDep, request: Request
) -> AreaCodeOut:
    """Override the shipped data for an area code (admin; audited)."""
    return await service.override_area_code(
        session=session, reference=_reference(request), principal=principal, npa=npa, data=body
    )


@router.delete("/area-codes/{npa}", responses=errors(*READ_ERRORS, ScopeRequired, NotFound))
async def remove_area_code_override(
    npa: Npa, principal: AdminKey, session: SessionDep, request: Request
) -> AreaCodeOut:
    """Remove an override: the shipped data applies again (admin; audited)."""
    return await service.remove_override(
        session=session, reference=_reference(request), principal=principal, npa=npa
    )
