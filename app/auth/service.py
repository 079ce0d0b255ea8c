"""Tenants and API keys: creation, listing, revocation, rotation, bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.auth.errors import (
    KeyNotFound,
    KeyNotRotatable,
    ScopeRequired,
    TenantNameTaken,
    TenantNotFound,
)
from app.auth.models import ApiKey, Tenant
from app.auth.principal import Principal, Scope, display_prefix, generate_secret, hash_secret
from app.auth.schemas import ApiKeyIn, MeOut
from app.auth.scoping import owned_tenant, visible_to
from app.core.db import after_commit
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.events.repository import record_event


async def create_tenant(*, session: AsyncSession, principal: Principal, name: str) -> Tenant:
    tenant = await repository.insert_tenant(session, id=new_id("ten"), name=name)
    if tenant is None:
        raise TenantNameTaken(f"A tenant named {name!r} already exists.")
    await record_event(
        session,
        type="tenant.created",
        target=tenant.id,
        tenant_id=tenant.id,
        actor_key_id=principal.key_id,
        details={"name": name},
    )
    return tenant


async def tenant_exists(session: AsyncSession, tenant_id: str) -> bool:
    return await repository.get_tenant(session, tenant_id) is not None


async def list_tenants(
    *, session: AsyncSession, page: PageRequest
) -> tuple[list[Tenant], str | None]:
    return cut_page(await repository.list_tenants(session, page), page)


async def create_key(
    *, session: AsyncSession, principal: Principal | None, data: ApiKeyIn
) -> tuple[ApiKey, str]:
    """A new key; `principal` None is the operator's command line (full authority)."""
    scopes = sorted({str(scope) for scope in data.scopes})
    tenant_id = data.tenant_id
    if principal is not None:
        for scope in scopes:
            if not principal.has(scope):
                raise ScopeRequired(scope)  # a key can grant only scopes it holds
        tenant_id = owned_tenant(principal, data.tenant_id)
    if Scope.ADMIN in scopes and tenant_id is not None:
        # `admin` is the platform operator's scope: a tenant's key holding it would act on every
        # tenant's lists and keys
        raise ValidationFailed.field(
            "scopes", "admin is a platform scope; a tenant's key cannot hold it"
        )
    if tenant_id is None and Scope.ADMIN not in scopes:
        raise ValidationFailed.field(
            "tenant_id", "a key without the admin scope belongs to a tenant"
        )
    if tenant_id is not None and await repository.get_tenant(session, tenant_id) is None:
        raise TenantNotFound()
    if data.expires_at is not None and data.expires_at <= datetime.now(UTC):
        raise ValidationFailed.field("expires_at", "must be in the future")
    key, secret = await _insert_key(
        session, tenant_id=tenant_id, name=data.name, scopes=scopes, expires_at=data.expires_at
    )
    await record_event(
        session,
        type="key.created",
        target=key.id,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id if principal else None,
        details={"name": key.name, "scopes": scopes, "prefix": key.prefix},
    )
    return key, secret


async def _insert_key(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    secret = generate_secret()
    key = await repository.insert_key(
        session,
        id=new_id("key"),
        tenant_id=tenant_id,
        name=name,
        prefix=display_prefix(secret),
        secret_hash=hash_secret(secret),
        scopes=scopes,
        expires_at=expires_at,
    )
    return key, secret


async def whoami(*, session: AsyncSession, principal: Principal) -> MeOut:
    """The calling key and its tenant."""
    key = await repository.get_key(
        session, principal.key_id, visible_to(principal, ApiKey.tenant_id)
    )
    if key is None:  # the key authenticated this request: it exists
        raise KeyNotFound()
    tenant = None if key.tenant_id is None else await repository.get_tenant(session, key.tenant_id)
    return MeOut(
        key_id=key.id,
        name=key.name,
        prefix=key.prefix,
        tenant_id=key.tenant_id,
        tenant_name=tenant.name if tenant is not None else None,
        scopes=sorted(key.scopes),
        expires_at=key.expires_at,
    )


async def list_keys(
    *, session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[ApiKey], str | None]:
    rows = await repository.list_keys(session, visible_to(principal, ApiKey.tenant_id), page)
    return cut_page(rows, page)


async def _visible_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    """A key the caller may rotate or revoke: one it can see, and whose every scope it holds
    itself (a `keys:write` key must not mint a secret stronger than its own, nor revoke one)."""
    key = await repository.get_key(
        session, key_id, visible_to(principal, ApiKey.tenant_id), for_update=True
    )
    if key is None:
        raise KeyNotFound()
    for scope in sorted(key.scopes):
        if not principal.has(scope):
            raise ScopeRequired(
                scope, f"This key holds {scope!r}, which the calling key does not hold."
            )
    return key


async def revoke_key(
    *,
    session: AsyncSession,
    principal: Principal,
    key_id: str,
    invalidate: Callable[[str], None],
) -> ApiKey:
    key = await _visible_key(session, principal, key_id)
    if key.revoked_at is not None:
        return key
    key = await repository.revoke_key(session, key_id)
    await repository.notify_key_change(session, key_id)
    await record_event(
        session,
        type="key.revoked",
        target=key_id,
        tenant_id=key.tenant_id,
        actor_key_id=principal.key_id,
    )
    after_commit(session, lambda: invalidate(key_id))
    return key


async def rotate_key(
    *,
    session: AsyncSession,
    principal: Principal,
    key_id: str,
    grace_seconds: int,
    invalidate: Callable[[str], None],
) -> tuple[ApiKey, str]:
    old = await _visible_key(session, principal, key_id)
    if old.revoked_at is not None:
        raise KeyNotRotatable("A revoked key cannot be rotated.")
    if old.replaced_by is not None:
        raise KeyNotRotatable(
            f"This key was already rotated; its replacement is {old.replaced_by}."
        )
    new, secret = await _insert_key(
        session,
        tenant_id=old.tenant_id,
        name=old.name,
        scopes=list(old.scopes),
        expires_at=old.expires_at,
    )
    grace_end = datetime.now(UTC) + timedelta(seconds=grace_seconds)
    if old.expires_at is not None:
        grace_end = min(grace_end, old.expires_at)
    await repository.mark_rotated(session, key_id, replaced_by=new.id, expires_at=grace_end)
    await repository.notify_key_change(session, key_id)
    await record_event(
        session,
        type="key.rotated",
        target=key_id,
        tenant_id=old.tenant_id,
        actor_key_id=principal.key_id,
        details={"replaced_by": new.id, "old_key_expires_at": grace_end.isoformat()},
    )
    after_commit(session, lambda: invalidate(key_id))
    return new, secret


async def bootstrap_admin_key(*, session: AsyncSession) -> str | None:
    """On a database with no key at all, create the first platform admin key."""
    if await repository.count_keys(session) > 0:
        return None
    _, secret = await create_key(
        session=session,
        principal=None,
        data=ApiKeyIn(name="bootstrap admin", scopes=[Scope.ADMIN]),
    )
    return secret
