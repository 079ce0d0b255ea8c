"""Frequency caps, pure: counting windows are half-open, and `next_allowed` is the first instant
every cap and every calling window allow, checked against a brute-force search minute by minute
over caps x windows x the days the clocks change (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.caps import Attempt, FrequencyCap, blocking, next_allowed
from app.rules.data import HolidayCalendars, load_frequency_caps, load_jurisdictions
from app.rules.engine import evaluate
from app.rules.model import Jurisdiction

LAWS = load_jurisdictions()
CAPS = load_frequency_caps()
FLORIDA = [LAWS["US"], LAWS["US-FL"]]
T0 = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def test_an_attempt_counts_from_its_instant_up_to_not_including_its_end() -> None:
    cap = FrequencyCap("US-FL", 1, 24)
    attempt = Attempt(T0, "default")
    assert blocking([cap], None, [attempt], T0, "default") is not None
    end = T0 + timedelta(hours=24)
    assert blocking([cap], None, [attempt], end - timedelta(microseconds=1), "default")
    assert blocking([cap], None, [attempt], end, "default") is None
    # before it, a call is refused while a window holding both would exceed the cap (fail
    # closed: the attempt may have been reported, or reserved, for a later instant)
    assert blocking([cap], None, [attempt], T0 - timedelta(hours=24), "default") is None
    early = T0 - timedelta(hours=24) + timedelta(microseconds=1)
    assert blocking([cap], None, [attempt], early, "default") is not None


def test_a_law_applies_from_its_first_day() -> None:
    oregon = CAPS["US-OR"]
    attempts = [Attempt(datetime(2025, 12, 31, 20, tzinfo=UTC), "default")] * 3
    before = datetime(2025, 12, 31, 21, tzinfo=UTC)
    assert blocking([oregon], None, attempts, before, "default") is None
    late = [Attempt(datetime(2026, 1, 1, 1, tzinfo=UTC), "default")] * 3
    assert blocking([oregon], None, late, datetime(2026, 1, 1, 2, tzinfo=UTC), "default")


def _hours(zones: list[str], laws: list[Jurisdiction]) -> object:
    holidays = HolidayCalendars()

    def at(t: datetime) -> tuple[bool, datetime | None]:
        verdict = evaluate(
            zones=zones, at=t, jurisdictions=laws, bans=[], policy=None, is_holiday=holidays
        )
        return verdict.allowed, verdict.next_allowed_at

    return at


def _open(zones: list[str], laws: list[Jurisdiction], t: datetime) -> bool:
    """Brute force, independent of the engine: every zone's local time inside every law's
    window of that local day (Florida and the US have no banned days)."""
    for zone in zones:
        local = t.astimezone(pytz.timezone(zone))
        for law in laws:
            window = law.windows[local.weekday()]
            if window is None or not window.start <= local.time().replace(tzinfo=None) < window.end:
                return False
    return True


def test_a_call_that_would_overfill_a_later_window_is_refused() -> None:
    cap = FrequencyCap("US-FL", 3, 24)
    later = [Attempt(T0 + timedelta(hours=h), "default") for h in (1, 2, 3)]
    block = blocking([cap], None, later, T0, "default")
    assert block is not None
    assert [a.at for a in block.attempts] == [a.at for a in later]
    # a day before the first of them there is room again
    assert blocking([cap], None, later, T0 - timedelta(hours=23), "default") is None


STEP = timedelta(minutes=10)  # every instant of the brute force lies on this grid


def _fullest(cap: FrequencyCap, attempts: list[Attempt], t: datetime, purpose: str) -> int:
    """Brute force, independent of app.rules.caps: the most attempts any window of the cap's
    length holding `t` holds, trying every start on the grid."""
    best = 0
    start = t - cap.window + STEP
    while start <= t:
        inside = sum(
            1
            for a in attempts
            if start <= a.at < start + cap.window and (cap.per == "number" or a.purpose == purpose)
        )
        best = max(best, inside)
        start += STEP
    return best


def _free(
    caps: list[FrequencyCap], quiet: int | None, attempts: list[Attempt], t: datetime
) -> bool:
    for cap in caps:
        if cap.applies(t) and _fullest(cap, attempts, t, "a") >= cap.max_calls:
            return False
    if quiet:
        span = timedelta(hours=quiet)
        if any(a.disposition == "connected" and a.at <= t < a.at + span for a in attempts):
            return False
    return True


steps = st.integers(min_value=-18 * 6, max_value=18 * 6)  # within 18 hours, on the grid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.sampled_from(
        # the spring and autumn changes of 2026 and an ordinary day
        [
            datetime(2026, 3, 8, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 6, 15, tzinfo=UTC),
        ]
    ),
    start=st.integers(min_value=0, max_value=24 * 6 - 1),
    offsets=st.lists(
        st.tuples(
            steps, st.sampled_from(["a", "b"]), st.sampled_from([None, "no_answer", "connected"])
        ),
        max_size=6,
    ),
    zones=st.sampled_from(
        [["America/New_York"], ["America/Chicago"], ["America/Chicago", "America/New_York"]]
    ),
    tenant=st.sampled_from([None, (2, 6, "number"), (4, 12, "number_and_purpose")]),
    quiet=st.sampled_from([None, 4]),
)
def test_next_allowed_matches_a_brute_force_search(
    day: datetime,
    start: int,
    offsets: list[tuple[int, str, str | None]],
    zones: list[str],
    tenant: tuple[int, int, str] | None,
    quiet: int | None,
) -> None:
    at = day + start * STEP
    attempts = [Attempt(at + m * STEP, p, d) for m, p, d in offsets]
    caps = [CAPS["US-FL"]]
    if tenant is not None:
        caps.append(FrequencyCap("policy", tenant[0], tenant[1], tenant[2]))
    found = next_allowed(caps, quiet, attempts, at, "a", _hours(zones, FLORIDA))  # type: ignore[arg-type]

    t = at
    expected = None
    for _ in range(3 * 24 * 6):
        if _open(zones, FLORIDA, t) and _free(caps, quiet, attempts, t):
            expected = t
            break
        t += STEP
    assert expected is not None  # within three days something is always open
    assert found == expected
