"""Test-only routes that exercise the framework paths no product route reaches yet."""

from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import text

from app.core.dependencies import SessionDep
from app.core.routing import make_router

SECRET = "hunter2-internal-detail"


class Item(BaseModel):
    to: str
    count: int = Field(ge=0)


class Payload(BaseModel):
    name: str
    at: AwareDatetime
    items: list[Item]


def add_probe_routes(app: FastAPI) -> None:
    router = make_router(prefix="/_probe")

    @router.post("/echo")
    async def echo(
        payload: Payload, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, object]:
        return {"name": payload.name, "items": len(payload.items), "limit": limit}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"SELECT secret FROM keys -- {SECRET}")

    @router.get("/db")
    async def db(session: SessionDep) -> dict[str, int]:
        return {"one": int(await session.scalar(text("SELECT 1")) or 0)}

    @router.get("/slow")
    async def slow(session: SessionDep) -> dict[str, bool]:
        await session.execute(text("SELECT pg_sleep(30)"))
        return {"slept": True}

    app.include_router(router)
