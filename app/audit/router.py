from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.audit import service
from app.audit.dependencies import AuditScopeDep
from app.audit.schemas import CheckRecordOut, EventOut, StatsOut, VerifyOut
from app.auth.dependencies import require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.checks.repository.trail import CheckFilter
from app.core.dependencies import LongReadsDep, ReadDatabaseDep, ReadSessionDep, SessionDep
from app.core.errors import NotFound
from app.core.longreads import LongReadsBusy
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page, RequestTime
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import e164_shape

router = make_v1_router(tags=["Audit"])
Auditor = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]
Since = Annotated[RequestTime | None, Query(description="From this instant (inclusive).")]
Until = Annotated[RequestTime | None, Query(description="Before this instant.")]


ErrorCode = Literal["invalid_phone", "opted_out", "dnc_blocked", "call_hours_violation"]


def _wants_csv(request: Request) -> bool:
    """The first acceptable type of the `Accept` header, by its order and q values: JSON unless
    CSV comes first (`application/json, text/csv` is JSON; `text/csv` alone is CSV)."""
    ranges = []
    for position, part in enumerate(request.headers.get("accept", "").split(",")):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranges.append((-q, position, media))
    for _, _, media in sorted(ranges):
        if media in ("text/csv", "text/*"):
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


@router.get(
    "/audit/checks",
    response_model=Page[CheckRecordOut],
    responses={
        **errors(*AUTH_ERRORS, NotFound, LongReadsBusy, InvalidPhone),
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
    session: ReadSessionDep,
    database: ReadDatabaseDep,
    reads: LongReadsDep,
    page: PageDep,
    outcome: Literal["allowed", "blocked", "invalid"] | None = None,
    error: ErrorCode | None = None,
    phone: Annotated[
        str | None, Query(max_length=64, description="Strict E.164: `+1` and ten digits.")
    ] = None,
    since: Since = None,
    until: Until = None,
    api_key_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Check records, newest first; `Accept: text/csv` streams every matching row."""
    if phone is not None:
        e164_shape(phone)  # 400 invalid_phone: a loose number would silently match nothing
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
    session: ReadSessionDep,
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
    principal: Auditor, scope: AuditScopeDep, database: ReadDatabaseDep, reads: LongReadsDep
) -> VerifyOut:
    """Recompute every hash chain of the tenant's check records, end to end.

    A platform key naming no tenant verifies every tenant's."""
    with reads.held(principal.tenant_id):
        verdict = await service.verify(database, scope.tenant_id, every_tenant=scope.every_tenant)
        return VerifyOut.model_validate(verdict)


STATS_EXAMPLE: dict[str, Any] = {
    "since": "2026-11-23T00:00:00Z",
    "until": "2026-11-25T00:00:00Z",
    "bucket": "day",
    "buckets": [
        {
            "start": "2026-11-23T00:00:00Z",
            "allowed": 912403,
            "invalid_phone": 1210,
            "opted_out": 3302,
            "dnc_blocked": 70112,
            "call_hours_violation": 12973,
        },
        {
            "start": "2026-11-24T00:00:00Z",
            "allowed": 887950,
            "invalid_phone": 1187,
            "opted_out": 3411,
            "dnc_blocked": 68840,
            "call_hours_violation": 15002,
        },
    ],
    "totals": {
        "allowed": 1800353,
        "invalid_phone": 2397,
        "opted_out": 6713,
        "dnc_blocked": 138952,
        "call_hours_violation": 27975,
    },
}


@router.get(
    "/audit/stats",
    response_model=StatsOut,
    responses={
        **errors(*AUTH_ERRORS, NotFound),
        "200": {"content": {"application/json": {"example": STATS_EXAMPLE}}},
    },
)
async def stats(
    _: Auditor,
    scope: AuditScopeDep,
    session: ReadSessionDep,
    since: Annotated[
        RequestTime | None,
        Query(
            description="From this instant, rounded down to its bucket (default: a day, or "
            "30 days, before `until`)."
        ),
    ] = None,
    until: Annotated[
        RequestTime | None,
        Query(
            description="Before this instant, rounded up to a bucket's end (default: the end "
            "of the current bucket)."
        ),
    ] = None,
    bucket: Annotated[
        Literal["hour", "day"], Query(description="Bucket size; hours and days are UTC.")
    ] = "hour",
) -> Response:
    """Decisions per hour or day by outcome, on decision time, from the hourly counts.

    Every bucket of the range is listed, oldest first (empty ones as zeros), at most 10,000 of
    them. The counts are kept with each written batch of checks, in the same transaction as its
    records, and read without scanning the records.
    """
    body = await service.stats(
        session,
        tenant_id=scope.tenant_id,
        every_tenant=scope.every_tenant,
        since=since,
        until=until,
        bucket=bucket,
    )
    return Response(body, media_type="application/json")
