from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from app.auth.dependencies import OptionalTenantDep, charge_items, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.checks import service
from app.checks.dependencies import CheckWriterDep, check_context
from app.checks.errors import CheckBlocked
from app.checks.jobs import CheckUnavailable
from app.checks.schemas import BatchIn, BatchOut, CheckIn, CheckOk
from app.core.errors import NotFound, ServiceUnavailable
from app.core.metrics import observe_checks
from app.core.request_id import current_request_id
from app.core.routing import errors
from app.numbers.errors import InvalidPhone

router = make_v1_router(tags=["Checks"])
Checker = Annotated[Principal, Depends(require(Scope.CHECKS_WRITE))]


@router.post(
    "/checks",
    response_model=CheckOk,
    responses=errors(*AUTH_ERRORS, InvalidPhone, NotFound, CheckBlocked, ServiceUnavailable),
)
async def check(
    body: CheckIn,
    request: Request,
    principal: Checker,
    tenant_id: OptionalTenantDep,
    writer: CheckWriterDep,
) -> JSONResponse:
    """May I call this number now? `200 ok`, or the reason not (every decision is audited)."""
    ctx = await check_context(request.app, principal, tenant_id, current_request_id())
    try:
        decided = await service.check_one(
            writer,
            ctx,
            to=body.to,
            at=body.at,
            recipient_state=body.recipient_state,
            channel=body.channel,
            purpose=body.purpose,
            reserve=body.reserve,
        )
    except CheckUnavailable as exc:
        raise exc.answer from exc
    observe_checks({(decided.record["outcome"], decided.record["error"] or ""): 1})
    return JSONResponse(decided.body, status_code=decided.status)


@router.post(
    "/checks/batch",
    response_model=BatchOut,
    responses=errors(*AUTH_ERRORS, NotFound, ServiceUnavailable),
)
async def check_batch(
    body: BatchIn,
    request: Request,
    principal: Checker,
    tenant_id: OptionalTenantDep,
    writer: CheckWriterDep,
) -> Response:
    """Check 1 to 10,000 numbers at one instant; each item is decided and audited alone.
    Each item costs one request of the key's budget."""
    charge_items(request, principal, len(body.items))
    ctx = await check_context(request.app, principal, tenant_id, current_request_id())
    try:
        answer = await service.check_batch(
            writer,
            ctx,
            items=[(item.to, item.recipient_state) for item in body.items],
            at=body.at,
            channel=body.channel,
            purpose=body.purpose,
            reserve=body.reserve,
        )
    except CheckUnavailable as exc:
        raise exc.answer from exc
    observe_checks(service.summary_counts(answer.summary))
    return Response(answer.body, media_type="application/json")
