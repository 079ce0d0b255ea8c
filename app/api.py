"""Mounts every feature router under /v1."""

from fastapi import APIRouter

from app.core.routing import make_router

v1 = make_router(prefix="/v1")


def api_router() -> APIRouter:
    return v1
