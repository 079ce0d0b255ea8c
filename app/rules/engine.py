"""May a call be placed at an instant, and from when to when may it be placed? Pure: no I/O.

Every rule is turned into allowed UTC intervals over a look-ahead horizon, per candidate zone;
the answer is their intersection minus the bans. Working in UTC intervals rather than stepping
a clock keeps daylight-saving days exact: each local window boundary is converted once, with
pytz, and the gaps and repeats of DST resolve conservatively (a window is never widened).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

import pytz

from app.rules.model import POLICY_NAME, Ban, Jurisdiction, Policy, Verdict, Window

HORIZON = timedelta(days=14)
# One day past the horizon so that allowed_until is known for an interval open at its end.
LOOKAHEAD = HORIZON + timedelta(days=1)
_SECOND = timedelta(seconds=1)

Interval = tuple[datetime, datetime]
HolidayLookup = Callable[[str, date], str | None]
_Edge = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class _Rule:
    """A jurisdiction or the policy, seen alike: a week of windows and why days are banned."""

    windows: tuple[Window | None, ...]
    describe: Callable[[int], str]
    banned: dict[date, str]

    def failure(self, day: date) -> str:
        if self.windows[day.weekday()] is not None and day in self.banned:
            return self.banned[day]
        return self.describe(day.weekday())


def evaluate(
    *,
    zones: Sequence[str],
    at: datetime,
    jurisdictions: Sequence[Jurisdiction],
    bans: Sequence[Ban],
    policy: Policy | None,
    is_holiday: HolidayLookup,
) -> Verdict:
    """The verdict for a call at `at` to a number that may be in any of `zones`."""
    if at.utcoffset() is None:
        raise ValueError("`at` must be an aware datetime")
    if not zones:
        raise ValueError("at least one candidate time zone is needed")
    start = at.astimezone(UTC)
    end = start + LOOKAHEAD
    days = _days(start, end)
    rules = _rules(jurisdictions, policy, is_holiday, days)

    spans: list[Interval] = [(start, end)]
    if rules:
        for zone in zones:
            spans = _intersect(spans, _zone_spans(zone, rules, days, start, end))
    for ban in bans:
        spans = _subtract(spans, _ban_span(ban))

    # Spans are clipped to begin no earlier than `start`, so only the first can contain it.
    allowed = bool(spans) and spans[0][0] == start
    if allowed:
        next_allowed_at: datetime | None = start
    else:
        next_allowed_at = spans[0][0] if spans and spans[0][0] <= start + HORIZON else None
    rule, failed_zone = (None, None) if allowed else _first_failure(zones, start, rules, bans)
    return Verdict(
        allowed=allowed,
        rule=rule,
        failed_zone=failed_zone,
        next_allowed_at=next_allowed_at,
        allowed_until=spans[0][1] if allowed else None,
        local_times=tuple((zone, start.astimezone(pytz.timezone(zone))) for zone in zones),
    )


def _days(start: datetime, end: datetime) -> list[date]:
    """Every local date a NANP zone (UTC-11 to UTC+10) shows in [start, end], with margin."""
    first = start.date() - timedelta(days=2)
    return [first + timedelta(days=n) for n in range((end.date() - first).days + 3)]


def _rules(
    jurisdictions: Sequence[Jurisdiction],
    policy: Policy | None,
    is_holiday: HolidayLookup,
    days: list[date],
) -> list[_Rule]:
    rules = [_Rule(j.windows, j.rule, _holidays(j, is_holiday, days)) for j in jurisdictions]
    if policy is not None:
        banned = {d: f"{POLICY_NAME}: banned date {d.isoformat()}" for d in policy.banned_dates}
        rules.append(_Rule(policy.windows, policy.rule, banned))
    return rules


def _holidays(
    jurisdiction: Jurisdiction, is_holiday: HolidayLookup, days: list[date]
) -> dict[date, str]:
    banned: dict[date, str] = {}
    for day in days:
        for calendar in jurisdiction.holiday_calendars:
            name = is_holiday(calendar, day)
            if name is not None:
                banned[day] = f"{jurisdiction.id}: holiday ({name})"
                break
    return banned


def _zone_spans(
    zone: str, rules: list[_Rule], days: list[date], start: datetime, end: datetime
) -> list[Interval]:
    """Where every rule allows the call in one zone; the rules share the zone's wall clock,
    so their windows are intersected per day before the (monotone) conversion to UTC."""
    spans: list[Interval] = []
    for day in days:
        window = _common_window(rules, day)
        if window is None:
            continue
        lo = max(start, _to_utc(zone, datetime.combine(day, window[0]), "start"))
        hi = min(end, _to_utc(zone, datetime.combine(day, window[1]), "end"))
        if lo >= hi:
            continue
        if spans and spans[-1][1] >= lo:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _common_window(rules: list[_Rule], day: date) -> tuple[time, time] | None:
    opens, closes = [], []
    for rule in rules:
        window = rule.windows[day.weekday()]
        if window is None or day in rule.banned:
            return None
        opens.append(window.start)
        closes.append(window.end)
    first, last = max(opens), min(closes)
    return (first, last) if first < last else None


def _first_failure(
    zones: Sequence[str], at: datetime, rules: list[_Rule], bans: Sequence[Ban]
) -> tuple[str | None, str | None]:
    """The first rule that refuses `at`, and the zone whose local time it refuses (None for
    a ban)."""
    for rule in rules:
        for zone in zones:
            day = at.astimezone(pytz.timezone(zone)).date()
            if not any(_rule_allows(zone, rule, d, at) for d in (day - timedelta(days=1), day)):
                return rule.failure(day), zone
    for ban in bans:
        ban_start, ban_end = _ban_span(ban)
        if ban_start <= at < ban_end:
            return ban.rule, None
    return None, None


def _rule_allows(zone: str, rule: _Rule, day: date, at: datetime) -> bool:
    window = rule.windows[day.weekday()]
    if window is None or day in rule.banned:
        return False
    opens = _to_utc(zone, datetime.combine(day, window.start), "start")
    return opens <= at < _to_utc(zone, datetime.combine(day, window.end), "end")


@lru_cache(maxsize=1 << 16)
def _to_utc(zone: str, wall: datetime, edge: _Edge) -> datetime:
    """The UTC instant of a window's boundary given as local wall time."""
    tz = pytz.timezone(zone)
    try:
        return tz.localize(wall, is_dst=None).astimezone(UTC)
    except pytz.AmbiguousTimeError:
        # Fall-back hour, the wall time happens twice: opening at the later and closing at
        # the earlier of the two never widens the window.
        earlier, later = sorted(tz.localize(wall, is_dst=d).astimezone(UTC) for d in (True, False))
        return later if edge == "start" else earlier
    except pytz.NonExistentTimeError:
        return _gap_end(tz, wall)


def _gap_end(tz: pytz.BaseTzInfo, wall: datetime) -> datetime:
    """The first instant after a spring-forward gap that `wall` falls in.

    The two readings of a missing wall time bracket the transition; bisect between them on
    whole seconds (transitions happen on whole seconds), which avoids pytz's private tables.
    """
    lo, hi = sorted(tz.localize(wall, is_dst=d).astimezone(UTC) for d in (True, False))
    while hi - lo > _SECOND:
        mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _ban_span(ban: Ban) -> Interval:
    """The ban widened to whole seconds, which is the engine's resolution."""
    starts = ban.starts_at.astimezone(UTC).replace(microsecond=0)
    ends = ban.ends_at.astimezone(UTC)
    if ends.microsecond:
        ends = ends.replace(microsecond=0) + _SECOND
    return starts, ends


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(spans: list[Interval], hole: Interval) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in spans:
        if hi <= hole[0] or hole[1] <= lo:
            out.append((lo, hi))
            continue
        if lo < hole[0]:
            out.append((lo, hole[0]))
        if hole[1] < hi:
            out.append((hole[1], hi))
    return out
