from typing import Annotated

from fastapi import Depends, Path, Query

from app.auth.dependencies import AdminKey, CurrentPrincipal, TenantDep, require
from app.auth.errors import AUTH_ERRORS, KEY_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.callingrules import service
from app.callingrules.dependencies import CapsDep, LawsDep
from app.callingrules.schemas import BanIn, BanOut, CallingRulesOut, PolicyIn, PolicyOut
from app.core.dependencies import SessionDep
from app.core.errors import NotFound
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.reference.dependencies import ReferenceDep, SnapshotDep

router = make_v1_router(tags=["calling rules"])
PolicyWriter = Annotated[Principal, Depends(require(Scope.POLICY_WRITE))]


@router.get("/calling-rules", responses=errors(*KEY_ERRORS))
async def calling_rules(
    principal: CurrentPrincipal, session: SessionDep, laws: LawsDep, caps: CapsDep
) -> CallingRulesOut:
    """The calling rules: every jurisdiction's windows, bans, caps and the tenant's policy.

    Every jurisdiction's windows and banned days, the laws' frequency caps with their sources,
    current bans, and the tenant's policy."""
    return CallingRulesOut(
        jurisdictions=service.jurisdictions_view(laws),
        frequency_caps=service.law_caps_view(caps),
        bans=await service.current_bans(session=session),
        policy=await service.tenant_policy_or_none(session=session, tenant_id=principal.tenant_id),
    )


@router.post("/calling-rules/bans", status_code=201, responses=errors(*AUTH_ERRORS))
async def declare_ban(
    body: BanIn,
    principal: AdminKey,
    session: SessionDep,
    reference: ReferenceDep,
    snapshot: SnapshotDep,
) -> BanOut:
    """Declare a ban (e.g. a state emergency): no calls in that jurisdiction while it holds."""
    return await service.declare_ban(
        session=session,
        reference=reference,
        snapshot=snapshot,
        principal=principal,
        data=body,
    )


@router.get("/calling-rules/bans", responses=errors(*KEY_ERRORS))
async def list_bans(
    _: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    include_past: Annotated[bool, Query(description="Also lifted and ended bans.")] = False,
) -> Page[BanOut]:
    """Declared bans, oldest first: current and future ones unless include_past."""
    data, cursor = await service.list_bans(session=session, page=page, include_past=include_past)
    return Page(data=data, next_cursor=cursor)


@router.delete("/calling-rules/bans/{ban_id}", responses=errors(*AUTH_ERRORS, NotFound))
async def lift_ban(
    ban_id: Annotated[str, Path(max_length=40)],
    principal: AdminKey,
    session: SessionDep,
    reference: ReferenceDep,
) -> BanOut:
    """Lift a ban now (admin; it stays in the history)."""
    return await service.lift_ban(
        session=session, reference=reference, principal=principal, ban_id=ban_id
    )


@router.put("/calling-policy", responses=errors(*AUTH_ERRORS, NotFound))
async def set_policy(
    body: PolicyIn,
    principal: PolicyWriter,
    session: SessionDep,
    reference: ReferenceDep,
    tenant_id: TenantDep,
) -> PolicyOut:
    """Set the tenant's own calling hours and frequency caps (they only narrow the law).

    They never widen it: its caps are added to the law's, and `after_conversation_hours`
    forbids calls for that long after a `connected` attempt."""
    return await service.set_policy(
        session=session,
        reference=reference,
        principal=principal,
        tenant_id=tenant_id,
        data=body,
    )


@router.get("/calling-policy", responses=errors(*AUTH_ERRORS, NotFound))
async def get_policy(session: SessionDep, tenant_id: TenantDep) -> PolicyOut:
    """The tenant's calling policy (404 when it has none)."""
    return await service.get_policy(session=session, tenant_id=tenant_id)
