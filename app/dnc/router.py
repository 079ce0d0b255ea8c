from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.auth.dependencies import require
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.dnc import service
from app.dnc.schemas import EntryIn, EntryOut, ListIn, ListOut, NumberLookup
from app.numbers.dependencies import Phone
from app.numbers.errors import InvalidPhone
from app.uploads import service as uploads
from app.uploads.schemas import UploadOut

router = make_v1_router(tags=["DNC lists"])
AUTH = (InvalidToken, KeyRevoked, KeyExpired, RateLimited, ScopeRequired)
Reader = Annotated[Principal, Depends(require(Scope.DNC_READ))]
Writer = Annotated[Principal, Depends(require(Scope.DNC_WRITE))]
ListId = Annotated[str, Path(max_length=40, description="lst_…")]


@router.post("/dnc/lists", status_code=201, responses=errors(*AUTH, Conflict, NotFound))
async def create_list(
    body: ListIn,
    principal: Writer,
    session: SessionDep,
    tenant_id: Annotated[str | None, Query(max_length=40, description="Admin only.")] = None,
) -> ListOut:
    """Create a DNC list: the tenant's own, or a global one (admin)."""
    return await service.create_list(
        session=session, principal=principal, data=body, tenant_id=tenant_id
    )


@router.get("/dnc/lists", responses=errors(*AUTH))
async def list_lists(principal: Reader, session: SessionDep, page: PageDep) -> Page[ListOut]:
    """Global lists and the caller's tenant's, oldest first."""
    data, cursor = await service.list_lists(session=session, principal=principal, page=page)
    return Page(data=data, next_cursor=cursor)


@router.get("/dnc/lists/{list_id}", responses=errors(*AUTH, NotFound))
async def get_list(list_id: ListId, principal: Reader, session: SessionDep) -> ListOut:
    """One DNC list."""
    return await service.get_list(session=session, principal=principal, list_id=list_id)


@router.delete(
    "/dnc/lists/{list_id}",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTH, NotFound),
)
async def delete_list(list_id: ListId, principal: Writer, session: SessionDep) -> Response:
    """Delete a list: it stops applying at once; its history stays for audit."""
    await service.delete_list(session=session, principal=principal, list_id=list_id)
    return Response(status_code=204)


@router.put(
    "/dnc/lists/{list_id}/numbers/{phone}",
    responses={
        **errors(*AUTH, NotFound, InvalidPhone),
        "201": {"model": EntryOut, "description": "Added."},
    },
)
async def put_number(
    list_id: ListId,
    number: Phone,
    principal: Writer,
    session: SessionDep,
    response: Response,
    body: EntryIn | None = None,
) -> EntryOut:
    """Add a number to a list (201), or update its reason and expiry (200)."""
    entry, added = await service.put_entry(
        session=session, principal=principal, list_id=list_id, number=number, data=body or EntryIn()
    )
    response.status_code = 201 if added else 200
    return entry


@router.delete(
    "/dnc/lists/{list_id}/numbers/{phone}",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTH, NotFound, InvalidPhone),
)
async def delete_number(
    list_id: ListId, number: Phone, principal: Writer, session: SessionDep
) -> Response:
    """Remove a number from a list."""
    await service.delete_entry(session=session, principal=principal, list_id=list_id, number=number)
    return Response(status_code=204)


@router.get("/dnc/lists/{list_id}/numbers/{phone}", responses=errors(*AUTH, NotFound, InvalidPhone))
async def get_number(
    list_id: ListId, number: Phone, principal: Reader, session: SessionDep
) -> EntryOut:
    """One number's entry on a list."""
    return await service.get_entry(
        session=session, principal=principal, list_id=list_id, number=number
    )


@router.get("/dnc/lists/{list_id}/numbers", responses=errors(*AUTH, NotFound))
async def list_numbers(
    list_id: ListId,
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[EntryOut]:
    """A list's numbers, in number order."""
    data, next_cursor = await service.list_entries(
        session=session, principal=principal, list_id=list_id, cursor=cursor, limit=limit
    )
    return Page(data=data, next_cursor=next_cursor)


@router.get("/dnc/numbers/{phone}", responses=errors(*AUTH, InvalidPhone))
async def lookup_number(number: Phone, principal: Reader, session: SessionDep) -> NumberLookup:
    """Every list visible to the caller that holds the number."""
    return await service.lookup(session=session, principal=principal, number=number)


@router.post(
    "/dnc/lists/{list_id}/uploads",
    status_code=202,
    response_model=UploadOut,
    responses=errors(*AUTH, NotFound, UnsupportedMediaType, PayloadTooLarge),
    openapi_extra=uploads.UPLOAD_OPENAPI,
)
async def upload_numbers(
    list_id: ListId,
    request: Request,
    principal: Writer,
    session: SessionDep,
    mode: Literal["append", "remove", "replace"] = "append",
    force: Annotated[bool, Query(description="replace: skip the 1% safety check")] = False,
    column: Annotated[str | None, Query(max_length=100, description="CSV phone column")] = None,
) -> Response:
    """Upload a file of numbers (raw body, optionally gzip); it runs in the background."""
    target = await service.visible_list(session, principal, list_id, to_change=True)
    return await uploads.accept_upload(
        request,
        session=session,
        principal=principal,
        target={"kind": "dnc", "list_id": target.id, "tenant_id": target.tenant_id},
        out=UploadOut,
        mode=mode,
        force=force,
        column=column,
    )


@router.get("/dnc/uploads/{upload_id}", responses=errors(*AUTH, NotFound))
async def get_upload(
    upload_id: Annotated[str, Path(max_length=40)],
    request: Request,
    principal: Reader,
    session: SessionDep,
) -> UploadOut:
    """An upload as it is now: status, live row counts, the first 1,000 row errors."""
    upload = await uploads.get_upload(
        request,
        session=session,
        principal=principal,
        upload_id=upload_id,
        kind="dnc",
        out=UploadOut,
    )
    assert isinstance(upload, UploadOut)
    return upload
