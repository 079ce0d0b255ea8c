"""The per-process calling-hours cache answers exactly as a fresh evaluation would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from app.callingrules.decide import decide_hours
from app.checks.hours import HoursCache
from app.checks.service import Context, Preparer
from app.numbers.parsing import parse_strict


async def test_cached_verdicts_equal_fresh_ones_across_a_week(app: FastAPI) -> None:
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    cache = HoursCache()
    ctx = Context(
        snapshot=snapshot,
        laws=app.state.laws,
        holidays=app.state.holidays,
        tenant_id=None,
        api_key_id=None,
        request_id="req_test",
        hours_cache=cache,
    )
    cases = [("+14155552671", None), ("+13055552671", "CA"), ("+18005552671", None)]
    start = datetime(2026, 11, 20, 0, 7, 13, tzinfo=UTC)  # Friday, through Thanksgiving week
    hits = 0
    for step in range(0, 7 * 24 * 60, 23):  # every 23 minutes for a week
        at = start + timedelta(minutes=step)
        for phone, state in cases:
            number = parse_strict(phone, snapshot.in_service)
            cached_before = cache.get((number.npa, state, None), snapshot, at) is not None
            got = Preparer(ctx, at, "voice", batch=False).item(phone, state).hours
            fresh = decide_hours(
                number=number,
                at=at,
                recipient_state=state,
                tenant_id=None,
                snapshot=snapshot,
                laws=app.state.laws,
                holidays=app.state.holidays,
            )
            assert got == fresh, (phone, state, at)
            hits += cached_before
    assert hits > 300  # the cache was actually used
