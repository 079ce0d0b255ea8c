"""Calling-hour rules as values: windows, jurisdictions, bans, a tenant's policy, the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CONFIDENCES = frozenset({"confirmed", "unconfirmed"})


@dataclass(frozen=True, slots=True)
class Window:
    """Local wall-clock hours of one day: start inclusive, end exclusive, never across midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without a time zone")
        if not self.start < self.end:
            raise ValueError(f"window start {self.start} is not before its end {self.end}")

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _check_week(windows: tuple[Window | None, ...]) -> None:
    if len(windows) != 7:
        raise ValueError(f"a week has 7 windows (Monday first), got {len(windows)}")


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """A law's calling windows (index 0 = Monday; None = no calls that day) and banned days."""

    id: str
    windows: tuple[Window | None, ...]
    holiday_calendars: tuple[str, ...]
    source: str
    confidence: str

    def __post_init__(self) -> None:
        _check_week(self.windows)
        if self.confidence not in CONFIDENCES:
            raise ValueError(
                f"{self.id}: confidence {self.confidence!r} is not one of {CONFIDENCES}"
            )

    def rule(self, weekday: int) -> str:
        """The rule of that weekday as shown to callers, e.g. "US-FL: 08:00-20:00"."""
        return _rule_text(self.id, self.windows, weekday)


@dataclass(frozen=True, slots=True)
class Ban:
    """An ad-hoc ban (a declared emergency): no calls in [starts_at, ends_at) where it applies."""

    id: str
    jurisdiction: str
    starts_at: datetime
    ends_at: datetime
    reason: str

    def __post_init__(self) -> None:
        for instant in (self.starts_at, self.ends_at):
            if instant.utcoffset() != timedelta(0):
                raise ValueError(f"ban {self.id}: {instant!r} is not an aware UTC instant")
        if not self.starts_at < self.ends_at:
            raise ValueError(f"ban {self.id}: starts_at is not before ends_at")

    @property
    def rule(self) -> str:
        return f"ban {self.id} ({self.jurisdiction}): {self.reason}"


POLICY_NAME = "tenant policy"


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's own hours; it is applied on top of the law, so it can only narrow."""

    windows: tuple[Window | None, ...]
    banned_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _check_week(self.windows)

    def rule(self, weekday: int) -> str:
        return _rule_text(POLICY_NAME, self.windows, weekday)


def _rule_text(name: str, windows: tuple[Window | None, ...], weekday: int) -> str:
    window = windows[weekday]
    if window is None:
        return f"{name}: no calls on {WEEKDAYS[weekday]}"
    return f"{name}: {window}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one instant; instants are UTC, local_times pairs each zone with `at` there."""

    allowed: bool
    rule: str | None
    next_allowed_at: datetime | None
    allowed_until: datetime | None
    local_times: tuple[tuple[str, datetime], ...]
    # the zone whose local time failed `rule` (None: a ban, or allowed)
    failed_zone: str | None = None
