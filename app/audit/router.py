from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service
from app.audit.schemas import CheckRecordOut, EventOut, VerifyOut
from app.auth.dependencies import require
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.auth.scoping import existing_tenant
from app.checks.repository import CheckFilter
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.longreads import LongReads, LongReadsBusy
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page, RequestTime

router = make_v1_router(tags=["Audit"])
AUTH = (InvalidToken, KeyRevoked, KeyExpired, RateLimited, ScopeRequired)
Auditor = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]
TenantQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Admin only: one tenant (default: all; 404 if it does not exist).",
    ),
]
Since = Annotated[RequestTime | None, Query(description="From this instant (inclusive).")]
Until = Annotated[RequestTime | None, Query(description="Before this instant.")]


async def _scope(
    principal: Principal, tenant_id: str | None, session: AsyncSession
) -> tuple[str | None, bool]:
    """(tenant, every tenant?): a tenant's key sees its own; a platform key every tenant's,
    or one it names (404 if there is no such tenant, as on every other route)."""
    if tenant_id is None:
        return principal.tenant_id, principal.is_admin and principal.tenant_id is None
    return await existing_tenant(session, principal, tenant_id), False


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/audit/checks",
    response_model=Page[CheckRecordOut],
    responses={
        **errors(*AUTH, NotFound, LongReadsBusy),
        "200": {
            "description": "A page of records, or with `Accept: text/csv` every matching record.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def list_checks(
    request: Request,
    principal: Auditor,
    session: SessionDep,
    page: PageDep,
    outcome: Literal["allowed", "blocked", "invalid"] | None = None,
    error: Annotated[str | None, Query(max_length=32)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    since: Since = None,
    until: Until = None,
    api_key_id: Annotated[str | None, Query(max_length=40)] = None,
    tenant_id: TenantQuery = None,
) -> Any:
    """Check records, newest first; `Accept: text/csv` streams every matching row."""
    tenant, every = await _scope(principal, tenant_id, session)
    flt = CheckFilter(
        tenant_id=tenant,
        every_tenant=every,
        outcome=outcome,
        error=error,
        phone=phone,
        since=since,
        until=until,
        api_key_id=api_key_id,
    )
    if _wants_csv(request):
        reads: LongReads = request.app.state.long_reads
        return reads.stream(
            principal.tenant_id,
            service.stream_csv(request.app.state.db, flt, reads.idle_in_transaction_ms),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="checks.csv"'},
        )
    data, cursor = await service.list_checks(session, flt, page)
    return Page(data=[CheckRecordOut.model_validate(row) for row in data], next_cursor=cursor)


@router.get("/audit/checks/{check_id}", responses=errors(*AUTH, NotFound))
async def get_check(
    check_id: Annotated[str, Path(max_length=40)],
    principal: Auditor,
    session: SessionDep,
    tenant_id: TenantQuery = None,
) -> CheckRecordOut:
    """One check record."""
    tenant, every = await _scope(principal, tenant_id, session)
    flt = CheckFilter(tenant_id=tenant, every_tenant=every)
    return CheckRecordOut.model_validate(await service.get_check(session, flt, check_id))


@router.get("/audit/events", responses=errors(*AUTH, NotFound))
async def list_events(
    principal: Auditor,
    session: SessionDep,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=64, description="e.g. dnc_list.created")] = None,
    since: Since = None,
    until: Until = None,
    tenant_id: TenantQuery = None,
) -> Page[EventOut]:
    """Every change to what decides a check, newest first."""
    tenant, every = await _scope(principal, tenant_id, session)
    conditions = service.event_filter(tenant, every, type, since, until)
    rows, cursor = await service.list_events(session, conditions, page)
    return Page(
        data=[EventOut.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=cursor,
    )


@router.get("/audit/verify", responses=errors(*AUTH, NotFound, LongReadsBusy))
async def verify(
    request: Request, principal: Auditor, session: SessionDep, tenant_id: TenantQuery = None
) -> VerifyOut:
    """Recompute every hash chain of the tenant's check records, end to end."""
    tenant = (await _scope(principal, tenant_id, session))[0]
    reads: LongReads = request.app.state.long_reads
    with reads.held(principal.tenant_id):
        return VerifyOut.model_validate(await service.verify(session, tenant))
