from typing import Annotated

from fastapi import Path

from app.auth import service
from app.auth.dependencies import AdminKey, AuthStateDep, CurrentPrincipal, KeysWriter
from app.auth.errors import AUTH_ERRORS, KEY_ERRORS, IdempotencyKeyReused
from app.auth.models import ApiKey
from app.auth.routing import make_v1_router
from app.auth.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    MeOut,
    RotateIn,
    TenantIn,
    TenantOut,
)
from app.core.dependencies import SessionDep
from app.core.errors import Conflict, NotFound
from app.core.pagination import PageDep
from app.core.routing import RETURNS_SECRET, errors
from app.core.schemas import Page

POST_ERRORS = (IdempotencyKeyReused,)
router = make_v1_router(tags=["tenants and keys"])
KeyId = Annotated[str, Path(max_length=40, description="key_…")]


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


def _key_created(key: ApiKey, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(**_key_out(key).model_dump(), key=secret)


ME_EXAMPLE = {
    "key_id": "key_7Hc2",
    "name": "compliance desk",
    "prefix": "cg_4kQ0",
    "tenant_id": "ten_3Bd9",
    "tenant_name": "Acme Dialers",
    "scopes": ["audit:read", "dnc:read", "optouts:read"],
    "expires_at": None,
}


@router.get(
    "/me",
    responses={
        **errors(*KEY_ERRORS),
        "200": {"content": {"application/json": {"example": ME_EXAMPLE}}},
    },
)
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    """Who is calling: the key, its tenant and its scopes (any valid key)."""
    return await service.whoami(session=session, principal=principal)


@router.post("/tenants", status_code=201, responses=errors(*AUTH_ERRORS, Conflict, *POST_ERRORS))
async def create_tenant(body: TenantIn, principal: AdminKey, session: SessionDep) -> TenantOut:
    """Create a tenant (admin)."""
    tenant = await service.create_tenant(session=session, principal=principal, name=body.name)
    return TenantOut.model_validate(tenant, from_attributes=True)


@router.get("/tenants", responses=errors(*AUTH_ERRORS))
async def list_tenants(_: AdminKey, session: SessionDep, page: PageDep) -> Page[TenantOut]:
    """List tenants (admin), oldest first."""
    rows, cursor = await service.list_tenants(session=session, page=page)
    return Page(
        data=[TenantOut.model_validate(t, from_attributes=True) for t in rows], next_cursor=cursor
    )


@router.post(
    "/api-keys",
    status_code=201,
    responses=errors(*AUTH_ERRORS, NotFound),
    openapi_extra={RETURNS_SECRET: True},
)
async def create_api_key(
    body: ApiKeyIn, principal: KeysWriter, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key; the secret is in this response only."""
    key, secret = await service.create_key(session=session, principal=principal, data=body)
    return _key_created(key, secret)


@router.get("/api-keys", responses=errors(*AUTH_ERRORS))
async def list_api_keys(
    principal: KeysWriter, session: SessionDep, page: PageDep
) -> Page[ApiKeyOut]:
    """List the API keys this caller may see (its tenant's; every key for an admin)."""
    rows, cursor = await service.list_keys(session=session, principal=principal, page=page)
    return Page(data=[_key_out(k) for k in rows], next_cursor=cursor)


@router.delete("/api-keys/{key_id}", responses=errors(*AUTH_ERRORS, NotFound))
async def revoke_api_key(
    key_id: KeyId, principal: KeysWriter, session: SessionDep, auth: AuthStateDep
) -> ApiKeyOut:
    """Revoke an API key, effective immediately."""
    key = await service.revoke_key(
        session=session,
        principal=principal,
        key_id=key_id,
        invalidate=auth.cache.invalidate,
    )
    return _key_out(key)


@router.post(
    "/api-keys/{key_id}/rotate",
    status_code=201,
    responses=errors(*AUTH_ERRORS, NotFound, Conflict),
    openapi_extra={RETURNS_SECRET: True},
)
async def rotate_api_key(
    key_id: KeyId,
    principal: KeysWriter,
    session: SessionDep,
    auth: AuthStateDep,
    body: RotateIn | None = None,
) -> ApiKeyCreated:
    """Replace a key: a new secret now, the old one expires after the grace period."""
    key, secret = await service.rotate_key(
        session=session,
        principal=principal,
        key_id=key_id,
        grace_seconds=(body or RotateIn()).grace_seconds,
        invalidate=auth.cache.invalidate,
    )
    return _key_created(key, secret)
