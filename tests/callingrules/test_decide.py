"""decide_hours: number, instant, recipient state and tenant -> zones, jurisdictions, verdict."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import pytz

from app.areacodes.data import load_area_codes
from app.callingrules.decide import HoursDecision, decide_hours
from app.core.errors import ValidationFailed
from app.numbers.parsing import parse_strict
from app.reference.snapshot import Snapshot, build_snapshot
from app.rules.data import HolidayCalendars, load_jurisdictions
from app.rules.model import Ban, Policy, Window

CODES = load_area_codes()
LAWS = load_jurisdictions()
HOLIDAYS = HolidayCalendars()


def snapshot(**extras: object) -> Snapshot:
    return build_snapshot(CODES, extras)


def decide(
    phone: str,
    at: str,
    *,
    state: str | None = None,
    tenant: str | None = None,
    snap: Snapshot | None = None,
) -> HoursDecision:
    snap = snap or snapshot()
    return decide_hours(
        number=parse_strict(phone, snap.in_service),
        at=datetime.fromisoformat(at),
        recipient_state=state,
        tenant_id=tenant,
        snapshot=snap,
        laws=LAWS,
        holidays=HOLIDAYS,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_api_example_california() -> None:
    result = decide("+14155551234", "2026-11-23T18:30:00Z")
    assert result.zones == ("America/Los_Angeles",)
    assert result.jurisdictions == ("US", "US-CA")
    assert result.verdict.allowed
    assert result.verdict.allowed_until == utc("2026-11-24T05:00:00Z")  # 21:00 PST


def test_florida_evening_is_refused_by_state_law() -> None:
    result = decide("+13055551234", "2026-11-24T01:30:00Z")  # 20:30 EST
    assert not result.verdict.allowed
    assert result.verdict.rule == "US-FL: 08:00-20:00"
    assert result.verdict.next_allowed_at == utc("2026-11-24T13:00:00Z")  # 08:00 EST


def test_recipient_state_adds_its_zones_and_rules() -> None:
    # Sunday 11:00 in Chicago: fine for California, but Texas allows Sundays from 12:00
    result = decide("+14155551234", "2026-11-22T17:00:00Z", state="TX")
    assert {"America/Chicago", "America/Los_Angeles"} <= set(result.zones)
    assert result.jurisdictions == ("US", "US-CA", "US-TX")
    assert not result.verdict.allowed
    assert result.verdict.rule is not None
    assert result.verdict.rule.startswith("US-TX")


def test_unknown_recipient_state_is_validation_failed() -> None:
    with pytest.raises(ValidationFailed):
        decide("+14155551234", "2026-11-23T18:30:00Z", state="ZZ")


def test_caribbean_country_gets_the_conservative_default() -> None:
    result = decide("+18765551234", "2026-11-23T18:30:00Z")  # Jamaica
    assert result.jurisdictions == ("JM",)
    assert result.verdict.allowed


def test_canadian_number_uses_the_crtc_rule() -> None:
    result = decide("+14165551234", "2026-11-22T14:30:00Z")  # Sunday 09:30 in Toronto
    assert result.jurisdictions == ("CA", "CA-ON")
    assert not result.verdict.allowed
    assert result.verdict.rule is not None
    assert result.verdict.rule.startswith("CA:")


def test_toll_free_number_has_every_us_zone() -> None:
    result = decide("+18005551234", "2026-11-23T18:30:00Z")
    assert {"Pacific/Honolulu", "America/New_York", "Pacific/Guam"} <= set(result.zones)
    assert result.jurisdictions == ("US",)


def test_declared_ban_applies_only_in_its_jurisdiction() -> None:
    ban = Ban(
        "ban_1", "US-LA", utc("2026-11-23T00:00:00Z"), utc("2026-11-25T00:00:00Z"), "hurricane"
    )
    snap = snapshot(bans=(ban,))
    louisiana = decide("+15045551234", "2026-11-23T18:30:00Z", snap=snap)
    assert not louisiana.verdict.allowed
    assert louisiana.verdict.rule == "ban ban_1 (US-LA): hurricane"
    assert louisiana.verdict.next_allowed_at is not None
    assert louisiana.verdict.next_allowed_at >= utc("2026-11-25T00:00:00Z")
    assert decide("+12125551234", "2026-11-23T18:30:00Z", snap=snap).verdict.allowed


def test_tenant_policy_narrows_and_cannot_widen() -> None:
    nine_to_five = Window(time(9), time(17))
    wide = Window(time(6), time(23))
    snap = snapshot(
        policies={
            "ten_narrow": Policy((nine_to_five,) * 7, frozenset({date(2026, 12, 24)})),
            "ten_wide": Policy((wide,) * 7),
        }
    )
    # 18:00 in New York on a Monday: the law allows it, the narrow policy does not
    at = "2026-11-23T23:00:00Z"
    assert decide("+12125551234", at, snap=snap).verdict.allowed
    narrow = decide("+12125551234", at, tenant="ten_narrow", snap=snap).verdict
    assert not narrow.allowed
    assert narrow.rule == "tenant policy: 09:00-17:00"
    # 22:00 in New York: the wide policy would allow it, the law does not
    late = decide("+12125551234", "2026-11-24T03:00:00Z", tenant="ten_wide", snap=snap).verdict
    assert not late.allowed
    assert late.rule == "US: 08:00-21:00"
    # and a policy's banned date holds even inside the window
    xmas_eve = decide("+12125551234", "2026-12-24T15:00:00Z", tenant="ten_narrow", snap=snap)
    assert not xmas_eve.verdict.allowed


MULTI_ZONE = (
    "208 986 219 250 270 364 308 418 423 729 541 458 574 605 606 620 701 709 879 775 785 "
    "807 812 930 850 448 867 906 907 915 928 931"
).split()


@pytest.mark.parametrize("npa", MULTI_ZONE)
def test_multi_zone_area_code_must_be_allowed_in_every_zone(npa: str) -> None:
    result = decide(f"+1{npa}2345678", "2026-11-24T12:30:00Z")  # 07:30 in New York
    assert set(result.zones) == set(CODES[npa].time_zones)
    assert len(result.zones) > 1
    assert not result.verdict.allowed  # 07:30 or earlier in every NANP zone
    opens = result.verdict.next_allowed_at
    assert opens is not None
    local = [opens.astimezone(pytz.timezone(zone)).time() for zone in result.zones]
    assert all(time(8) <= t < time(21) for t in local), dict(zip(result.zones, local, strict=True))
    # allowed from that instant in every zone, and not one second before
    assert decide(f"+1{npa}2345678", opens.isoformat()).verdict.allowed
    before = (opens - timedelta(seconds=1)).isoformat()
    assert not decide(f"+1{npa}2345678", before).verdict.allowed


@pytest.mark.parametrize("state", ["PE", "YT", "NU", "tx"])
def test_every_province_and_lowercase_states_are_recipient_states(state: str) -> None:
    result = decide("+14165551234", "2026-11-23T18:30:00Z", state=state)
    assert result.jurisdictions[-1].endswith(state.upper())
