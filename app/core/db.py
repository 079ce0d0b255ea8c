"""The database: one async engine (asyncpg, no thread hop), sessions, and outage detection.

A route's session is `SessionDep` (app/core/dependencies.py)."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import URL, event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
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
# 25006 read_only_sql_transaction: the server we hold a connection to no longer takes writes (a
# primary demoted to a standby while our connection lived): not ours to write to any more.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "3D000", "53", "57P", "57014", "25006")
# errors on a live connection that mean it is to the wrong server: the pool drops it and every
# connection older than it (SQLAlchemy invalidates the whole pool on a disconnect)
_WRONG_SERVER_SQLSTATES = ("25006",)
DEFAULT_PORT = 5432
REPLICA_CONNECT_TIMEOUT_S = 2.0  # a read replica slower to accept than this is passed over


class InvalidDatabaseUrl(ValueError):
    pass


def _comma_hosts_as_query(url: str) -> str:
    """libpq's comma spelling of several hosts (`postgresql://u@h1:5432,h2:5433/db`) as the
    repeated `?host=h1:5432&host=h2:5433` that SQLAlchemy's asyncpg dialect takes (it refuses
    the comma form: the port `5432,h2:5433` is no integer). Every host gets a port (the
    dialect needs one for each of several hosts); a URL naming one host is left as it is."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    if "," not in hostlist:
        return url
    hosts = []
    for spec in hostlist.split(","):
        if not spec or spec.startswith("["):
            raise InvalidDatabaseUrl(
                "DATABASE_URL: list several hosts by name or IPv4 address, each with its port "
                "(an empty host or an IPv6 literal cannot be one of several)."
            )
        name, colon, port = spec.partition(":")
        if colon and not port.isdigit():
            raise InvalidDatabaseUrl(f"DATABASE_URL: the port of {spec!r} is not a number.")
        hosts.append(f"{name}:{port or DEFAULT_PORT}")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(key in ("host", "port") for key, _ in query):
        raise InvalidDatabaseUrl(
            "DATABASE_URL names hosts both before the path and as ?host= or ?port=; use one."
        )
    query = [("host", host) for host in hosts] + query
    netloc = userinfo + at
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(query), parts.fragment)
    )


def hosts_of(url: URL) -> list[str]:
    """The `host:port` (or socket directory) of each server a URL names, in order."""
    named = url.query.get("host")
    if isinstance(named, tuple):
        return list(named)
    if isinstance(named, str):
        return named.split(",")
    return [f"{url.host or 'localhost'}:{url.port or DEFAULT_PORT}"]


def async_url(url: str, *, writes: bool = True) -> URL:
    """Turn a plain libpq URL into an asyncpg SQLAlchemy URL: TCP, `?host=/socket/dir`, and
    several hosts in either libpq spelling (`h1:5432,h2:5433` before the path, or repeated
    `?host=h1:5432&host=h2:5433`), with `target_session_attrs` passed on to asyncpg (which
    tries the hosts in order and keeps the first that matches). A URL of several hosts that
    says nothing of the session's attributes gets `read-write` when it is for `writes` (the
    database's URL): libpq's default, `any`, could land the writes on a standby."""
    try:
        parsed = make_url(_comma_hosts_as_query(url))
    except (sa_exc.ArgumentError, ValueError) as exc:
        if isinstance(exc, InvalidDatabaseUrl):
            raise
        raise InvalidDatabaseUrl(f"DATABASE_URL is not a URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "postgres"):
        raise InvalidDatabaseUrl("DATABASE_URL must be a postgresql:// URL.")
    query: dict[str, str | tuple[str, ...]] = dict(parsed.query)
    if "sslmode" in query:  # libpq spelling; asyncpg calls it ssl
        query["ssl"] = query.pop("sslmode")
    if writes and len(hosts_of(parsed)) > 1:
        query.setdefault("target_session_attrs", "read-write")
    return parsed.set(drivername="postgresql+asyncpg", query=query)


def plain_url(url: URL) -> str:
    """The libpq form of a URL, as asyncpg.connect and psql take it (several hosts in the
    comma spelling: asyncpg keeps only the last of repeated `?host=`)."""
    query = dict(url.query)
    if "ssl" in query:  # back to libpq's spelling: asyncpg's DSN takes sslmode, not ssl
        query["sslmode"] = query.pop("ssl")
    named = query.get("host")
    if not isinstance(named, tuple):
        rendered = url.set(drivername="postgresql", query=query)
        return rendered.render_as_string(hide_password=False)
    del query["host"]
    rendered = url.set(drivername="postgresql", host=None, port=None, query=query)
    head, sep, tail = rendered.render_as_string(hide_password=False).partition("://")
    userinfo, at, rest = tail.rpartition("@")
    return f"{head}{sep}{userinfo}{at}{','.join(named)}{rest}"


def create_engine(url: str, settings: Settings, *, writes: bool = True) -> AsyncEngine:
    """The pool of a database (`writes`) or of its read replica. Both drop a connection the
    server has closed when it is checked out (no round trip: the driver saw the socket close),
    so after a failover requests take fresh connections, which asyncpg opens on the host that
    now matches `target_session_attrs`; the replica's pool also pings (a replica that goes
    away must be noticed before a read is sent to it, to fall back to the primary)."""
    timeout = settings.db_timeout_s
    engine = create_async_engine(
        async_url(url, writes=writes),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=timeout,
        pool_pre_ping=not writes,
        connect_args={
            # a replica that does not answer quickly is passed over for the primary
            "timeout": timeout if writes else min(timeout, REPLICA_CONNECT_TIMEOUT_S),
            # the client-side guard is a little looser than the server's statement_timeout,
            # so a slow statement normally ends with the server's clean cancellation
            "command_timeout": timeout + 1.0,
            "server_settings": {
                "application_name": "callguard" if writes else "callguard-reads",
                "statement_timeout": str(int(timeout * 1000)),
            },
        },
    )
    _drop_connections_to_gone_servers(engine)
    return engine


def _drop_connections_to_gone_servers(engine: AsyncEngine) -> None:
    """After a failover the pool holds connections to a server that is gone (closed by it) or,
    if it came back as a standby, takes no writes: neither is handed out again."""

    @event.listens_for(engine.sync_engine, "checkout")
    def closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise sa_exc.DisconnectionError("the server closed this connection")

    @event.listens_for(engine.sync_engine, "handle_error")
    def wrong_server(context: ExceptionContext) -> None:
        if _sqlstate_in_chain(context.original_exception, _WRONG_SERVER_SQLSTATES):
            context.is_disconnect = True  # this connection and every older one are dropped


def _sqlstate_in_chain(exc: BaseException | None, states: tuple[str, ...]) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(states):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


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

    async def one_snapshot(self, session: AsyncSession) -> None:
        """Make a new session's transaction read every statement from one snapshot (REPEATABLE
        READ, read only): a long read in many statements then reads as one would. Called
        before the session's first statement; a test's shared transaction keeps its own."""
        if not self.shared_connection:
            await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


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
            | asyncpg.CannotConnectNowError
            # several hosts, none of them the primary (target_session_attrs): mid-failover
            | asyncpg.TargetServerAttributeNotMatched,
        ):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
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
