"""Core's per-process objects, each reached through one typed accessor, and their route aliases.

Every object a process holds for its lifetime (the database, the settings, the long-read slots,
and each feature's own: the reference snapshot, the check writer, the upload runner, the key
cache) is put on `app.state` by `create_app` (app/main.py) and read back only through the
accessor of the package whose type it is: `database_of(app)` here, `reference_of(app)` in
app/reference/dependencies.py, and so on. An accessor is a plain function (the check fast path
calls them with no request); a route takes the alias (`DatabaseDep`, `SettingsDep`, ...).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
from fastapi import Depends, FastAPI, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.longreads import LongReads
from app.core.replica import ReadReplica

T = TypeVar("T")


def database_of(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


def read_replica_of(app: FastAPI) -> ReadReplica | None:
    """The read replica, when CALLGUARD_READ_DATABASE_URL names one."""
    replica: ReadReplica | None = getattr(app.state, "read_replica", None)
    return replica


async def read_database_of(app: FastAPI) -> Database:
    """Where a read that opens its own sessions (a CSV export) goes: the replica when one is
    set and answers now, else the primary."""
    replica = read_replica_of(app)
    if replica is not None and await replica.usable():
        return replica.database
    return database_of(app)


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


def long_reads_of(app: FastAPI) -> LongReads:
    reads: LongReads = app.state.long_reads
    return reads


def from_app(accessor: Callable[[FastAPI], T]) -> Callable[[Request], Awaitable[T]]:
    """A route dependency reading one per-process object through its accessor (async: FastAPI
    would run a plain function in a worker thread)."""

    async def dependency(request: Request) -> T:
        return accessor(request.app)

    dependency.__name__ = accessor.__name__
    return dependency


DatabaseDep = Annotated[Database, Depends(from_app(database_of))]
SettingsDep = Annotated[Settings, Depends(from_app(settings_of))]
LongReadsDep = Annotated[LongReads, Depends(from_app(long_reads_of))]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commits on success, rolls back on error.

    Used with scope="function", so the commit happens before the response is sent.
    """
    async with database_of(request.app).sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await asyncio.shield(_quiet_rollback(session))
            raise
        await session.commit()
        for callback in session.info.pop("after_commit", ()):
            result = callback()
            if inspect.isawaitable(result):
                await result


async def _quiet_rollback(session: AsyncSession) -> None:
    # The original error is what matters; a rollback on a dead connection adds nothing.
    try:
        await session.rollback()
    except (sa_exc.SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pass


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for the audit trail's and a number's reads: on the read replica when one is
    set and answers (its connection is taken before the route runs), otherwise on the primary
    (app/core/replica.py logs the fallback). Never used for a write."""
    replica = read_replica_of(request.app)
    session = await replica.session() if replica is not None else None
    if session is None:
        session = database_of(request.app).sessionmaker()
    async with session:
        try:
            yield session
        except BaseException:
            await asyncio.shield(_quiet_rollback(session))
            raise
        await session.commit()


async def _read_database(request: Request) -> Database:
    return await read_database_of(request.app)


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
ReadDatabaseDep = Annotated[Database, Depends(_read_database)]
ReadReplicaDep = Annotated[ReadReplica | None, Depends(from_app(read_replica_of))]
