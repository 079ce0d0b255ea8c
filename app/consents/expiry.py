"""A consent's default `expires_at` (RULES.md section 6): pure functions, no I/O.

Durations are calendar months after `obtained_at`, counted in UTC: the same day of the month
and the same time of day, `months` later, or the target month's last day when it has no such day
(Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year). UTC, not the number's zone: the instant
is the same for every reader, and a number with several zones (or none, toll-free) would
otherwise need a choice; the two answers differ by at most the hours between UTC and the zone
on the last days of a month.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime

CANADA = "CA"
# months until a consent of each basis lapses, by the number's country: Canada's, or the US
# durations for every other NANP country (the shorter ebr_inquiry: the careful default).
# express_written_consent lasts until revoked.
DEFAULT_MONTHS: Mapping[str, Mapping[bool, int]] = {
    "ebr_transaction": {False: 18, True: 18},
    "ebr_inquiry": {False: 3, True: 6},
}


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus `months` calendar months in UTC (a day the target month lacks becomes
    its last day); the time of day is kept. `moment` must be aware."""
    utc = moment.astimezone(UTC)
    year, month_index = divmod(utc.year * 12 + utc.month - 1 + months, 12)
    month = month_index + 1
    day = min(utc.day, calendar.monthrange(year, month)[1])
    return utc.replace(year=year, month=month, day=day)


def default_expiry(basis: str, obtained_at: datetime, country: str | None) -> datetime | None:
    """When a consent of `basis` obtained at `obtained_at` lapses unless it says otherwise, for
    a number of `country` (the area code's: `CA`, `US`, …); None: until revoked."""
    months = DEFAULT_MONTHS.get(basis)
    if months is None:
        return None
    return add_months(obtained_at, months[country == CANADA])
