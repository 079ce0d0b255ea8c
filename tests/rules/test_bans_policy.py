"""Holidays, declared bans and a tenant's own policy, on top of the law."""

from datetime import timedelta

from app.rules import Ban
from tests.rules.support import check, local, policy, utc

CHICAGO = "America/Chicago"
NEW_YORK = "America/New_York"


def test_alabama_refuses_christmas_and_reopens_next_morning() -> None:
    christmas = check(local(CHICAGO, "2026-12-25T09:00"), CHICAGO, rules=["US", "US-AL"])
    assert (christmas.allowed, christmas.rule) == (False, "US-AL: holiday (Christmas Day)")
    assert christmas.next_allowed_at == local(CHICAGO, "2026-12-26T08:00")


def test_holiday_follows_the_called_partys_local_date() -> None:
    # 23:30 on Christmas Eve in Chicago is already Christmas Day UTC.
    eve = check(local(CHICAGO, "2026-12-24T19:30"), CHICAGO, rules=["US-AL"])
    assert (eve.allowed, eve.allowed_until) == (True, local(CHICAGO, "2026-12-24T20:00"))


def test_rhode_island_bans_its_own_holidays() -> None:
    victory_day = check(local(NEW_YORK, "2026-08-10T12:00"), NEW_YORK, rules=["US", "US-RI"])
    assert victory_day.rule == "US-RI: holiday (Victory Day)"


def test_mississippi_bans_federal_holidays() -> None:
    labor_day = check(local(CHICAGO, "2026-09-07T12:00"), CHICAGO, rules=["US", "US-MS"])
    assert labor_day.rule == "US-MS: holiday (Labor Day)"


HURRICANE = Ban(
    id="ban_x",
    jurisdiction="US-LA",
    starts_at=utc("2026-08-10T00:00"),
    ends_at=utc("2026-08-11T18:00"),  # Tuesday 13:00 in Louisiana
    reason="hurricane",
)


def test_declared_ban_refuses_and_names_itself() -> None:
    verdict = check(utc("2026-08-10T16:00"), CHICAGO, rules=["US", "US-LA"], bans=[HURRICANE])
    assert (verdict.allowed, verdict.rule) == (False, "ban ban_x (US-LA): hurricane")
    assert verdict.next_allowed_at == HURRICANE.ends_at


def test_window_failure_is_named_before_the_ban() -> None:
    night = check(utc("2026-08-10T06:00"), CHICAGO, rules=["US", "US-LA"], bans=[HURRICANE])
    assert night.rule == "US: 08:00-21:00"


def test_ban_ending_at_night_reopens_with_the_window() -> None:
    ban = Ban("ban_y", "US-LA", utc("2026-08-10T00:00"), utc("2026-08-11T03:00"), "flood")
    verdict = check(utc("2026-08-10T16:00"), CHICAGO, rules=["US", "US-LA"], bans=[ban])
    assert verdict.next_allowed_at == local(CHICAGO, "2026-08-11T08:00")


def test_ban_starting_later_cuts_allowed_until() -> None:
    ban = Ban("ban_z", "US-LA", utc("2026-08-10T20:00"), utc("2026-08-12T00:00"), "storm")
    verdict = check(utc("2026-08-10T16:00"), CHICAGO, rules=["US", "US-LA"], bans=[ban])
    assert (verdict.allowed, verdict.allowed_until) == (True, ban.starts_at)


WEEKDAYS_9_TO_5 = policy(["09:00-17:00"] * 5 + [None, None])


def test_policy_narrower_than_the_law_applies() -> None:
    early = check(local(NEW_YORK, "2026-06-10T08:30"), NEW_YORK, tenant=WEEKDAYS_9_TO_5)
    assert (early.rule, early.next_allowed_at) == (
        "tenant policy: 09:00-17:00",
        local(NEW_YORK, "2026-06-10T09:00"),
    )
    opened = check(local(NEW_YORK, "2026-06-10T09:00"), NEW_YORK, tenant=WEEKDAYS_9_TO_5)
    assert opened.allowed_until == local(NEW_YORK, "2026-06-10T17:00")


def test_policy_day_off_is_named() -> None:
    saturday = check(local(NEW_YORK, "2026-06-13T12:00"), NEW_YORK, tenant=WEEKDAYS_9_TO_5)
    assert saturday.rule == "tenant policy: no calls on Saturday"
    assert saturday.next_allowed_at == local(NEW_YORK, "2026-06-15T09:00")


def test_policy_cannot_widen_the_law() -> None:
    wide = policy(["06:00-23:00"] * 7)
    early = check(local(NEW_YORK, "2026-06-10T07:00"), NEW_YORK, rules=["US", "US-FL"], tenant=wide)
    assert (early.rule, early.next_allowed_at) == (
        "US: 08:00-21:00",
        local(NEW_YORK, "2026-06-10T08:00"),
    )
    day = check(local(NEW_YORK, "2026-06-10T12:00"), NEW_YORK, rules=["US", "US-FL"], tenant=wide)
    assert day.allowed_until == local(NEW_YORK, "2026-06-10T20:00")
    late = check(local(NEW_YORK, "2026-06-10T20:30"), NEW_YORK, rules=["US", "US-FL"], tenant=wide)
    assert late.rule == "US-FL: 08:00-20:00"


def test_policy_banned_date_is_named() -> None:
    tenant = policy(["08:00-21:00"] * 7, banned=["2026-12-24"])
    eve = check(local(NEW_YORK, "2026-12-24T12:00"), NEW_YORK, tenant=tenant)
    assert (eve.rule, eve.next_allowed_at) == (
        "tenant policy: banned date 2026-12-24",
        local(NEW_YORK, "2026-12-25T08:00"),
    )


def test_nothing_allowed_within_fourteen_days_gives_no_next_time() -> None:
    never = check(local(NEW_YORK, "2026-06-10T12:00"), NEW_YORK, tenant=policy([None] * 7))
    assert (never.allowed, never.rule, never.next_allowed_at) == (
        False,
        "tenant policy: no calls on Wednesday",
        None,
    )


def test_opening_just_past_fourteen_days_is_not_offered() -> None:
    at = local(NEW_YORK, "2026-06-10T12:00")
    ban = Ban("ban_long", "US", at - timedelta(days=1), at + timedelta(days=14, hours=1), "quiet")
    assert check(at, NEW_YORK, bans=[ban]).next_allowed_at is None
    shorter = Ban("ban_short", "US", ban.starts_at, at + timedelta(days=14), "quiet")
    assert check(at, NEW_YORK, bans=[shorter]).next_allowed_at == at + timedelta(days=14)
