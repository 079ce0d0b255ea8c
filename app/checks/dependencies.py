"""What a check reads from this process: the check writer and the hours cache (on app.state by
create_app), one accessor each, and `check_context`, the one place a check's `Context` is made
(the FastAPI routes and the fast path alike: plain calls, no request needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI

from app.auth.principal import Principal
from app.callingrules.dependencies import caps_of, holidays_of, laws_of
from app.checks import service
from app.checks.hours import HoursCache
from app.checks.pipeline import CheckWriter
from app.core.dependencies import from_app
from app.reference.dependencies import snapshot_of


def check_writer_of(app: FastAPI) -> CheckWriter:
    writer: CheckWriter = app.state.checks
    return writer


def hours_cache_of(app: FastAPI) -> HoursCache:
    cache: HoursCache = app.state.hours_cache
    return cache


CheckWriterDep = Annotated[CheckWriter, Depends(from_app(check_writer_of))]


async def check_context(
    app: FastAPI, principal: Principal, tenant_id: str | None, request_id: str
) -> service.Context:
    """A check for `tenant_id` (resolved already: see `OptionalTenantDep`) by `principal`'s
    key, against the current reference snapshot."""
    return service.Context(
        snapshot=await snapshot_of(app),
        laws=laws_of(app),
        holidays=holidays_of(app),
        tenant_id=tenant_id,
        api_key_id=principal.key_id,
        request_id=request_id,
        hours_cache=hours_cache_of(app),
        caps=caps_of(app),
    )
