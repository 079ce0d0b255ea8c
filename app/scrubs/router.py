from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from app.auth.dependencies import OptionalTenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.checks.schemas import Purpose
from app.core.channels import Channel
from app.core.dependencies import SessionDep
from app.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.scrubs import service
from app.scrubs.dependencies import ScrubRunnerDep
from app.scrubs.errors import ScrubResultGone, ScrubResultNotReady
from app.scrubs.schemas import SCRUB_EXAMPLE, Only, ScrubOut
from app.uploads.service import UPLOAD_OPENAPI

router = make_v1_router(tags=["Scrubs"])
Scrubber = Annotated[Principal, Depends(require(Scope.CHECKS_WRITE))]
ScrubId = Annotated[str, Path(max_length=40)]


def _example(value: dict[str, Any], status: str = "200") -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {"application/json": {"example": value}}}}


@router.post(
    "/scrubs",
    status_code=202,
    response_model=ScrubOut,
    responses={
        **errors(*AUTH_ERRORS, NotFound, UnsupportedMediaType, PayloadTooLarge),
        **_example(
            {
                **SCRUB_EXAMPLE,
                "status": "queued",
                "rows_read": 0,
                "summary": None,
                "result_sha256": None,
                "finished_at": None,
                "expires_at": None,
            },
            "202",
        ),
    },
    openapi_extra=UPLOAD_OPENAPI,
)
async def create_scrub(
    request: Request,
    principal: Scrubber,
    tenant_id: OptionalTenantDep,
    session: SessionDep,
    runner: ScrubRunnerDep,
    at: Annotated[
        AwareDatetime | None,
        Query(description="The instant every row is decided at (default now)."),
    ] = None,
    channel: Channel = "voice",
    purpose: Annotated[Purpose, Query()] = "default",
    column: Annotated[str | None, Query(max_length=100, description="CSV phone column")] = None,
) -> Response:
    """Scrub a campaign file: every row decided as a check at `at` would be.

    None is recorded as a check (a scrub plans a campaign; dial-time checks are still
    required). Runs in the background; poll `GET /v1/scrubs/{id}`."""
    return await service.accept_scrub(
        request,
        runner=runner,
        session=session,
        principal=principal,
        tenant_id=tenant_id,
        at=at,
        channel=channel,
        purpose=purpose,
        column=column,
    )


@router.get("/scrubs", responses=errors(*AUTH_ERRORS))
async def list_scrubs(
    principal: Scrubber, session: SessionDep, runner: ScrubRunnerDep, page: PageDep
) -> Page[ScrubOut]:
    """The caller's scrubs, newest first."""
    data, cursor = await service.list_scrubs(
        runner=runner, session=session, principal=principal, page=page
    )
    return Page(data=data, next_cursor=cursor)


@router.get(
    "/scrubs/{scrub_id}",
    responses={**errors(*AUTH_ERRORS, NotFound), **_example(SCRUB_EXAMPLE)},
)
async def get_scrub(
    scrub_id: ScrubId, principal: Scrubber, session: SessionDep, runner: ScrubRunnerDep
) -> ScrubOut:
    """A scrub as it is now: status, live `rows_read`, its summary and hashes once done."""
    return await service.get_scrub(
        runner=runner, session=session, principal=principal, scrub_id=scrub_id
    )


@router.get(
    "/scrubs/{scrub_id}/result",
    response_class=StreamingResponse,
    responses={
        **errors(*AUTH_ERRORS, NotFound, ScrubResultNotReady, ScrubResultGone),
        "200": {
            "description": "Every input row (or those of `only`) in input order with its "
            "columns, then the callguard_* columns.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def get_scrub_result(
    scrub_id: ScrubId,
    principal: Scrubber,
    session: SessionDep,
    runner: ScrubRunnerDep,
    only: Annotated[
        Only, Query(description="Which rows: all, allowed, blocked or invalid.")
    ] = "all",
) -> StreamingResponse:
    """The scrub's result as CSV, streamed; `result_sha256` is that of `only=all`."""
    handle, name = await service.open_result(
        runner=runner, session=session, principal=principal, scrub_id=scrub_id
    )
    return StreamingResponse(
        service.result_chunks(handle, only),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
