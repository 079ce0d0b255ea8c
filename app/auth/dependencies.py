"""The one authentication dependency every /v1 route uses, scope checks, the tenant a request
acts for (`TenantDep`), and this process's authentication state (`auth_state_of`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.dependencies.models import Dependant

from app.auth import repository
from app.auth.cache import KeyCache, KeyRecord
from app.auth.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited, ScopeRequired
from app.auth.principal import KEY_PREFIX, Principal, Scope, hash_secret, same_hash
from app.auth.scoping import existing_tenant, required_tenant
from app.auth.throttle import FailedAttempts, KeyBudgets
from app.core.dependencies import database_of, from_app
from app.core.errors import AppError


@dataclass
class AuthState:
    """Per-process authentication state, kept on app.state.auth."""

    budgets: KeyBudgets
    cache: KeyCache = field(default_factory=KeyCache)
    failed: FailedAttempts = field(default_factory=FailedAttempts)


def auth_state_of(app: FastAPI) -> AuthState:
    state: AuthState = app.state.auth
    return state


AuthStateDep = Annotated[AuthState, Depends(from_app(auth_state_of))]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX) or len(token) > 128:
        return None
    return token


async def _lookup(request: Request, state: AuthState, secret_hash: bytes) -> KeyRecord | None:
    record = state.cache.get(secret_hash)
    if record is not None:
        return record
    started = time.monotonic()
    async with database_of(request.app).sessionmaker() as session:
        record = await repository.key_by_hash(session, secret_hash)
    if record is not None:
        state.cache.put(record, started)
    return record


async def authenticate(request: Request) -> Principal:
    """The calling key, verified; the same object for the rest of the request."""
    # request.state is the scope's "state" dict; read it directly (a missing attribute of
    # request.state costs an AttributeError on every request)
    principal: Principal | None = request.scope.setdefault("state", {}).get("principal")
    if principal is not None:
        return principal
    state = auth_state_of(request.app)
    error: AppError | None = None
    secret = _bearer(request)
    record = None
    if secret is None:
        error = InvalidToken()
    else:
        secret_hash = hash_secret(secret)
        record = await _lookup(request, state, secret_hash)
        if record is None or not same_hash(record.secret_hash, secret_hash):
            error = InvalidToken("This API key is not valid.")
        elif record.revoked_at is not None:
            error = KeyRevoked()
        elif record.expires_at is not None and record.expires_at <= datetime.now(UTC):
            error = KeyExpired()
    if error is not None or record is None:
        # only failures count, and only they are refused for an address's failures: a valid
        # key is never locked out by what others sent from its address (a shared NAT, a proxy)
        address = client_address(request)
        retry_after = state.failed.retry_after(address)
        if retry_after is not None:
            raise RateLimited(
                retry_after,
                f"Too many failed key attempts from this address; retry in {retry_after} s.",
            )
        state.failed.record_failure(address)
        raise error or InvalidToken()
    request.state.key_id = record.id
    wait = state.budgets.take(record.id)
    if wait is not None:
        raise RateLimited(wait, f"This API key's request budget is spent; retry in {wait} s.")
    principal = Principal(key_id=record.id, tenant_id=record.tenant_id, scopes=record.scopes)
    request.state.principal = principal
    return principal


def charge_items(request: Request, principal: Principal, items: int) -> None:
    """A batch's items against its key's budget: the request took one token already."""
    request_state = request.scope.setdefault("state", {})
    if request_state.get("items_charged"):  # the check fast path handed the request on
        return
    request_state["items_charged"] = True
    state = auth_state_of(request.app)
    wait = state.budgets.take(principal.key_id, items - 1) if items > 1 else None
    if wait is not None:
        raise RateLimited(
            wait,
            f"This API key's budget does not cover {items} checks now; retry in {wait} s.",
        )


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(scope):
            raise ScopeRequired(scope)
        return principal

    check.__name__ = f"require_{scope.value.replace(':', '_')}"
    check.required_scope = scope  # type: ignore[attr-defined]  # read by V1Route
    return check


def required_scopes(dependant: Dependant) -> frozenset[str]:
    """Every scope a route's dependencies require (see `require`), found once per route."""
    found: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        scope = getattr(current.call, "required_scope", None)
        if scope is not None:
            found.add(str(scope))
        pending.extend(current.dependencies)
    return frozenset(found)


AdminKey = Annotated[Principal, Depends(require(Scope.ADMIN))]
KeysWriter = Annotated[Principal, Depends(require(Scope.KEYS_WRITE))]


TenantQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="A platform key names the tenant it acts for (404 if there is no such "
        "tenant); a tenant's key acts for its own.",
    ),
]


async def named_tenant(app: FastAPI, principal: Principal, tenant_id: str) -> str:
    """The tenant a caller names: its own, or for a platform key one that exists (else 404)."""
    async with database_of(app).sessionmaker() as session:  # connects only if it must look
        return await existing_tenant(session, principal, tenant_id)


async def acting_tenant(
    request: Request, principal: CurrentPrincipal, tenant_id: TenantQuery = None
) -> str:
    """The tenant the request acts for: the caller's own, or the one a platform key names
    (404 if there is no such tenant, 400 if a platform key names none)."""
    if tenant_id is None:
        return required_tenant(principal, None)
    return await named_tenant(request.app, principal, tenant_id)


async def acting_tenant_or_none(
    request: Request, principal: CurrentPrincipal, tenant_id: TenantQuery = None
) -> str | None:
    """As `acting_tenant`, but a platform key naming no tenant acts for none (None)."""
    if tenant_id is None:
        return principal.tenant_id
    return await named_tenant(request.app, principal, tenant_id)


TenantDep = Annotated[str, Depends(acting_tenant)]
OptionalTenantDep = Annotated[str | None, Depends(acting_tenant_or_none)]
