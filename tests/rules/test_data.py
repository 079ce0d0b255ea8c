from datetime import date
from pathlib import Path

import pytest

from app.rules import HolidayCalendars, load_jurisdictions
from app.rules.data import COLUMNS
from tests.rules.support import HOLIDAYS, JURISDICTIONS

ALL_IDS = {
    "US", "US-AL", "US-CT", "US-FL", "US-KY", "US-LA", "US-MA", "US-MD", "US-MS", "US-OK",
    "US-PA", "US-RI", "US-TX", "US-UT", "US-WA", "CA", "DEFAULT",
}  # fmt: skip


def test_shipped_file_has_every_jurisdiction_of_rules_md() -> None:
    assert set(JURISDICTIONS) == ALL_IDS


def test_every_row_cites_a_source_and_a_confidence() -> None:
    for jurisdiction in JURISDICTIONS.values():
        assert jurisdiction.source
        assert jurisdiction.confidence in {"confirmed", "unconfirmed"}


@pytest.mark.parametrize(
    ("jurisdiction", "calendars"),
    [("US-AL", ("US-AL",)), ("US-LA", ("US-LA",)), ("US-MS", ("US",)), ("US-PA", ("US-PA",)),
     ("US-RI", ("US-RI", "US")), ("US-UT", ("US-UT",)), ("US", ()), ("CA", ())],
)  # fmt: skip
def test_banned_days_name_their_holiday_calendars(
    jurisdiction: str, calendars: tuple[str, ...]
) -> None:
    assert JURISDICTIONS[jurisdiction].holiday_calendars == calendars


def test_every_named_calendar_exists() -> None:
    for jurisdiction in JURISDICTIONS.values():
        for calendar in jurisdiction.holiday_calendars:
            assert HOLIDAYS(calendar, date(2026, 12, 25)) == "Christmas Day"


def test_holiday_calendars_tell_state_from_federal() -> None:
    confederate_memorial_day = date(2026, 4, 27)
    assert HOLIDAYS("US-AL", confederate_memorial_day) == "Confederate Memorial Day"
    assert HOLIDAYS("US", confederate_memorial_day) is None
    assert HOLIDAYS("US", date(2026, 12, 24)) is None


def test_unknown_calendar_fails() -> None:
    with pytest.raises(ValueError, match="US-ZZ"):
        HolidayCalendars()("US-ZZ", date(2026, 1, 1))


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "rules.csv"
    path.write_text("\n".join([",".join(COLUMNS), *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "row",
    [
        "US,08:00-21:00,08:00-21:00,8-21,,cite,confirmed",
        "US,08:00-21:00,08:00-21:00,21:00-08:00,,cite,confirmed",
        "US,08:00-21:00,08:00-21:00,none,,cite,probably",
        "US,08:00-21:00,08:00-21:00,none,,cite",
        "US,08:00-21:00,08:00-21:00,none,,cite,confirmed,extra",
    ],
)
def test_malformed_row_fails_naming_its_line(tmp_path: Path, row: str) -> None:
    with pytest.raises(ValueError, match=r"rules\.csv:2"):
        load_jurisdictions(_write(tmp_path, row))


def test_duplicate_jurisdiction_fails(tmp_path: Path) -> None:
    row = "US,08:00-21:00,08:00-21:00,none,,cite,confirmed"
    with pytest.raises(ValueError, match="twice"):
        load_jurisdictions(_write(tmp_path, row, row))


def test_wrong_header_fails(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text("id,windows\nUS,none\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_jurisdictions(path)
