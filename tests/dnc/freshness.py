"""Test-only: move a DNC list's `refreshed_at` (no production hook does this; a month is not
waited for). Runs on the test's own connection, inside its transaction, or on a committed one
for tests that use `workers`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def set_refreshed_at(conn: AsyncConnection, list_id: str, at: datetime) -> None:
    result = await conn.execute(
        text("UPDATE dnc_lists SET refreshed_at = :at WHERE id = :id"), {"at": at, "id": list_id}
    )
    assert getattr(result, "rowcount", 0) == 1, f"no list {list_id}"


async def age_list(conn: AsyncConnection, list_id: str, age: timedelta) -> datetime:
    """Make the list last refreshed `age` ago (by the database's clock); the new instant."""
    at = await conn.scalar(
        text(
            "UPDATE dnc_lists SET refreshed_at = clock_timestamp() - CAST(:age AS interval) "
            "WHERE id = :id "
            "RETURNING refreshed_at"
        ),
        {"age": age, "id": list_id},
    )
    assert isinstance(at, datetime), f"no list {list_id}"
    return at


async def refreshed_at(conn: AsyncConnection, list_id: str) -> datetime:
    at = await conn.scalar(
        text("SELECT refreshed_at FROM dnc_lists WHERE id = :id"), {"id": list_id}
    )
    assert isinstance(at, datetime), f"no list {list_id}"
    return at
