"""Shared values for the rules tests: the shipped jurisdictions, holidays and a short `check`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time

import pytz

from app.rules import Ban, HolidayCalendars, Policy, Verdict, Window, evaluate, load_jurisdictions

JURISDICTIONS = load_jurisdictions()
HOLIDAYS = HolidayCalendars()


def utc(text: str) -> datetime:
    """An ISO instant written without offset, read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(zone: str, text: str) -> datetime:
    """A local wall time that exists once in `zone`, as a UTC instant."""
    return pytz.timezone(zone).localize(datetime.fromisoformat(text), is_dst=None).astimezone(UTC)


def window(text: str) -> Window:
    start, end = text.split("-")
    return Window(time.fromisoformat(start), time.fromisoformat(end))


def policy(week: Sequence[str | None], banned: Sequence[str] = ()) -> Policy:
    """A tenant policy from seven "HH:MM-HH:MM" or None, Monday first."""
    return Policy(
        windows=tuple(None if w is None else window(w) for w in week),
        banned_dates=frozenset(datetime.fromisoformat(d).date() for d in banned),
    )


def check(
    at: datetime,
    *zones: str,
    rules: Sequence[str] = ("US",),
    bans: Sequence[Ban] = (),
    tenant: Policy | None = None,
) -> Verdict:
    return evaluate(
        zones=zones,
        at=at,
        jurisdictions=[JURISDICTIONS[r] for r in rules],
        bans=bans,
        policy=tenant,
        is_holiday=HOLIDAYS,
    )
