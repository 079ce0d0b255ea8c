"""The shipped calling rules (data/calling_rules.csv) and the holiday calendars they name."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import TypeVar

import holidays

from app.rules.caps import FrequencyCap
from app.rules.model import CONFIDENCES, Jurisdiction, Window

T = TypeVar("T")
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "calling_rules.csv"
COLUMNS = ("id", "mon_fri", "sat", "sun", "holidays", "source", "confidence")


def load_jurisdictions(path: Path = DEFAULT_PATH) -> dict[str, Jurisdiction]:
    """Every jurisdiction in the file by id; a malformed row fails the load, naming its line."""
    return _load(path, COLUMNS, _jurisdiction)


def _load(
    path: Path, columns: tuple[str, ...], build: Callable[[dict[str, str]], T]
) -> dict[str, T]:
    """A data file's rows by their `id`: exactly these columns, each row built by `build`; a
    malformed row or a repeated id fails the load, naming its line."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, strict=True)
        if tuple(reader.fieldnames or ()) != columns:
            raise ValueError(f"{path}: header is {reader.fieldnames}, expected {list(columns)}")
        loaded: dict[str, T] = {}
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                if None in row or any(row[column] is None for column in columns):
                    raise ValueError(f"expected {len(columns)} columns")
                value = build(row)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from exc
            if row["id"] in loaded:
                raise ValueError(f"{where}: {row['id']} is listed twice")
            loaded[row["id"]] = value
    return loaded


def _jurisdiction(row: dict[str, str]) -> Jurisdiction:
    weekday, saturday, sunday = (_window(row[c]) for c in ("mon_fri", "sat", "sun"))
    if not row["id"]:
        raise ValueError("id is empty")
    return Jurisdiction(
        id=row["id"],
        windows=(weekday,) * 5 + (saturday, sunday),
        holiday_calendars=tuple(row["holidays"].split()),
        source=row["source"],
        confidence=row["confidence"],
    )


def _window(text: str) -> Window | None:
    if text == "none":
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"window {text!r} is neither 'none' nor HH:MM-HH:MM")
    return Window(_clock(start), _clock(end))


def _clock(text: str) -> time:
    hours, sep, minutes = text.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and (hours + minutes).isdigit()):
        raise ValueError(f"time {text!r} is not HH:MM")
    return time(int(hours), int(minutes))


class HolidayCalendars:
    """`(calendar, date) -> holiday name or None` over the holidays package.

    A calendar id is a country, optionally with a subdivision: "US" is the federal calendar,
    "US-AL" Alabama's. Calendars are built per year on first use and kept.
    """

    def __init__(self) -> None:
        self._built: dict[tuple[str, int], holidays.HolidayBase] = {}

    def __call__(self, calendar: str, day: date) -> str | None:
        key = (calendar, day.year)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = _build(calendar, day.year)
        name: str | None = built.get(day)
        return name


def _build(calendar: str, year: int) -> holidays.HolidayBase:
    country, _, subdivision = calendar.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError as exc:
        raise ValueError(f"unknown holiday calendar {calendar!r}") from exc


CAPS_PATH = Path(__file__).resolve().parents[2] / "data" / "frequency_caps.csv"
CAP_COLUMNS = ("id", "max_calls", "within_hours", "per", "since", "source", "confidence")


def load_frequency_caps(path: Path = CAPS_PATH) -> dict[str, FrequencyCap]:
    """The laws' frequency caps (data/frequency_caps.csv) by jurisdiction id; a malformed row
    fails the load, naming its line."""
    return _load(path, CAP_COLUMNS, _cap)


def _cap(row: dict[str, str]) -> FrequencyCap:
    if row["confidence"] not in CONFIDENCES:
        raise ValueError(f"confidence {row['confidence']!r} is not one of {CONFIDENCES}")
    return FrequencyCap(
        id=row["id"],
        max_calls=int(row["max_calls"]),
        within_hours=int(row["within_hours"]),
        per=row["per"],
        since=date.fromisoformat(row["since"]) if row["since"] else None,
        source=row["source"],
        confidence=row["confidence"],
    )
