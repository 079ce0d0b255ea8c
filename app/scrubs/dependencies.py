"""This process's scrub runner (on app.state by create_app): its accessor and route alias, and
how a scrub's rows get the context a check at its instant would have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from app.callingrules.dependencies import caps_of, holidays_of, laws_of
from app.checks.service import Context
from app.core.dependencies import from_app
from app.reference.dependencies import snapshot_of
from app.scrubs.tasks import ContextOf, ScrubRunner


def scrub_runner_of(app: FastAPI) -> ScrubRunner:
    runner: ScrubRunner = app.state.scrubs
    return runner


def scrub_contexts(app: FastAPI) -> ContextOf:
    """A scrub's check context: the current reference snapshot, the laws and their caps, its
    tenant and key; no hours cache (its rows are prepared in a worker thread, and a scrub
    computes each area code's hours once anyway)."""

    async def context_of(scrub: Mapping[str, Any]) -> Context:
        return Context(
            snapshot=await snapshot_of(app),
            laws=laws_of(app),
            holidays=holidays_of(app),
            tenant_id=scrub["tenant_id"],
            api_key_id=scrub["created_by"],
            request_id=scrub["id"],
            caps=caps_of(app),
        )

    return context_of


ScrubRunnerDep = Annotated[ScrubRunner, Depends(from_app(scrub_runner_of))]
