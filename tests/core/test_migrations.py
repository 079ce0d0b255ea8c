"""The migrations and the models agree, and every migration can be undone and redone."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.all_models import Base
from app.core.db import async_url, drop_database, ensure_database, plain_url
from app.core.migrations import downgrade, upgrade


def _not_a_partition(name: str | None, type_: str, _: object) -> bool:
    # the monthly partitions of check_records and call_attempts (and the latter's default
    # partition) are made at run time, not declared as models
    return not (
        type_ == "table"
        and name is not None
        and name.startswith(("check_records_p", "call_attempts_p", "call_attempts_default"))
    )


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_a_partition}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_downgrade_to_base_and_up_again(server_url: str) -> None:
    name = "callguard_test_roundtrip"
    asyncio.run(ensure_database(server_url, name))
    url = plain_url(async_url(server_url).set(database=name))
    try:
        upgrade(url)
        downgrade(url, "base")
        upgrade(url)
    finally:
        asyncio.run(drop_database(server_url, name))
