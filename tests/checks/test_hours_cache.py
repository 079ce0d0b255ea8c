"""The per-process calling-hours cache answers exactly as a fresh evaluation would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytz
from fastapi import FastAPI

from app.callingrules.decide import decide_hours
from app.checks.hours import HoursCache, _clocks
from app.checks.service import Context, Preparer
from app.numbers.parsing import parse_strict
from tests.helpers import tenant_with_key


async def _cached_against_fresh(
    app: FastAPI, cases: list[tuple[str, str | None]], instants: list[datetime]
) -> int:
    """Each case's hours at each instant, prepared with a calling-hours cache, against a fresh
    evaluation: equal, and the local times spelled alike; how many came from the cache."""
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
    hits = 0
    for at in instants:
        for phone, state in cases:
            number = parse_strict(phone, snapshot.in_service)
            hit = cache.get((number.npa, state, None), snapshot, at) is not None
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
            assert got is not None
            spelled = [(zone, local.isoformat()) for zone, local in got.verdict.local_times]
            assert spelled == [
                (zone, local.isoformat()) for zone, local in fresh.verdict.local_times
            ], (phone, state, at)
            assert got == fresh, (phone, state, at)
            hits += hit
    return hits


async def test_cached_verdicts_equal_fresh_ones_across_a_week(app: FastAPI) -> None:
    cases = [("+14155552671", None), ("+13055552671", "CA"), ("+18005552671", None)]
    start = datetime(2026, 11, 20, 0, 7, 13, tzinfo=UTC)  # Friday, through Thanksgiving week
    # every 23 minutes for a week
    instants = [start + timedelta(minutes=step) for step in range(0, 7 * 24 * 60, 23)]
    assert await _cached_against_fresh(app, cases, instants) > 300  # the cache was used


async def test_cached_local_times_read_as_fresh_ones_across_clock_changes(app: FastAPI) -> None:
    """A hit reads each zone's local time off a fixed offset when the zone keeps one over the
    cached span: the answers' local times must be spelled exactly as a fresh evaluation's,
    on the days the clocks change (and in zones that never change, or by half hours)."""
    # Los Angeles, New York (a Californian recipient: two zones), Phoenix, Honolulu, Chicago,
    # Newfoundland (UTC-3:30)
    cases = [
        ("+14155552671", None),
        ("+12125552671", "CA"),
        ("+16025552671", None),
        ("+18085552671", None),
        ("+13125552671", None),
        ("+17095552671", None),
    ]
    starts = (datetime(2026, 3, 7, 0, 3, tzinfo=UTC), datetime(2026, 10, 31, 0, 3, tzinfo=UTC))
    # every 11 minutes for three days from each
    instants = [s + timedelta(minutes=step) for s in starts for step in range(0, 3 * 24 * 60, 11)]
    assert await _cached_against_fresh(app, cases, instants) > 1000  # the cache was used


async def test_a_check_answered_from_the_cache_gives_its_own_local_times(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    """Through the API: a second check in the same allowed span is answered from the cache,
    with the local times of its own instant in every zone (two zones: a New York number, a
    Californian recipient)."""
    tenant_id, headers = await tenant_with_key(client, admin)
    body = {"to": "+12125552671", "recipient_state": "CA"}
    first = await client.post(
        "/v1/checks", json={**body, "at": "2026-11-23T18:30:00Z"}, headers=headers
    )
    assert first.status_code == 200, first.text
    snapshot = await app.state.reference.current(app.state.db.sessionmaker)
    later = datetime(2026, 11, 23, 22, 45, 30, tzinfo=UTC)
    assert app.state.hours_cache.get(("212", "CA", tenant_id), snapshot, later) is not None
    second = await client.post(
        "/v1/checks", json={**body, "at": "2026-11-23T22:45:30Z"}, headers=headers
    )
    assert second.status_code == 200, second.text
    answer = second.json()
    assert answer["zones"] == [
        {"time_zone": "America/Los_Angeles", "local_time": "2026-11-23T14:45:30-08:00"},
        {"time_zone": "America/New_York", "local_time": "2026-11-23T17:45:30-05:00"},
    ]
    assert answer["allowed_until"] == first.json()["allowed_until"]


def test_a_span_across_a_clock_change_keeps_the_zone() -> None:
    """Over a span in which a zone's offset changes, its local times are read off the zone
    itself; over a span without one, off the offset, and they read as the zone's own."""
    new_york = pytz.timezone("America/New_York")
    change = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 02:00 EDT becomes 01:00 EST
    hour = timedelta(hours=1)
    spans = [
        (change - hour, change + hour),  # across the change
        (change, change + 12 * hour),  # from the instant it changes
        (change - 12 * hour, change),  # up to it
        (change + hour, change + 12 * hour),
        (datetime(2026, 3, 8, 6, 59, tzinfo=UTC), datetime(2026, 3, 8, 7, 1, tzinfo=UTC)),
    ]
    steady = []
    for since, until in spans:
        [(name, clock)] = _clocks(("America/New_York",), since, until)
        assert name == "America/New_York"
        crossed = since < change < until or since < datetime(2026, 3, 8, 7, tzinfo=UTC) < until
        assert (clock is new_york) == crossed, (since, until)
        steady.append(clock is not new_york)
        step = (until - since) / 50
        for k in range(50):
            at = since + k * step
            assert at.astimezone(clock).isoformat() == at.astimezone(new_york).isoformat()
    assert steady == [False, True, True, True, False]
    [(_, phoenix)] = _clocks(("America/Phoenix",), change - hour, change + hour)  # no DST
    assert phoenix.utcoffset(None) == timedelta(hours=-7)
