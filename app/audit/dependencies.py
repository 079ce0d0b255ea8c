"""Whose records an audit route reads: unlike `TenantDep`, a platform key naming no tenant reads
every tenant's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from app.auth.dependencies import CurrentPrincipal, named_tenant

AuditTenantQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Admin only: one tenant (default: all; 404 if it does not exist).",
    ),
]


@dataclass(frozen=True, slots=True)
class AuditScope:
    tenant_id: str | None
    every_tenant: bool


async def audit_scope(
    request: Request, principal: CurrentPrincipal, tenant_id: AuditTenantQuery = None
) -> AuditScope:
    """A tenant's key reads its own; a platform key every tenant's, or one it names (404 if
    there is no such tenant, as on every other route)."""
    if tenant_id is None:
        return AuditScope(principal.tenant_id, principal.is_admin and principal.tenant_id is None)
    return AuditScope(await named_tenant(request.app, principal, tenant_id), False)


AuditScopeDep = Annotated[AuditScope, Depends(audit_scope)]
