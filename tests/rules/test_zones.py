"""Daylight-saving days, zones without DST, odd offsets, and many zones at once."""

from datetime import timedelta

import pytest

from app.rules import Policy, Verdict
from tests.rules.support import check, policy, utc

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("zone", "evening_before", "opens", "closes"),
    [
        # Spring forward, Sunday 2026-03-08: 08:00 is already daylight time.
        ("America/New_York", "2026-03-08T03:00", "2026-03-08T12:00", "2026-03-09T01:00"),
        ("America/Los_Angeles", "2026-03-08T06:00", "2026-03-08T15:00", "2026-03-09T04:00"),
        # Fall back, Sunday 2026-11-01: 08:00 is already standard time.
        ("America/New_York", "2026-11-01T02:00", "2026-11-01T13:00", "2026-11-02T02:00"),
        ("America/Los_Angeles", "2026-11-01T05:00", "2026-11-01T16:00", "2026-11-02T05:00"),
    ],
)
def test_us_window_on_dst_day(zone: str, evening_before: str, opens: str, closes: str) -> None:
    overnight = check(utc(evening_before), zone)
    assert (overnight.allowed, overnight.next_allowed_at) == (False, utc(opens))
    assert not check(utc(opens) - SECOND, zone).allowed
    assert check(utc(opens), zone).allowed_until == utc(closes)


@pytest.mark.parametrize(
    ("zone", "evening_before", "opens", "closes"),
    [
        # Canada's Sunday window is 10:00-18:00.
        ("America/Toronto", "2026-03-08T03:00", "2026-03-08T14:00", "2026-03-08T22:00"),
        ("America/Halifax", "2026-03-08T02:00", "2026-03-08T13:00", "2026-03-08T21:00"),
        ("America/Toronto", "2026-11-01T02:00", "2026-11-01T15:00", "2026-11-01T23:00"),
        ("America/Halifax", "2026-11-01T01:00", "2026-11-01T14:00", "2026-11-01T22:00"),
    ],
)
def test_canada_window_on_dst_day(zone: str, evening_before: str, opens: str, closes: str) -> None:
    overnight = check(utc(evening_before), zone, rules=["CA"])
    assert (overnight.rule, overnight.next_allowed_at) == ("CA: 10:00-18:00", utc(opens))
    assert not check(utc(opens) - SECOND, zone, rules=["CA"]).allowed
    assert check(utc(opens), zone, rules=["CA"]).allowed_until == utc(closes)


def tenant_only(at: str, tenant: Policy) -> Verdict:
    return check(utc(at), "America/New_York", rules=[], tenant=tenant)


def test_boundary_in_spring_gap_moves_to_end_of_gap() -> None:
    # 02:30 does not exist in New York on 2026-03-08; 03:00 EDT (07:00Z) is the first instant after.
    sunday_only = policy([None] * 6 + ["02:30-05:00"])
    assert tenant_only("2026-03-08T05:00", sunday_only).next_allowed_at == utc("2026-03-08T07:00")
    assert not tenant_only("2026-03-08T06:59:59", sunday_only).allowed
    assert tenant_only("2026-03-08T07:00", sunday_only).allowed


def test_boundary_in_repeated_hour_never_widens_window() -> None:
    # 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST) on 2026-11-01.
    opening = policy([None] * 6 + ["01:30-04:00"])
    assert tenant_only("2026-11-01T05:30", opening).next_allowed_at == utc("2026-11-01T06:30")
    closing = policy([None] * 6 + ["00:30-01:30"])
    assert tenant_only("2026-11-01T05:00", closing).allowed_until == utc("2026-11-01T05:30")


@pytest.mark.parametrize(
    ("at", "opens", "closes"),
    [
        # Summer: the Navajo Nation (Denver, UTC-6) opens first, Phoenix (UTC-7) closes last.
        ("2026-07-15T14:30", "2026-07-15T15:00", "2026-07-16T03:00"),
        # Winter: both at UTC-7.
        ("2026-01-14T14:30", "2026-01-14T15:00", "2026-01-15T04:00"),
    ],
)
def test_area_code_928_allows_only_where_both_zones_allow(at: str, opens: str, closes: str) -> None:
    zones = ("America/Phoenix", "America/Denver")
    early = check(utc(at), *zones)
    assert (early.rule, early.next_allowed_at) == ("US: 08:00-21:00", utc(opens))
    assert check(utc(opens), *zones).allowed_until == utc(closes)


@pytest.mark.parametrize(
    ("zone", "opens", "closes"),
    [
        ("America/St_Johns", "2026-01-14T12:30", "2026-01-15T01:00"),  # UTC-3:30
        ("America/St_Johns", "2026-07-15T11:30", "2026-07-16T00:00"),  # UTC-2:30
        ("America/Regina", "2026-01-14T15:00", "2026-01-15T03:30"),
        ("America/Regina", "2026-07-15T15:00", "2026-07-16T03:30"),
        ("America/Whitehorse", "2026-01-14T16:00", "2026-01-15T04:30"),
        ("America/Whitehorse", "2026-07-15T16:00", "2026-07-16T04:30"),
    ],
)
def test_canadian_weekday_window_in_utc(zone: str, opens: str, closes: str) -> None:
    early = check(utc(opens) - timedelta(hours=1), zone, rules=["CA"])
    assert (early.rule, early.next_allowed_at) == ("CA: 09:00-21:30", utc(opens))
    assert check(utc(opens), zone, rules=["CA"]).allowed_until == utc(closes)


def test_newfoundland_local_time_has_half_hour_offset() -> None:
    verdict = check(utc("2026-01-14T12:30"), "America/St_Johns", rules=["CA"])
    assert verdict.local_times[0][1].isoformat() == "2026-01-14T09:00:00-03:30"


US_ZONES = (
    "America/New_York", "America/Detroit", "America/Indiana/Indianapolis", "America/Chicago",
    "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "America/Adak", "Pacific/Honolulu", "America/Puerto_Rico",
    "America/St_Thomas", "Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago",
)  # fmt: skip


@pytest.mark.parametrize("day", ["2026-07-15", "2026-01-14"])
def test_toll_free_waits_for_the_hours_every_us_zone_shares(day: str) -> None:
    # 08:00 in Guam (UTC+10) is 22:00Z; 21:00 in Puerto Rico (UTC-4) is 01:00Z the next day.
    morning = check(utc(f"{day}T12:00"), *US_ZONES)
    assert (morning.allowed, morning.rule) == (False, "US: 08:00-21:00")
    assert morning.next_allowed_at == utc(f"{day}T22:00")
    assert check(utc(f"{day}T22:00"), *US_ZONES).allowed_until == (
        utc(f"{day}T22:00") + timedelta(hours=3)
    )
