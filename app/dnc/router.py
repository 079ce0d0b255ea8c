from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.auth.dependencies import TenantQuery, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.dependencies import SessionDep
from app.core.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.dnc import service
from app.dnc.dependencies import ListDep, WritableListDep
from app.dnc.schemas import (
    DncUploadSummary,
    EntryIn,
    EntryOut,
    ListIn,
    ListOut,
    ListPatch,
    NumberLookup,
)
from app.numbers.dependencies import Phone
from app.numbers.errors import InvalidPhone
from app.uploads import service as uploads
from app.uploads.dependencies import UploadRunnerDep
from app.uploads.schemas import UploadOut

router = make_v1_router(tags=["DNC lists"])
LIST_EXAMPLE: dict[str, Any] = {
    "id": "lst_0x9Qe2VbK7mT4aLpR",
    "name": "Texas no-call list",
    "scope": "tenant",
    "tenant_id": "ten_1PW5YeL8GWGfC5dL8",
    "description": "Texas PUC, quarterly",
    "kind": "registry",
    "refreshed_at": "2026-10-01T06:12:40Z",
    "max_age_days": 92,
    "stale_at": "2027-01-01T06:12:40Z",
    "stale": False,
    "entry_count": 412093,
    "created_at": "2026-04-01T06:10:02Z",
    "updated_at": "2026-10-01T06:12:40Z",
}
UPLOADS_EXAMPLE: dict[str, Any] = {
    "data": [
        {
            "id": "upl_1bV7cYw3Jq0rTn5Ks",
            "kind": "dnc",
            "mode": "replace",
            "status": "running",
            "phase": "merging",
            "rows_read": 254000000,
            "rows_accepted": 0,
            "rows_rejected": 12,
            "rows_duplicate": 0,
            "rows_added": 0,
            "rows_removed": 0,
            "created_at": "2026-12-01T04:00:03Z",
            "finished_at": None,
            "failure": None,
            "list_id": "lst_0FtcNat1onalDnc00",
            "list_name": "FTC National DNC Registry",
        }
    ],
    "next_cursor": "WyIyMDI2LTEyLTAxVDA0OjAwOjAzKzAwOjAwIiwgInVwbF8xYlY3Y1l3M0pxMHJUbjVLcyJd",
}


def _example(value: dict[str, Any], status: str = "200") -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {"application/json": {"example": value}}}}


Reader = Annotated[Principal, Depends(require(Scope.DNC_READ))]
Writer = Annotated[Principal, Depends(require(Scope.DNC_WRITE))]


@router.post(
    "/dnc/lists",
    status_code=201,
    responses={**errors(*AUTH_ERRORS, Conflict, NotFound), **_example(LIST_EXAMPLE, "201")},
)
async def create_list(
    body: ListIn,
    principal: Writer,
    session: SessionDep,
    tenant_id: TenantQuery = None,
) -> ListOut:
    """Create a DNC list: the tenant's own, or a global one (admin)."""
    return await service.create_list(
        session=session, principal=principal, data=body, tenant_id=tenant_id
    )


@router.get("/dnc/lists", responses=errors(*AUTH_ERRORS))
async def list_lists(principal: Reader, session: SessionDep, page: PageDep) -> Page[ListOut]:
    """Global lists and the caller's tenant's, oldest first."""
    data, cursor = await service.list_lists(session=session, principal=principal, page=page)
    return Page(data=data, next_cursor=cursor)


@router.get(
    "/dnc/lists/{list_id}", responses={**errors(*AUTH_ERRORS, NotFound), **_example(LIST_EXAMPLE)}
)
async def get_list(_: Reader, dnc_list: ListDep) -> ListOut:
    """One DNC list."""
    return service.list_out(dnc_list)


@router.patch(
    "/dnc/lists/{list_id}", responses={**errors(*AUTH_ERRORS, NotFound), **_example(LIST_EXAMPLE)}
)
async def update_list(
    body: ListPatch, principal: Writer, session: SessionDep, dnc_list: WritableListDep
) -> ListOut:
    """Change a list's kind, description or maximum age (only the fields given; audited)."""
    return await service.update_list(
        session=session, principal=principal, dnc_list=dnc_list, data=body
    )


@router.delete(
    "/dnc/lists/{list_id}",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTH_ERRORS, NotFound),
)
async def delete_list(
    principal: Writer, session: SessionDep, dnc_list: WritableListDep
) -> Response:
    """Delete a list: it stops applying at once; its history stays for audit."""
    await service.delete_list(session=session, principal=principal, dnc_list=dnc_list)
    return Response(status_code=204)


