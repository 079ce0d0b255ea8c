from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.auth.dependencies import OptionalTenantDep, TenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.consents import service
from app.consents.errors import ConsentNotFound
from app.consents.schemas import (
    EXAMPLE,
    REVOKED_EXAMPLE,
    UPLOAD_EXAMPLE,
    Basis,
    ConsentIn,
    ConsentOut,
    ConsentUploadOut,
)
from app.core.dependencies import SessionDep
from app.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import PageDep
from app.core.routing import errors
from app.core.schemas import Page
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_strict
from app.reference.dependencies import SnapshotDep
from app.uploads import service as uploads
from app.uploads.dependencies import UploadRunnerDep
from app.uploads.schemas import UploadSummary

router = make_v1_router(tags=["Consents"])
Reader = Annotated[Principal, Depends(require(Scope.CONSENTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.CONSENTS_WRITE))]
ConsentId = Annotated[str, Path(max_length=40, description="cns_…")]


def _example(status: int, example: Any) -> dict[int | str, dict[str, Any]]:
    return {str(status): {"content": {"application/json": {"example": example}}}}


@router.post(
    "/consents",
    status_code=201,
    responses={**errors(*AUTH_ERRORS, InvalidPhone, NotFound), **_example(201, EXAMPLE)},
)
async def create_consent(
    body: ConsentIn,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
    snapshot: SnapshotDep,
) -> ConsentOut:
    """Record a consent or established business relationship for a number.

    It waives only matches on `registry` lists, for the tenant's checks while it is in force
    (`obtained_at <= at < expires_at`, not revoked, channel `all` or the check's): never an
    `internal` or `litigator` list, an opt-out or the calling hours. Without `expires_at` it
    lapses by its basis, in calendar months after `obtained_at` counted in UTC (a day the
    target month lacks becomes its last day): `ebr_transaction` 18, `ebr_inquiry` 3 (6 for a
    Canadian number, by its area code), `express_written_consent` never (until revoked).
    """
    number = parse_strict(body.phone, snapshot.in_service)
    return await service.create_consent(
        session=session,
        principal=principal,
        tenant_id=tenant,
        number=number,
        data=body,
        area_codes=snapshot.area_codes,
    )


@router.get(
    "/consents",
    responses={
        **errors(*AUTH_ERRORS, InvalidPhone, NotFound),
        **_example(200, {"data": [EXAMPLE], "next_cursor": None}),
    },
)
async def list_consents(
    _: Reader,
    session: SessionDep,
    tenant: TenantDep,
    snapshot: SnapshotDep,
    page: PageDep,
    phone: Annotated[str | None, Query(max_length=64, description="E.164")] = None,
    basis: Basis | None = None,
    active: Annotated[
        bool | None,
        Query(description="`true`: only those in force now; `false`: only those not."),
    ] = None,
) -> Page[ConsentOut]:
    """The tenant's consents, newest recorded first, revoked and expired ones too."""
    number = parse_strict(phone, snapshot.in_service) if phone is not None else None
    data, cursor = await service.list_consents(
        session=session, tenant_id=tenant, number=number, basis=basis, active=active, page=page
    )
    return Page(data=data, next_cursor=cursor)


UPLOADS_EXAMPLE: dict[str, Any] = {
    "data": [
        {
            **{k: v for k, v in UPLOAD_EXAMPLE.items() if k != "errors"},
            "kind": "consent",
        }
    ],
    "next_cursor": None,
}


