"""The database: one async engine (asyncpg, no thread hop), sessions, and outage detection.

A route's session is `SessionDep` (app/core/dependencies.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import asyncpg
from sqlalchemy import URL, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings

# SQLSTATE classes that mean "the database is not there for us right now":
# 08 connection exceptions, 28 the server refused our credentials, 3D000 our database is gone,
# 53 insufficient resources, 57P01-57P05 shutdown / cannot connect, and 57014 query_canceled,
# which is how statement_timeout reports a database that did not answer.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "3D000", "53", "57P", "57014")


class InvalidDatabaseUrl(ValueError):
    pass


def async_url(url: str) -> URL:
    """Turn a plain libpq URL (TCP or ?host=/socket/dir form) into an asyncpg SQLAlchemy URL."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise InvalidDatabaseUrl(f"DATABASE_URL is not a URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "postgres"):
        raise InvalidDatabaseUrl("DATABASE_URL must be a postgresql:// URL.")
    query = dict(parsed.query)
    if "sslmode" in query:  # libpq spelling; asyncpg calls it ssl
        query["ssl"] = query.pop("sslmode")
    return parsed.set(drivername="postgresql+asyncpg", query=query)


def plain_url(url: URL) -> str:
    """The libpq form of a URL, as asyncpg.connect and psql take it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    timeout = settings.db_timeout_s
    return create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=timeout,
        connect_args={
            "timeout": timeout,
            # the client-side guard is a little looser than the server's statement_timeout,
            # so a slow statement normally ends with the server's clean cancellation
            "command_timeout": timeout + 1.0,
            "server_settings": {
                "application_name": "callguard",
                "statement_timeout": str(int(timeout * 1000)),
            },
        },
    )


class Database:
    """What a request needs to reach PostgreSQL: the engine and a session factory."""

    def __init__(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession] | None = None
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker or async_sessionmaker(engine, expire_on_commit=False)
        # sessions share one connection (tests): one statement at a time
        self.shared_connection = sessionmaker is not None

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> Database:
        return cls(create_engine(url, settings))

    @classmethod
    def joined_to(cls, engine: AsyncEngine, connection: AsyncConnection) -> Database:
        """Sessions that live inside an outer transaction (tests roll it back afterwards)."""
        maker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        return cls(engine, maker)

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession, callback: Callable[[], object]) -> None:
    """Run `callback` (sync or async) once the request's transaction has committed, before the
    response is sent, and only if it committed."""
    session.info.setdefault("after_commit", []).append(callback)


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means the database could not be consulted (down, gone, too slow)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            TimeoutError
            | ConnectionError
            | socket.gaierror
            | FileNotFoundError  # the Unix socket of a stopped server
            | sa_exc.TimeoutError  # pool exhausted for db_timeout_s
            | asyncpg.ConnectionDoesNotExistError
            | asyncpg.CannotConnectNowError,
        ):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return True
        current = current.__cause__ or current.__context__
    return False


async def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server if it does not exist yet."""
    conn = await asyncpg.connect(plain_url(async_url(server_url).set(database="postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain_url(async_url(server_url).set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def rows_in(status: str) -> int:
    """The row count of a driver's command status (`INSERT 0 42`, `DELETE 7`, `SELECT 3`)."""
    return int(status.rsplit(" ", 1)[-1])
