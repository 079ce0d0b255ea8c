from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from app.auth.dependencies import charge_items, require
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.auth.scoping import existing_tenant
from app.checks import service
from app.checks.errors import CheckBlocked
from app.checks.pipeline import CheckUnavailable, CheckWriter
from app.checks.schemas import BatchIn, BatchOut, CheckIn, CheckOk
from app.core.errors import NotFound, ServiceUnavailable
from app.core.metrics import observe_checks
from app.core.request_id import current_request_id
from app.core.routing import errors
from app.numbers.errors import InvalidPhone

router = make_v1_router(tags=["Checks"])
AUTH = (InvalidToken, KeyRevoked, KeyExpired, RateLimited, ScopeRequired)
Checker = Annotated[Principal, Depends(require(Scope.CHECKS_WRITE))]
TenantQuery = Annotated[
    str | None, Query(max_length=40, description="Admin only: check on a tenant's behalf.")
]


async def _context(
    request: Request, principal: Principal, tenant_id: str | None
) -> service.Context:
    app = request.app
    tenant = principal.tenant_id
    if tenant_id is not None:  # a platform key checking for a tenant that does not exist: 404
        async with app.state.db.sessionmaker() as session:
            tenant = await existing_tenant(session, principal, tenant_id)
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    return service.Context(
        snapshot=snapshot,
        laws=app.state.laws,
        holidays=app.state.holidays,
        tenant_id=tenant,
        api_key_id=principal.key_id,
        request_id=current_request_id(),
        hours_cache=app.state.hours_cache,
    )


def _writer(request: Request) -> CheckWriter:
    writer: CheckWriter = request.app.state.checks
    return writer


@router.post(
    "/checks",
    response_model=CheckOk,
    responses=errors(*AUTH, InvalidPhone, NotFound, CheckBlocked, ServiceUnavailable),
)
async def check(
    body: CheckIn, request: Request, principal: Checker, tenant_id: TenantQuery = None
) -> JSONResponse:
    """May I call this number now? `200 ok`, or the reason not (every decision is audited)."""
    ctx = await _context(request, principal, tenant_id)
    try:
        decided = await service.check_one(
            _writer(request),
            ctx,
            to=body.to,
            at=body.at,
            recipient_state=body.recipient_state,
            channel=body.channel,
        )
    except CheckUnavailable as exc:
        raise ServiceUnavailable() from exc
    observe_checks({(decided.record["outcome"], decided.record["error"] or ""): 1})
    return JSONResponse(decided.body, status_code=decided.status)


@router.post(
    "/checks/batch",
    response_model=BatchOut,
    responses=errors(*AUTH, NotFound, ServiceUnavailable),
)
async def check_batch(
    body: BatchIn, request: Request, principal: Checker, tenant_id: TenantQuery = None
) -> Response:
    """Check 1 to 10,000 numbers at one instant; each item is decided and audited alone.
    Each item costs one request of the key's budget."""
    charge_items(request, principal, len(body.items))
    ctx = await _context(request, principal, tenant_id)
    try:
        answer = await service.check_batch(
            _writer(request),
            ctx,
            items=[(item.to, item.recipient_state) for item in body.items],
            at=body.at,
            channel=body.channel,
        )
    except CheckUnavailable as exc:
        raise ServiceUnavailable() from exc
    observe_checks(service.summary_counts(answer.summary))
    return Response(answer.body, media_type="application/json")
