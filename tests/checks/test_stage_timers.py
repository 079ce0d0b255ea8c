"""CALLGUARD_CHECK_STAGE_TIMERS (issue 22): each check batch's stages in one log line, off by
default."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.helpers import tenant_with_key
from tests.workers import client_of

AT = "2026-11-23T18:30:00Z"


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def stage_lines() -> Iterator[list[logging.LogRecord]]:
    """What callguard.checks logs at INFO during the test ("callguard" may not propagate)."""
    checks = logging.getLogger("callguard.checks")
    kept, level = Kept(), checks.level
    checks.addHandler(kept)
    checks.setLevel(logging.INFO)
    try:
        yield kept.records
    finally:
        checks.removeHandler(kept)
        checks.setLevel(level)


@pytest.mark.parametrize("timers", [True, False])
async def test_each_batch_logs_its_stages_when_asked(
    settings: Settings,
    engine: AsyncEngine,
    connection: AsyncConnection,
    admin: dict[str, str],
    stage_lines: list[logging.LogRecord],
    timers: bool,
) -> None:
    app = create_app(
        settings.model_copy(update={"check_stage_timers": timers}),
        Database.joined_to(engine, connection),
    )
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        single = await client.post(
            "/v1/checks", json={"to": "+14155552671", "at": AT}, headers=headers
        )
        batch = await client.post(
            "/v1/checks/batch",
            json={"items": [{"to": "+12125552671"}, {"to": "not a number"}], "at": AT},
            headers=headers,
        )
    await app.state.checks.stop()
    assert single.status_code == 200, single.text
    assert batch.status_code == 200, batch.text
    lines = [r for r in stage_lines if r.getMessage() == "check batch stages"]
    if not timers:
        assert lines == []
        return
    assert [r.__dict__["items"] for r in lines] == [1, 2]
    for line in lines:
        stages = [line.__dict__[k] for k in ("prepare_ms", "lookup_ms", "decide_ms", "write_ms")]
        assert all(isinstance(ms, float) and ms >= 0 for ms in stages), stages
        assert line.__dict__["prepare_ms"] <= line.__dict__["lookup_ms"]
