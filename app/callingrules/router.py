from typing import Annotated

from fastapi import Depends, Path, Query, Request

from app.auth.dependencies import AdminKey, CurrentPrincipal, require
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.auth.scoping import required_tenant
from app.callingrules import service
from app.callingrules.schemas import BanIn, BanOut, CallingRulesOut, PolicyIn, PolicyOut
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.reference.snapshot import ReferenceData

router = make_v1_router(tags=["calling rules"])
AUTH = (InvalidToken, KeyRevoked, KeyExpired, RateLimited)
PolicyWriter = Annotated[Principal, Depends(require(Scope.POLICY_WRITE))]
TenantQuery = Annotated[
    str | None, Query(max_length=40, description="Admin only: the tenant whose policy.")
]


def _reference(request: Request) -> ReferenceData:
    reference: ReferenceData = request.app.state.reference
    return reference


@router.get("/calling-rules", responses=errors(*AUTH))
async def calling_rules(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> CallingRulesOut:
    """Every jurisdiction's windows and banned days, current bans, and the tenant's policy."""
    return CallingRulesOut(
        jurisdictions=service.jurisdictions_view(request.app.state.laws),
        bans=await service.current_bans(session=session),
        policy=await service.tenant_policy_or_none(session=session, tenant_id=principal.tenant_id),
    )


@router.post("/calling-rules/bans", status_code=201, responses=errors(*AUTH, ScopeRequired))
async def declare_ban(
    body: BanIn, principal: AdminKey, session: SessionDep, request: Request
) -> BanOut:
    """Declare a ban (e.g. a state emergency): no calls in that jurisdiction while it holds."""
    reference = _reference(request)
    return await service.declare_ban(
        session=session,
        reference=reference,
        snapshot=await reference.current(request.app.state.db.sessionmaker),
        principal=principal,
        data=body,
    )


@router.get("/calling-rules/bans", responses=errors(*AUTH))
async def list_bans(
    _: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    include_past: Annotated[bool, Query(description="Also lifted and ended bans.")] = False,
) -> Page[BanOut]:
    """Declared bans, oldest first: current and future ones unless include_past."""
    data, cursor = await service.list_bans(session=session, page=page, include_past=include_past)
    return Page(data=data, next_cursor=cursor)


@router.delete("/calling-rules/bans/{ban_id}", responses=errors(*AUTH, ScopeRequired, NotFound))
async def lift_ban(
    ban_id: Annotated[str, Path(max_length=40)],
    principal: AdminKey,
    session: SessionDep,
    request: Request,
) -> BanOut:
    """Lift a ban now (admin; it stays in the history)."""
    return await service.lift_ban(
        session=session, reference=_reference(request), principal=principal, ban_id=ban_id
    )


@router.put("/calling-policy", responses=errors(*AUTH, ScopeRequired, NotFound))
async def set_policy(
    body: PolicyIn,
    principal: PolicyWriter,
    session: SessionDep,
    request: Request,
    tenant_id: TenantQuery = None,
) -> PolicyOut:
    """Set the tenant's own calling hours; they only narrow the law, never widen it."""
    return await service.set_policy(
        session=session,
        reference=_reference(request),
        principal=principal,
        tenant_id=required_tenant(principal, tenant_id),
        data=body,
    )


@router.get("/calling-policy", responses=errors(*AUTH, ScopeRequired, NotFound))
async def get_policy(
    principal: CurrentPrincipal, session: SessionDep, tenant_id: TenantQuery = None
) -> PolicyOut:
    """The tenant's calling policy (404 when it has none)."""
    return await service.get_policy(
        session=session, tenant_id=required_tenant(principal, tenant_id)
    )
