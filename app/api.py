"""Mounts every feature router under /v1, all behind the one authentication dependency, and
names what each kind of upload merges into (the features that own those tables say how)."""

from fastapi import APIRouter, Depends

from app.areacodes.router import router as areacodes_router
from app.audit.router import router as audit_router
from app.auth.dependencies import authenticate
from app.auth.router import router as auth_router
from app.callingrules.router import router as callingrules_router
from app.checks.router import router as checks_router
from app.dnc import uploads as dnc_uploads
from app.dnc.router import router as dnc_router
from app.optouts import uploads as optout_uploads
from app.optouts.router import router as optouts_router
from app.uploads.importer import Targets


def api_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    # the hot path first: routes are matched in order
    v1.include_router(checks_router)
    v1.include_router(auth_router)
    v1.include_router(areacodes_router)
    v1.include_router(callingrules_router)
    v1.include_router(dnc_router)
    v1.include_router(optouts_router)
    v1.include_router(audit_router)
    return v1


def upload_targets() -> Targets:
    return {"dnc": dnc_uploads.target, "optout": optout_uploads.target}
