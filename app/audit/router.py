from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request

from app.audit import service
from app.audit.dependencies import AuditScopeDep
from app.audit.schemas import CheckRecordOut, EventOut, VerifyOut
from app.auth.dependencies import require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.checks.repository import CheckFilter
from app.core.dependencies import DatabaseDep, LongReadsDep, SessionDep
from app.core.errors import NotFound
from app.core.longreads import LongReadsBusy
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page, RequestTime

router = make_v1_router(tags=["Audit"])
Auditor = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]
Since = Annotated[RequestTime | None, Query(description="From this instant (inclusive).")]
Until = Annotated[RequestTime | None, Query(description="Before this instant.")]


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/audit/checks",
    response_model=Page[CheckRecordOut],
    responses={
        **errors(*AUTH_ERRORS, NotFound, LongReadsBusy),
        "200": {
            "description": "A page of records, or with `Accept: text/csv` every matching record.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def list_checks(
    request: Request,
    principal: Auditor,
    scope: AuditScopeDep,
    session: SessionDep,
    database: DatabaseDep,
    reads: LongReadsDep,
    page: PageDep,
    outcome: Literal["allowed", "blocked", "invalid"] | None = None,
    error: Annotated[str | None, Query(max_length=32)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    since: Since = None,
    until: Until = None,
    api_key_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Check records, newest first; `Accept: text/csv` streams every matching row."""
    flt = CheckFilter(
        tenant_id=scope.tenant_id,
        every_tenant=scope.every_tenant,
        outcome=outcome,
        error=error,
        phone=phone,
        since=since,
        until=until,
        api_key_id=api_key_id,
    )
    if _wants_csv(request):
        return reads.stream(
            principal.tenant_id,
            service.stream_csv(database, flt, reads.idle_in_transaction_ms),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="checks.csv"'},
        )
    data, cursor = await service.list_checks(session, flt, page)
    return Page(data=[CheckRecordOut.model_validate(row) for row in data], next_cursor=cursor)


@router.get("/audit/checks/{check_id}", responses=errors(*AUTH_ERRORS, NotFound))
async def get_check(
    check_id: Annotated[str, Path(max_length=40)],
    _: Auditor,
    scope: AuditScopeDep,
    session: SessionDep,
) -> CheckRecordOut:
    """One check record."""
    flt = CheckFilter(tenant_id=scope.tenant_id, every_tenant=scope.every_tenant)
    return CheckRecordOut.model_validate(await service.get_check(session, flt, check_id))


@router.get("/audit/events", responses=errors(*AUTH_ERRORS, NotFound))
async def list_events(
    _: Auditor,
    scope: AuditScopeDep,
    session: SessionDep,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=64, description="e.g. dnc_list.created")] = None,
    since: Since = None,
    until: Until = None,
) -> Page[EventOut]:
    """Every change to what decides a check, newest first."""
    conditions = service.event_filter(scope.tenant_id, scope.every_tenant, type, since, until)
    rows, cursor = await service.list_events(session, conditions, page)
    return Page(
        data=[EventOut.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=cursor,
    )


@router.get("/audit/verify", responses=errors(*AUTH_ERRORS, NotFound, LongReadsBusy))
async def verify(
    principal: Auditor, scope: AuditScopeDep, session: SessionDep, reads: LongReadsDep
) -> VerifyOut:
    """Recompute every hash chain of the tenant's check records, end to end."""
    with reads.held(principal.tenant_id):
        return VerifyOut.model_validate(await service.verify(session, scope.tenant_id))
