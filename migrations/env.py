"""Alembic environment: async (asyncpg), one advisory lock so two migrators never race."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.all_models import Base
from app.core.config import get_settings
from app.core.db import async_url

# an arbitrary constant: "callguard migrations" as a 64-bit lock key
_MIGRATION_LOCK = 0x63676D6967726174

config = context.config


def _database_url() -> str:
    url = config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL or run `callguard migrate`")
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(async_url(_database_url()), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        await connection.commit()
        try:
            await connection.run_sync(_run)
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
