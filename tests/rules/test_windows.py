"""Every jurisdiction's week, at its boundaries: start inclusive, end exclusive."""

from datetime import datetime, timedelta

import pytest

from tests.rules.support import JURISDICTIONS, check, local

SECOND = timedelta(seconds=1)

# id: (Mon-Fri, Sat, Sun, a zone it is in), copied from RULES.md section 1, not from the CSV.
TABLE = {
    "US": ("08:00-21:00", "08:00-21:00", "08:00-21:00", "America/New_York"),
    "US-AL": ("08:00-20:00", "08:00-20:00", None, "America/Chicago"),
    "US-CT": ("09:00-20:00", "09:00-20:00", "09:00-20:00", "America/New_York"),
    "US-FL": ("08:00-20:00", "08:00-20:00", "08:00-20:00", "America/New_York"),
    "US-KY": ("10:00-21:00", "10:00-21:00", "10:00-21:00", "America/Kentucky/Louisville"),
    "US-LA": ("08:00-20:00", "08:00-20:00", None, "America/Chicago"),
    "US-MA": ("08:00-20:00", "08:00-20:00", "08:00-20:00", "America/New_York"),
    "US-MD": ("08:00-20:00", "08:00-20:00", "08:00-20:00", "America/New_York"),
    "US-MS": ("08:00-20:00", "08:00-20:00", None, "America/Chicago"),
    "US-OK": ("08:00-20:00", "08:00-20:00", "08:00-20:00", "America/Chicago"),
    "US-PA": ("08:00-21:00", "08:00-21:00", "13:30-21:00", "America/New_York"),
    "US-RI": ("09:00-18:00", "10:00-17:00", None, "America/New_York"),
    "US-TX": ("09:00-21:00", "09:00-21:00", "12:00-21:00", "America/Chicago"),
    "US-UT": ("08:00-21:00", "08:00-21:00", None, "America/Denver"),
    "US-WA": ("08:00-20:00", "08:00-20:00", "08:00-20:00", "America/Los_Angeles"),
    "CA": ("09:00-21:30", "10:00-18:00", "10:00-18:00", "America/Toronto"),
    "DEFAULT": ("08:00-21:00", "08:00-21:00", "08:00-21:00", "America/Jamaica"),
}
# A holiday-free week in every calendar the table names: Monday 2026-06-08 to Sunday 06-14.
DAYS = {"Wednesday": "2026-06-10", "Saturday": "2026-06-13", "Sunday": "2026-06-14"}
CASES = [
    (jid, day, hours, zone)
    for jid, (weekday, saturday, sunday, zone) in TABLE.items()
    for day, hours in zip(DAYS, (weekday, saturday, sunday), strict=True)
]
OPEN_DAYS = [(jid, day, hours, zone) for jid, day, hours, zone in CASES if hours is not None]
CLOSED_DAYS = [(jid, day, zone) for jid, day, hours, zone in CASES if hours is None]


def test_table_matches_the_shipped_file() -> None:
    assert set(TABLE) == set(JURISDICTIONS)
    for jid, (weekday, saturday, sunday, _) in TABLE.items():
        shipped = [None if w is None else str(w) for w in JURISDICTIONS[jid].windows]
        assert shipped == [weekday] * 5 + [saturday, sunday]


@pytest.mark.parametrize(("jid", "day", "hours", "zone"), OPEN_DAYS)
def test_window_opens_inclusive_and_closes_exclusive(
    jid: str, day: str, hours: str, zone: str
) -> None:
    start, end = hours.split("-")
    opens, closes = local(zone, f"{DAYS[day]}T{start}"), local(zone, f"{DAYS[day]}T{end}")
    rule = f"{jid}: {hours}"

    before = check(opens - SECOND, zone, rules=[jid])
    assert (before.allowed, before.rule, before.next_allowed_at) == (False, rule, opens)
    at_open = check(opens, zone, rules=[jid])
    assert (at_open.allowed, at_open.rule, at_open.allowed_until) == (True, None, closes)
    assert check(closes - SECOND, zone, rules=[jid]).allowed
    at_close = check(closes, zone, rules=[jid])
    assert (at_close.allowed, at_close.rule) == (False, rule)


@pytest.mark.parametrize(("jid", "day", "zone"), CLOSED_DAYS)
def test_day_without_window_refuses_all_day(jid: str, day: str, zone: str) -> None:
    noon = check(local(zone, f"{DAYS[day]}T12:00"), zone, rules=[jid])
    assert (noon.allowed, noon.rule) == (False, f"{jid}: no calls on {day}")
    monday_start = TABLE[jid][0].split("-")[0]
    assert noon.next_allowed_at == local(zone, f"2026-06-15T{monday_start}")


def test_pennsylvania_sunday_opens_at_half_past_one() -> None:
    zone = "America/New_York"
    assert not check(local(zone, "2026-06-14T13:29:59"), zone, rules=["US", "US-PA"]).allowed
    assert check(local(zone, "2026-06-14T13:30"), zone, rules=["US", "US-PA"]).allowed


def test_texas_sunday_opens_at_noon() -> None:
    zone = "America/Chicago"
    morning = check(local(zone, "2026-06-14T11:00"), zone, rules=["US", "US-TX"])
    assert (morning.rule, morning.next_allowed_at) == (
        "US-TX: 12:00-21:00",
        local(zone, "2026-06-14T12:00"),
    )


def test_rhode_island_saturday_is_shorter() -> None:
    zone = "America/New_York"
    late = check(local(zone, "2026-06-13T17:00"), zone, rules=["US", "US-RI"])
    assert (late.allowed, late.rule) == (False, "US-RI: 10:00-17:00")
    # Sunday has no window, so the next chance is Monday 09:00.
    assert late.next_allowed_at == local(zone, "2026-06-15T09:00")


def test_canada_saturday_closes_at_six() -> None:
    zone = "America/Vancouver"
    verdict = check(local(zone, "2026-06-13T12:00"), zone, rules=["CA"])
    assert verdict.allowed_until == local(zone, "2026-06-13T18:00")


def test_first_failing_jurisdiction_in_given_order_is_named() -> None:
    zone = "America/New_York"
    early = local(zone, "2026-06-10T07:00")
    assert check(early, zone, rules=["US", "US-CT"]).rule == "US: 08:00-21:00"
    assert check(early, zone, rules=["US-CT", "US"]).rule == "US-CT: 09:00-20:00"


def test_local_times_show_each_zone_at_the_instant() -> None:
    at = local("America/New_York", "2026-06-10T12:00")
    verdict = check(at, "America/New_York", "America/Chicago")
    assert [(zone, t.isoformat()) for zone, t in verdict.local_times] == [
        ("America/New_York", "2026-06-10T12:00:00-04:00"),
        ("America/Chicago", "2026-06-10T11:00:00-05:00"),
    ]


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        check(datetime(2026, 6, 10, 12), "America/New_York")


def test_no_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        check(local("America/New_York", "2026-06-10T12:00"))