@router.put(
    "/dnc/lists/{list_id}/numbers/{phone}",
    responses={
        **errors(*AUTH_ERRORS, NotFound, InvalidPhone),
        "201": {"model": EntryOut, "description": "Added."},
    },
)
async def put_number(
    number: Phone,
    principal: Writer,
    session: SessionDep,
    dnc_list: WritableListDep,
    response: Response,
    body: EntryIn | None = None,
) -> EntryOut:
    """Add a number to a list (201), or update its reason and expiry (200)."""
    entry, added = await service.put_entry(
        session=session,
        principal=principal,
        dnc_list=dnc_list,
        number=number,
        data=body or EntryIn(),
    )
    response.status_code = 201 if added else 200
    return entry


@router.delete(
    "/dnc/lists/{list_id}/numbers/{phone}",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTH_ERRORS, NotFound, InvalidPhone),
)
async def delete_number(
    number: Phone, principal: Writer, session: SessionDep, dnc_list: WritableListDep
) -> Response:
    """Remove a number from a list."""
    await service.delete_entry(
        session=session, principal=principal, dnc_list=dnc_list, number=number
    )
    return Response(status_code=204)


@router.get(
    "/dnc/lists/{list_id}/numbers/{phone}", responses=errors(*AUTH_ERRORS, NotFound, InvalidPhone)
)
async def get_number(number: Phone, _: Reader, session: SessionDep, dnc_list: ListDep) -> EntryOut:
    """One number's entry on a list."""
    return await service.get_entry(session=session, dnc_list=dnc_list, number=number)


@router.get("/dnc/lists/{list_id}/numbers", responses=errors(*AUTH_ERRORS, NotFound))
async def list_numbers(
    _: Reader,
    session: SessionDep,
    dnc_list: ListDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[EntryOut]:
    """A list's numbers, in number order."""
    data, next_cursor = await service.list_entries(
        session=session, dnc_list=dnc_list, cursor=cursor, limit=limit
    )
    return Page(data=data, next_cursor=next_cursor)


@router.get("/dnc/numbers/{phone}", responses=errors(*AUTH_ERRORS, InvalidPhone))
async def lookup_number(number: Phone, principal: Reader, session: SessionDep) -> NumberLookup:
    """Every list visible to the caller that holds the number."""
    return await service.lookup(session=session, principal=principal, number=number)


@router.post(
    "/dnc/lists/{list_id}/uploads",
    status_code=202,
    response_model=UploadOut,
    responses=errors(*AUTH_ERRORS, NotFound, UnsupportedMediaType, PayloadTooLarge),
    openapi_extra=uploads.UPLOAD_OPENAPI,
)
async def upload_numbers(
    request: Request,
    principal: Writer,
    session: SessionDep,
    target: WritableListDep,
    runner: UploadRunnerDep,
    mode: Literal["append", "remove", "replace"] = "append",
    force: Annotated[bool, Query(description="replace: skip the 1% safety check")] = False,
    column: Annotated[str | None, Query(max_length=100, description="CSV phone column")] = None,
) -> Response:
    """Upload a file of numbers (raw body, optionally gzip); it runs in the background."""
    return await uploads.accept_upload(
        request,
        runner=runner,
        session=session,
        principal=principal,
        target={"kind": "dnc", "list_id": target.id, "tenant_id": target.tenant_id},
        out=UploadOut,
        mode=mode,
        force=force,
        column=column,
    )


UploadStatus = Literal["queued", "running", "succeeded", "failed"]


@router.get("/dnc/uploads", responses={**errors(*AUTH_ERRORS), **_example(UPLOADS_EXAMPLE)})
async def list_uploads(
    principal: Reader,
    session: SessionDep,
    runner: UploadRunnerDep,
    page: PageDep,
    status: Annotated[
        list[UploadStatus] | None,
        Query(description="Only uploads in these states (repeat it for several)."),
    ] = None,
    list_id: Annotated[
        str | None, Query(max_length=40, description="Only uploads into this list.")
    ] = None,
) -> Page[DncUploadSummary]:
    """DNC uploads the caller may read, newest first, without their row errors."""
    data, cursor = await service.list_uploads(
        runner=runner,
        session=session,
        principal=principal,
        statuses=status or [],
        list_id=list_id,
        page=page,
    )
    return Page(data=data, next_cursor=cursor)


@router.get("/dnc/uploads/{upload_id}", responses=errors(*AUTH_ERRORS, NotFound))
async def get_upload(
    upload_id: Annotated[str, Path(max_length=40)],
    principal: Reader,
    session: SessionDep,
    runner: UploadRunnerDep,
) -> UploadOut:
    """An upload as it is now: status, live row counts, the first 1,000 row errors."""
    upload = await uploads.get_upload(
        runner=runner,
        session=session,
        principal=principal,
        upload_id=upload_id,
        kind="dnc",
        out=UploadOut,
    )
    assert isinstance(upload, UploadOut)
    return upload
