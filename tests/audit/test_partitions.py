"""The check records table is partitioned by month, with partitions made ahead."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.checks.tasks import PARTITIONS_AHEAD, ensure_partitions
from tests.helpers import tenant_with_key


def _month(year: int, month: int) -> str:
    return f"check_records_p{year}{month:02d}"


async def test_partitions_exist_ahead_and_records_land_in_their_month(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    engine: AsyncEngine,
) -> None:
    assert await ensure_partitions(engine) == 0  # the migration made them already
    names = set(
        (
            await connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'check_records'::regclass"
                )
            )
        ).scalars()
    )
    now = datetime.now(UTC)
    expected = set()
    year, month = now.year, now.month
    for _ in range(PARTITIONS_AHEAD + 1):
        expected.add(_month(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    assert expected <= names

    _, headers = await tenant_with_key(client, admin)
    answer = await client.post("/v1/checks", json={"to": "+14155552671"}, headers=headers)
    check_id = answer.json().get("check_id") or answer.json()["details"]["check_id"]
    partition = await connection.scalar(
        text("SELECT tableoid::regclass::text FROM check_records WHERE id = :id"),
        {"id": check_id},
    )
    assert partition == _month(now.year, now.month)


async def test_a_partition_made_ahead_is_attached_whole_and_refuses_truncate(
    connection: AsyncConnection,
) -> None:
    """The function makes a missing month as a table attached to check_records: with the
    parent's indexes and row triggers, and a TRUNCATE trigger of its own (the parent's does not
    fire for one partition)."""
    now = datetime.now(UTC)
    year, month = now.year, now.month
    for _ in range(PARTITIONS_AHEAD):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = _month(year, month)
    await connection.execute(text(f"DROP TABLE {last}"))  # rolled back with the test
    assert await connection.scalar(text(f"SELECT ensure_check_partitions({PARTITIONS_AHEAD})")) == 1
    bound = await connection.scalar(
        text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = :n"), {"n": last}
    )
    assert bound.startswith("FOR VALUES FROM")
    indexes = await connection.scalar(
        text("SELECT count(*) FROM pg_indexes WHERE tablename = :n"), {"n": last}
    )
    assert indexes == 4  # primary key (id first), tenant and time, chain, tenant and phone
    triggers = set(
        (
            await connection.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:n AS regclass) "
                    "AND NOT tgisinternal"
                ),
                {"n": last},
            )
        ).scalars()
    )
    assert triggers == {"check_records_append_only", "check_records_no_truncate"}
    for partition in (last, _month(now.year, now.month)):
        await connection.execute(text("SAVEPOINT t"))
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(text(f"TRUNCATE {partition}"))
        await connection.execute(text("ROLLBACK TO SAVEPOINT t"))