# before /consents/{consent_id}: routes are matched in order, and "uploads" is no consent id
@router.get(
    "/consents/uploads",
    responses={**errors(*AUTH_ERRORS, NotFound), **_example(200, UPLOADS_EXAMPLE)},
)
async def list_consent_uploads(
    _: Reader,
    session: SessionDep,
    tenant: OptionalTenantDep,
    runner: UploadRunnerDep,
    page: PageDep,
    status: Annotated[
        list[Literal["queued", "running", "succeeded", "failed"]] | None,
        Query(description="Only uploads in these states (repeat it for several)."),
    ] = None,
) -> Page[UploadSummary]:
    """The tenant's bulk consent uploads, newest first, without their row errors.

    A platform key names the tenant with `tenant_id`, or sees every tenant's without it.
    """
    data, cursor = await uploads.list_uploads(
        runner=runner,
        session=session,
        kind="consent",
        out=UploadSummary,
        statuses=status or [],
        tenant_id=tenant,
        every_tenant=tenant is None,  # only a platform key acts for no tenant
        with_global=False,
        page=page,
    )
    return Page(data=data, next_cursor=cursor)


@router.post(
    "/consents/uploads",
    status_code=202,
    response_model=ConsentUploadOut,
    responses={
        **errors(*AUTH_ERRORS, NotFound, UnsupportedMediaType, PayloadTooLarge),
        **_example(202, {**UPLOAD_EXAMPLE, "status": "queued", "finished_at": None}),
    },
    openapi_extra=uploads.UPLOAD_OPENAPI,
)
async def upload_consents(
    request: Request,
    principal: Writer,
    session: SessionDep,
    tenant: TenantDep,
    runner: UploadRunnerDep,
    mode: Literal["append"] = "append",
) -> Response:
    """Record every consent of a CSV file, in the background.

    Raw body or multipart, optionally gzip. A header names the columns `phone`, `basis`,
    `obtained_at` and optionally `expires_at`, `channel` (default `all`) and `evidence`;
    others are ignored. Each valid row becomes a consent (`source` `upload`); a row that
    is not valid is rejected with its line and a reason (`unknown_basis`,
    `invalid_obtained_at`, `invalid_expires_at`, `expires_not_after_obtained`,
    `obtained_at_in_future`, `unknown_channel`, `evidence_too_long`, or the phone number's
    reason). Identical rows count once (`rows_duplicate`); a row identical to a consent the
    tenant holds already, revoked or not, records nothing again.
    """
    return await uploads.accept_upload(
        request,
        runner=runner,
        session=session,
        principal=principal,
        target={"kind": "consent", "tenant_id": tenant},
        out=ConsentUploadOut,
        mode=mode,
        force=False,
        column=None,
    )


@router.get(
    "/consents/uploads/{upload_id}",
    responses={**errors(*AUTH_ERRORS, NotFound), **_example(200, UPLOAD_EXAMPLE)},
)
async def get_consent_upload(
    upload_id: Annotated[str, Path(max_length=40)],
    principal: Reader,
    session: SessionDep,
    runner: UploadRunnerDep,
) -> ConsentUploadOut:
    """A bulk consent upload as it is now: status, live row counts, the first 1,000 errors."""
    upload = await uploads.get_upload(
        runner=runner,
        session=session,
        principal=principal,
        upload_id=upload_id,
        kind="consent",
        out=ConsentUploadOut,
    )
    assert isinstance(upload, ConsentUploadOut)
    return upload


@router.get(
    "/consents/{consent_id}",
    responses={**errors(*AUTH_ERRORS, ConsentNotFound), **_example(200, EXAMPLE)},
)
async def get_consent(
    consent_id: ConsentId, _: Reader, session: SessionDep, tenant: TenantDep
) -> ConsentOut:
    """One consent (another tenant's is not found)."""
    return await service.get_consent(session=session, tenant_id=tenant, consent_id=consent_id)


@router.delete(
    "/consents/{consent_id}",
    responses={**errors(*AUTH_ERRORS, ConsentNotFound), **_example(200, REVOKED_EXAMPLE)},
)
async def revoke_consent(
    consent_id: ConsentId, principal: Writer, session: SessionDep, tenant: TenantDep
) -> ConsentOut:
    """Revoke a consent from now on; it is kept, with `revoked_at`, never deleted.

    Revoking one already revoked answers it as it is (`200`, its first `revoked_at`) and
    records nothing again.
    """
    return await service.revoke_consent(
        session=session, principal=principal, tenant_id=tenant, consent_id=consent_id
    )
