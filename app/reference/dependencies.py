"""The reference data of this process (`ReferenceData`, on app.state by create_app), and its
current snapshot: one accessor each, and their route aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from app.core.dependencies import database_of, from_app
from app.reference.snapshot import ReferenceData, Snapshot


def reference_of(app: FastAPI) -> ReferenceData:
    reference: ReferenceData = app.state.reference
    return reference


async def snapshot_of(app: FastAPI) -> Snapshot:
    """The current snapshot (reloaded first when a change made it stale)."""
    return await reference_of(app).current(database_of(app).sessionmaker)


async def current_snapshot(request: Request) -> Snapshot:
    return await snapshot_of(request.app)


ReferenceDep = Annotated[ReferenceData, Depends(from_app(reference_of))]
SnapshotDep = Annotated[Snapshot, Depends(current_snapshot)]
