"""Test harness: real PostgreSQL, migrated once, each test inside a rolled-back transaction.

The server is the embedded one (started once per session in a temporary directory) unless
TEST_DATABASE_URL names another; either way the tests run in a scratch database created for
the session and dropped at its end, so the server's own databases are never touched.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import (
    Database,
    async_url,
    create_engine,
    drop_database,
    ensure_database,
    plain_url,
)
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade
from app.main import create_app
from tests.helpers import app_client, bearer

pytest_plugins = ["tests.workers"]  # the two-worker fixture, for propagation tests


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server for the session: TEST_DATABASE_URL, or an embedded one."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="callguard-test-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            yield embedded.start()
        finally:
            embedded.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A scratch database, migrated with Alembic (the only way the schema is made)."""
    name = f"callguard_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(ensure_database(server_url, name))
    url = plain_url(async_url(server_url).set(database=name))
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        max_body_bytes=64 * 1024,
        data_dir=tmp_path_factory.mktemp("callguard-state"),
    )


@pytest.fixture(scope="session")
async def engine(database_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection; everything done through it is rolled back at the end."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, connection: AsyncConnection) -> FastAPI:
    return create_app(settings, Database.joined_to(engine, connection))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as client:
        yield client


@pytest.fixture
async def admin_key(connection: AsyncConnection) -> str:
    """A platform admin key's secret, made inside the test's transaction."""
    session = AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    _, secret = await auth_service.create_key(
        session=session,
        principal=None,
        data=ApiKeyIn(name="test admin", scopes=[Scope.ADMIN]),
    )
    await session.commit()
    await session.close()
    return secret


@pytest.fixture
def admin(admin_key: str) -> dict[str, str]:
    return bearer(admin_key)
