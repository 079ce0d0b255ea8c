"""A big batch's records go by COPY straight into their month's partition, which counts its own
rows (migration 0020); the writer falls back to the parent when the partition is not fit for it,
and a table no longer attached refuses records (issue 22, fourth round)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.checks import repository
from app.checks.tasks import PARTITIONS_AHEAD
from tests.audit.test_stats import MORNING, OUTCOMES, _record_counts, _stats, numbers
from tests.helpers import tenant_with_key


def _month_ahead(months: int) -> str:
    now = datetime.now(UTC)
    year, month = now.year, now.month
    for _ in range(months):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"check_records_p{year}{month:02d}"


async def _raw(connection: AsyncConnection) -> Any:
    return (await connection.get_raw_connection()).driver_connection


async def test_the_copy_goes_into_the_month_when_it_is_fit_and_into_the_parent_otherwise(
    connection: AsyncConnection,
) -> None:
    raw = await _raw(connection)
    now = datetime.now(UTC)
    month = _month_ahead(0)
    targets: dict[str, str] = {}
    assert await repository.copy_target(raw, now, targets) == month
    assert targets == {month: month}  # kept for the connection: no second round trip
    await connection.execute(text(f"ALTER TABLE {month} DISABLE TRIGGER check_records_counted"))
    assert await repository.copy_target(raw, now, targets) == month  # as kept
    # a partition that would not count the rows it is given: the parent counts them
    assert await repository.copy_target(raw, now, {}) == "check_records"
    await connection.execute(text(f"ALTER TABLE {month} ENABLE TRIGGER check_records_counted"))
    # a month with no partition, and a table that is no longer one
    assert await repository.copy_target(raw, datetime(1999, 1, 5, tzinfo=UTC), {}) == (
        "check_records"
    )
    last = _month_ahead(PARTITIONS_AHEAD)
    ahead = datetime.strptime(last[-6:] + "15", "%Y%m%d").replace(tzinfo=UTC)
    assert await repository.copy_target(raw, ahead, {}) == last
    await connection.execute(text(f"ALTER TABLE check_records DETACH PARTITION {last}"))
    assert await repository.copy_target(raw, ahead, {}) == "check_records"


async def test_a_detached_partition_refuses_records(connection: AsyncConnection) -> None:
    """Records written into a table that is no longer a partition would be out of every read
    and every chain walk: its counting trigger fails the statement (checks answer 503)."""
    last = _month_ahead(PARTITIONS_AHEAD)
    ahead = last[-6:-2] + "-" + last[-2:] + "-15T12:00:00Z"
    await connection.execute(text(f"ALTER TABLE check_records DETACH PARTITION {last}"))
    columns = ", ".join(repository.COLUMNS)
    with pytest.raises(DBAPIError, match="not a partition of check_records"):
        await connection.execute(
            text(
                f"INSERT INTO {last} ({columns}) VALUES ('chk_x', :at, NULL, NULL, 'r', "
                "'+14155552671', :at, 'voice', NULL, false, 'allowed', NULL, '{}', 'ln_x', 1, "
                "'\\x00', '\\x00')"
            ),
            {"at": datetime.fromisoformat(ahead)},
        )


async def test_a_new_month_is_granted_as_the_parent(connection: AsyncConnection) -> None:
    """A serving role granted INSERT on check_records may write each new month directly."""
    last = _month_ahead(PARTITIONS_AHEAD)
    await connection.execute(text("GRANT INSERT ON check_records TO PUBLIC"))
    await connection.execute(text(f"DROP TABLE {last}"))  # all rolled back with the test
    assert await connection.scalar(text(f"SELECT ensure_check_partitions({PARTITIONS_AHEAD})")) == 1
    granted = await connection.scalar(
        text(
            "SELECT count(*) FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "WHERE c.relname = :n AND a.grantee = 0 AND a.privilege_type = 'INSERT'"
        ),
        {"n": last},
    )
    assert granted == 1


@pytest.mark.parametrize("partition_counts", [True, False], ids=["into-month", "into-parent"])
async def test_a_big_batch_is_counted_once_either_way(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    partition_counts: bool,
) -> None:
    """Both the parent and the month count rows; a statement fires the triggers of the table
    it names only, so a batch is counted once whichever table its COPY names."""
    if not partition_counts:  # the writer then finds the month unfit and COPYs into the parent
        await connection.execute(
            text(f"ALTER TABLE {_month_ahead(0)} DISABLE TRIGGER check_records_counted")
        )
    tenant_id, headers = await tenant_with_key(client, admin)
    items = [{"to": phone} for phone in numbers("212", 600) + numbers("415", 100)]
    items += [{"to": "+1212555"}] * 10
    response = await client.post(
        "/v1/checks/batch", json={"items": items, "at": MORNING}, headers=headers
    )
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    expected = {outcome: summary.get(outcome, 0) for outcome in OUTCOMES}
    assert expected["allowed"] == 600
    assert expected["call_hours_violation"] == 100
    assert expected["invalid_phone"] == 10
    records = await _record_counts(connection, tenant_id)
    assert (await _stats(client, headers))["totals"] == records == expected
    tables = (
        await connection.execute(
            text(
                "SELECT DISTINCT tableoid::regclass::text FROM check_records WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
    ).scalars()
    assert list(tables) == [_month_ahead(0)]
    verified = await client.get("/v1/audit/verify", headers=headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True
    assert verified.json()["first_bad"] is None
    assert verified.json()["records"] == len(items)
