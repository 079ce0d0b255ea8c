from typing import Annotated, Any

from fastapi import Depends, Query

from app.attempts import service
from app.attempts.schemas import (
    EXAMPLE,
    REQUEST_EXAMPLE,
    AttemptOut,
    AttemptsIn,
    AttemptsRecorded,
)
from app.auth.dependencies import TenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.dependencies import ReadSessionDep, SessionDep, SettingsDep
from app.core.errors import NotFound
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page, RequestTime
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import e164_shape
from app.reference.dependencies import SnapshotDep

router = make_v1_router(tags=["Attempts"])
Writer = Annotated[Principal, Depends(require(Scope.CHECKS_WRITE))]
# a number's attempts are part of what was done to it: read as the audit trail and a number's
# history are (the console's lookup page); a dialer that only reports needs no read
Reader = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]


def _example(status: int, example: Any) -> dict[int | str, dict[str, Any]]:
    return {str(status): {"content": {"application/json": {"example": example}}}}


@router.post(
    "/attempts",
    status_code=201,
    responses={**errors(*AUTH_ERRORS, NotFound), **_example(201, {"recorded": 1})},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": REQUEST_EXAMPLE}}}},
)
async def record_attempts(
    body: AttemptsIn,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
    snapshot: SnapshotDep,
    settings: SettingsDep,
) -> AttemptsRecorded:
    """Report the calls placed (and texts sent): 1 to 10,000 attempts, recorded all or none.

    Each attempt counts against the frequency caps from its `at` (not from when it is
    reported), answered or not. One invalid item refuses the whole request with `400
    validation_failed`, each problem naming its item (`items[3].phone`); nothing is recorded.
    `at` may be at most 5 minutes ahead of the server's clock. Attempts are append-only and
    kept `CALLGUARD_ATTEMPT_RETENTION_DAYS` (default 1,830); one change event
    (`attempts.recorded`) records the request.
    """
    return await service.record_attempts(
        session=session,
        principal=principal,
        tenant_id=tenant,
        items=body.items,
        in_service=snapshot.in_service,
        retention_days=settings.attempt_retention_days,
    )


@router.get(
    "/attempts",
    responses={
        **errors(*AUTH_ERRORS, NotFound, InvalidPhone),
        **_example(200, {"data": [EXAMPLE], "next_cursor": None}),
    },
)
async def list_attempts(
    _: Reader,
    session: ReadSessionDep,
    tenant: TenantDep,
    page: PageDep,
    phone: Annotated[str, Query(max_length=64, description="Strict E.164: `+1` and ten digits.")],
    since: Annotated[
        RequestTime | None, Query(description="From this instant (inclusive).")
    ] = None,
    until: Annotated[RequestTime | None, Query(description="Before this instant.")] = None,
) -> Page[AttemptOut]:
    """A number's attempts (reported, or reserved by checks), newest first by `at`."""
    e164_shape(phone)  # 400 invalid_phone: a loose number would silently match nothing
    data, cursor = await service.list_attempts(
        session=session,
        tenant_id=tenant,
        number=int(phone[2:]),
        since=since,
        until=until,
        page=page,
    )
    return Page(data=data, next_cursor=cursor)
