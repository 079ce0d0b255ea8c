from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.auth.dependencies import OptionalTenantDep, TenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.channels import Channel as CheckChannel
from app.core.dependencies import SessionDep
from app.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.numbers.dependencies import Phone, in_service
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_strict
from app.optouts import service
from app.optouts.schemas import (
    Channel,
    OptedOutNumber,
    OptOutEventOut,
    OptOutIn,
    OptOutStateOut,
    Source,
)
from app.uploads import service as uploads
from app.uploads.dependencies import UploadRunnerDep
from app.uploads.schemas import OptOutUploadOut, OptOutUploadSummary

router = make_v1_router(tags=["Opt-outs"])
Reader = Annotated[Principal, Depends(require(Scope.OPTOUTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.OPTOUTS_WRITE))]


@router.post("/opt-outs", status_code=201, responses=errors(*AUTH_ERRORS, InvalidPhone, NotFound))
async def create_opt_out(
    body: OptOutIn,
    request: Request,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
) -> OptOutEventOut:
    """Record an opt-out: the number may no longer be called (or texted) on `channel`."""
    number = parse_strict(body.phone, await in_service(request))
    return await service.opt_out(
        session=session, principal=principal, tenant_id=tenant, number=number, data=body
    )


@router.delete("/opt-outs/{phone}", responses=errors(*AUTH_ERRORS, InvalidPhone, NotFound))
async def opt_in(
    number: Phone,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
    channel: Channel = "all",
) -> OptOutStateOut:
    """Record an opt-in (consent given again) on `channel`; the history keeps both events."""
    return await service.opt_in(
        session=session,
        principal=principal,
        tenant_id=tenant,
        number=number,
        channel=channel,
    )


UPLOADS_EXAMPLE: dict[str, Any] = {
    "data": [
        {
            "id": "upl_0Qm3TzW8vJr5Kc2Lp",
            "kind": "optout",
            "mode": "append",
            "status": "succeeded",
            "phase": None,
            "rows_read": 1200,
            "rows_accepted": 1196,
            "rows_rejected": 4,
            "rows_duplicate": 0,
            "rows_added": 1190,
            "rows_removed": 0,
            "created_at": "2026-12-02T15:40:11Z",
            "finished_at": "2026-12-02T15:40:12Z",
            "failure": None,
            "channel": "sms",
            "source": "sms_stop",
        }
    ],
    "next_cursor": None,
}


# before /opt-outs/{phone}: routes are matched in order, and "uploads" is no phone number
@router.get(
    "/opt-outs/uploads",
    responses={
        **errors(*AUTH_ERRORS, NotFound),
        "200": {"content": {"application/json": {"example": UPLOADS_EXAMPLE}}},
    },
)
async def list_opt_out_uploads(
    _: Reader,
    session: SessionDep,
    tenant: OptionalTenantDep,
    runner: UploadRunnerDep,
    page: PageDep,
    status: Annotated[
        list[Literal["queued", "running", "succeeded", "failed"]] | None,
        Query(description="Only uploads in these states (repeat it for several)."),
    ] = None,
) -> Page[OptOutUploadSummary]:
    """The tenant's bulk opt-out uploads, newest first, without their row errors.

    A platform key names the tenant with `tenant_id`, or sees every tenant's without it.
    """
    data, cursor = await uploads.list_uploads(
        runner=runner,
        session=session,
        kind="optout",
        out=OptOutUploadSummary,
        statuses=status or [],
        tenant_id=tenant,
        every_tenant=tenant is None,  # only a platform key acts for no tenant
        with_global=False,
        page=page,
    )
    return Page(data=data, next_cursor=cursor)


@router.get("/opt-outs/{phone}", responses=errors(*AUTH_ERRORS, InvalidPhone, NotFound))
async def get_opt_out(
    number: Phone, _: Reader, session: SessionDep, tenant: TenantDep
) -> OptOutStateOut:
    """A number's opt-out state per channel and its whole history, newest first."""
    return await service.state_of(session=session, tenant_id=tenant, number=number)


@router.get("/opt-outs", responses=errors(*AUTH_ERRORS, NotFound))
async def list_opt_outs(
    _: Reader,
    session: SessionDep,
    tenant: TenantDep,
    channel: CheckChannel | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[OptedOutNumber]:
    """Numbers opted out now (on `channel`, or on any), in number order."""
    data, next_cursor = await service.list_opted_out(
        session=session,
        tenant_id=tenant,
        channel=channel,
        cursor=cursor,
        limit=limit,
    )
    return Page(data=data, next_cursor=next_cursor)


@router.post(
    "/opt-outs/uploads",
    status_code=202,
    response_model=OptOutUploadOut,
    responses=errors(*AUTH_ERRORS, NotFound, UnsupportedMediaType, PayloadTooLarge),
    openapi_extra=uploads.UPLOAD_OPENAPI,
)
async def upload_opt_outs(
    request: Request,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
    runner: UploadRunnerDep,
    mode: Literal["append"] = "append",
    channel: Channel = "all",
    source: Source = "api",
    column: Annotated[str | None, Query(max_length=100, description="CSV phone column")] = None,
) -> Response:
    """Opt out every number of a file, in the background.

    Raw body or multipart, optionally gzip; each valid row becomes an opt-out event.
    """
    return await uploads.accept_upload(
        request,
        runner=runner,
        session=session,
        principal=principal,
        target={"kind": "optout", "tenant_id": tenant, "channel": channel, "source": source},
        out=OptOutUploadOut,
        mode=mode,
        force=False,
        column=column,
    )


@router.get("/opt-outs/uploads/{upload_id}", responses=errors(*AUTH_ERRORS, NotFound))
async def get_opt_out_upload(
    upload_id: Annotated[str, Path(max_length=40)],
    principal: Reader,
    session: SessionDep,
    runner: UploadRunnerDep,
) -> OptOutUploadOut:
    """A bulk opt-out upload as it is now: status, live row counts, the first 1,000 errors."""
    upload = await uploads.get_upload(
        runner=runner,
        session=session,
        principal=principal,
        upload_id=upload_id,
        kind="optout",
        out=OptOutUploadOut,
    )
    assert isinstance(upload, OptOutUploadOut)
    return upload
