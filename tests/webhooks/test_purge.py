"""Old finished deliveries are purged in batches, each its own statement: a backlog of any size
goes, pending deliveries and recent ones stay."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.webhooks import repository

HOOK = "whk_purge_test"


async def test_a_backlog_goes_in_batches_and_the_rest_stays(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "PURGE_BATCH", 3)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO webhooks (id, url, events, change_types, secret) "
                "VALUES (:id, 'https://example.test/hook', '{}', '{}', '\\x00')"
            ),
            {"id": HOOK},
        )
        # ten old finished (succeeded or failed), two recent finished, two pending
        await conn.execute(
            text(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, change_type, status, "
                "next_attempt_at, finished_at) "
                "SELECT :id, 'evt_purge_' || g, 'test', "
                "CASE WHEN g > 12 THEN 'pending' "
                "WHEN g % 2 = 0 THEN 'succeeded' ELSE 'failed' END, "
                "CASE WHEN g > 12 THEN now() END, "
                "CASE WHEN g <= 10 THEN now() - interval '40 days' "
                "WHEN g <= 12 THEN now() - interval '1 day' END "
                "FROM generate_series(1, 14) g"
            ),
            {"id": HOOK},
        )
    try:
        purged = await repository.purge_finished(engine, older_than_days=30)
        assert purged == 10
        async with engine.connect() as conn:
            left = await conn.execute(
                text(
                    "SELECT status, count(*) FROM webhook_deliveries WHERE webhook_id = :id "
                    "GROUP BY status ORDER BY status"
                ),
                {"id": HOOK},
            )
            assert [tuple(row) for row in left] == [("failed", 1), ("pending", 2), ("succeeded", 1)]
        assert await repository.purge_finished(engine, older_than_days=30) == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM webhook_deliveries WHERE webhook_id = :id"), {"id": HOOK}
            )
            await conn.execute(text("DELETE FROM webhooks WHERE id = :id"), {"id": HOOK})
