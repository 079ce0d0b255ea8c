"""Tenant scoping, used by every feature: another tenant's resource is simply not there (404)."""

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.auth.errors import TenantNotFound
from app.auth.models import Tenant
from app.auth.principal import Principal
from app.core.errors import ValidationFailed


def visible_to(
    principal: Principal, tenant_column: InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    """The SQL condition for rows this caller may see: a platform admin sees every tenant's."""
    if principal.is_admin:
        return true()
    return tenant_column == principal.tenant_id


def required_tenant(principal: Principal, requested: str | None) -> str:
    """The tenant a tenant-owned thing belongs to; a platform key must name one."""
    tenant_id = owned_tenant(principal, requested)
    if tenant_id is None:
        raise ValidationFailed.field(
            "tenant_id",
            "required for a platform key",
            "A platform key must name the tenant: ?tenant_id=ten_….",
        )
    return tenant_id


def owned_tenant(principal: Principal, requested: str | None) -> str | None:
    """The tenant a new resource belongs to: the caller's, or any for a platform admin."""
    if requested is None or requested == principal.tenant_id:
        return principal.tenant_id
    if principal.is_admin:
        return requested
    raise TenantNotFound()


async def existing_tenant(
    session: AsyncSession, principal: Principal, requested: str | None
) -> str:
    """`required_tenant`, and a platform key naming a tenant that does not exist gets 404."""
    tenant_id = required_tenant(principal, requested)
    if tenant_id != principal.tenant_id and await session.get(Tenant, tenant_id) is None:
        raise TenantNotFound()
    return tenant_id
