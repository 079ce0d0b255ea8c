"""Properties of the verdict that must hold for any zones, rules and instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import HORIZON, Ban, Policy, Verdict, Window
from tests.rules.support import JURISDICTIONS, check

SECOND = timedelta(seconds=1)
ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
    "Pacific/Guam", "America/St_Johns", "America/Halifax", "America/Toronto",
    "America/Regina", "America/Whitehorse", "America/Adak", "Pacific/Pago_Pago",
]  # fmt: skip
# Transitions where boundaries land in gaps and repeated hours more often than by chance.
DST_DAYS = [date(2025, 3, 9), date(2025, 11, 2), date(2026, 3, 8), date(2026, 11, 1),
            date(2027, 3, 14), date(2027, 11, 7)]  # fmt: skip


@dataclass(frozen=True)
class Case:
    zones: tuple[str, ...]
    rules: tuple[str, ...]
    tenant: Policy | None
    bans: tuple[Ban, ...]

    def verdict(self, at: datetime) -> Verdict:
        return check(at, *self.zones, rules=self.rules, bans=self.bans, tenant=self.tenant)

    def allowed_at(self, at: datetime) -> bool:
        return self.verdict(at).allowed


anytime = st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
near_dst = st.builds(
    lambda day, seconds: datetime.combine(day, time(), UTC) + timedelta(seconds=seconds),
    st.sampled_from(DST_DAYS),
    st.integers(-86_400, 2 * 86_400),
)
instants = st.one_of(anytime.map(lambda t: t.replace(microsecond=0)), near_dst, anytime)


@st.composite
def windows(draw: st.DrawFn) -> Window | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    start, end = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=2, max_size=2)))
    if start == end:
        return None
    return Window(time(*divmod(start, 60)), time(*divmod(end, 60)))


policies = st.builds(
    Policy,
    windows=st.tuples(*[windows()] * 7),
    banned_dates=st.frozensets(st.dates(date(2025, 1, 1), date(2028, 1, 31)), max_size=5),
)


@st.composite
def bans(draw: st.DrawFn) -> Ban:
    starts = draw(anytime).replace(microsecond=0)
    length = draw(st.integers(1, 20 * 86_400))
    return Ban("ban_p", "US", starts, starts + timedelta(seconds=length), "test")


cases = st.builds(
    Case,
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=4, unique=True).map(tuple),
    rules=st.lists(st.sampled_from(sorted(JURISDICTIONS)), min_size=1, max_size=3, unique=True).map(
        tuple
    ),
    tenant=st.none() | policies,
    bans=st.lists(bans(), max_size=2).map(tuple),
)
PROPERTY = settings(deadline=None, max_examples=200)


@PROPERTY
@given(case=cases, at=instants)
def test_verdict_agrees_with_itself(case: Case, at: datetime) -> None:
    verdict = case.verdict(at)
    assert verdict.allowed == (verdict.rule is None)
    assert verdict.allowed == (verdict.next_allowed_at == at)
    assert verdict.allowed == (verdict.allowed_until is not None)


@PROPERTY
@given(case=cases, at=instants)
def test_next_allowed_at_is_the_first_allowed_instant(case: Case, at: datetime) -> None:
    found = case.verdict(at).next_allowed_at
    if found is None:
        return
    assert at <= found <= at + HORIZON
    assert case.allowed_at(found)
    if found != at:
        assert found.microsecond == 0
        assert not case.allowed_at(found - SECOND)
        assert not case.allowed_at(at + (found - at) / 2)


@PROPERTY
@given(case=cases, at=instants)
def test_allowed_until_is_the_first_refused_instant(case: Case, at: datetime) -> None:
    until = case.verdict(at).allowed_until
    if until is None:
        return
    assert until.microsecond == 0
    assert not case.allowed_at(until)
    assert case.allowed_at(until - SECOND)
    assert case.allowed_at(at + (until - at) / 2)
