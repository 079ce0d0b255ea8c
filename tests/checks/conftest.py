"""Fixtures of the check tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app


@pytest.fixture
async def big(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that takes a 10,000-item batch and 10,000 checks at once."""
    app = create_app(
        settings.model_copy(
            update={"max_body_bytes": 4 << 20, "key_rate_per_s": 1e6, "key_burst": 50_000}
        ),
        Database.joined_to(engine, connection),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
