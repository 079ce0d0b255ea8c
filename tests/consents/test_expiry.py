"""A consent's default expiry (RULES.md section 6): calendar months in UTC, a day the target month
lacks ending on its last day; by basis and the number's country."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.consents.expiry import add_months, default_expiry


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # a day the target month lacks: its last day, leap years included
        (_utc(2024, 1, 31, 9, 15), 1, _utc(2024, 2, 29, 9, 15)),
        (_utc(2025, 1, 31, 9, 15), 1, _utc(2025, 2, 28, 9, 15)),
        (_utc(2025, 11, 30, 23, 59, 59), 3, _utc(2026, 2, 28, 23, 59, 59)),
        (_utc(2023, 11, 30), 3, _utc(2024, 2, 29)),
        (_utc(2025, 8, 31, 12), 6, _utc(2026, 2, 28, 12)),
        (_utc(2023, 8, 31, 12), 6, _utc(2024, 2, 29, 12)),
        (_utc(2022, 8, 31), 18, _utc(2024, 2, 29)),
        (_utc(2023, 8, 31), 18, _utc(2025, 2, 28)),
        (_utc(2025, 5, 31), 1, _utc(2025, 6, 30)),
        (_utc(2025, 3, 31), 18, _utc(2026, 9, 30)),
        # the same day when the target month has it (never moved to the month's end)
        (_utc(2024, 2, 29), 12, _utc(2025, 2, 28)),
        (_utc(2023, 2, 28), 12, _utc(2024, 2, 28)),
        (_utc(2024, 2, 29), 48, _utc(2028, 2, 29)),
        (_utc(2026, 1, 15, 8, 30), 18, _utc(2027, 7, 15, 8, 30)),
        # across a year's end
        (_utc(2025, 12, 31, 23), 2, _utc(2026, 2, 28, 23)),
        (_utc(2025, 10, 31), 3, _utc(2026, 1, 31)),
        # 1900 is not a leap year, 2000 is
        (_utc(1899, 12, 31), 2, _utc(1900, 2, 28)),
        (_utc(1999, 11, 30), 3, _utc(2000, 2, 29)),
        (_utc(2026, 3, 1), 0, _utc(2026, 3, 1)),
    ],
)
def test_calendar_months_end_on_the_last_day_of_a_shorter_month(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_months_are_counted_in_utc_whatever_the_offset_given() -> None:
    # 23:30 on Jan 31 in New York is 04:30 on Feb 1 in UTC: one month later is Mar 1, 04:30 UTC
    new_york = timezone(timedelta(hours=-5))
    result = add_months(datetime(2026, 1, 31, 23, 30, tzinfo=new_york), 1)
    assert result == _utc(2026, 3, 1, 4, 30)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("basis", "country", "expected"),
    [
        ("ebr_transaction", "US", _utc(2027, 7, 31, 10)),
        ("ebr_transaction", "CA", _utc(2027, 7, 31, 10)),
        ("ebr_inquiry", "US", _utc(2026, 4, 30, 10)),
        ("ebr_inquiry", "CA", _utc(2026, 7, 31, 10)),
        # other NANP countries take the US durations
        ("ebr_inquiry", "JM", _utc(2026, 4, 30, 10)),
        ("ebr_inquiry", None, _utc(2026, 4, 30, 10)),
        ("express_written_consent", "US", None),
        ("express_written_consent", "CA", None),
    ],
)
def test_default_expiry_by_basis_and_country(
    basis: str, country: str | None, expected: datetime | None
) -> None:
    assert default_expiry(basis, _utc(2026, 1, 31, 10), country) == expected


INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)
)
# the days that make calendar months hard: month ends, leap days, the 28th to the 31st
MONTH_ENDS = st.builds(
    lambda year, month, seconds: (
        _utc(year, month, calendar.monthrange(year, month)[1])
        - timedelta(days=seconds // 86400, seconds=seconds % 86400)
    ),
    st.integers(1900, 2199),
    st.integers(1, 12),
    st.integers(0, 4 * 86400 - 1),
)


@given(start=st.one_of(INSTANTS, MONTH_ENDS), months=st.integers(0, 600))
@example(start=_utc(2024, 1, 31), months=1)
@example(start=_utc(2024, 2, 29), months=12)
@example(start=_utc(2099, 12, 31, 23, 59, 59, 999999), months=2)
def test_add_months_is_calendar_months(start: datetime, months: int) -> None:
    result = add_months(start, months)
    # exactly `months` months on, in UTC
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.tzinfo is UTC
    # the same day, or the target month's last day when it has no such day
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(start.day, last)
    # the same time of day
    assert result.time() == start.time()
    # never earlier, and never past the same day of the month after
    assert start <= result < start + timedelta(days=31 * months + 1)


@given(a=INSTANTS, b=INSTANTS, months=st.integers(0, 240))
def test_add_months_keeps_the_order_of_instants(a: datetime, b: datetime, months: int) -> None:
    early, late = sorted((a, b))
    assert add_months(early, months) <= add_months(late, months)


@given(start=MONTH_ENDS, months=st.integers(1, 240))
def test_a_month_end_lands_on_a_month_end_or_its_own_day(start: datetime, months: int) -> None:
    result = add_months(start, months)
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == start.day or result.day == last
