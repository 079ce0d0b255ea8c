"""After a failover the pool holds connections to a server that is gone or that no longer takes
writes (issue 20): neither is used again, and the error that reveals one is a 503."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import create_engine, is_unavailable


async def test_a_connection_the_server_closed_is_not_handed_out(
    database_url: str, settings: Settings
) -> None:
    engine = create_engine(database_url, settings)
    try:
        async with engine.connect() as other:
            async with engine.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            # back in the pool, first in line: the server ends it (as a failover does)
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.3)  # the driver sees its socket close
        async with engine.connect() as conn:  # no error: a fresh connection
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()


async def test_a_connection_to_a_server_that_takes_no_writes_is_dropped(
    database_url: str, settings: Settings
) -> None:
    engine = create_engine(database_url, settings.model_copy(update={"db_pool_size": 1}))
    try:
        async with engine.connect() as conn:  # as a primary demoted under a live connection
            await conn.execute(text("SET default_transaction_read_only = on"))
            await conn.commit()
        with pytest.raises(sa_exc.DBAPIError) as refused:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TEMP TABLE failover_probe (x int)"))
        assert is_unavailable(refused.value)  # answered 503, not 500
        async with engine.begin() as conn:  # the pool dropped it: a fresh connection writes
            await conn.execute(text("CREATE TEMP TABLE failover_probe (x int)"))
    finally:
        await engine.dispose()
