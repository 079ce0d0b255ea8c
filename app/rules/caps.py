"""Frequency caps as values, and the earliest instant every cap and every calling window allow
(API-2.md section 14, RULES.md section 7): pure, no I/O.

An attempt counts for a window of W hours from its `at` up to, not including, `at + W`; every
recorded attempt counts (answered or not, calls and texts alike). A cap of N blocks an instant
while N or more attempts count there (on the check's purpose, for a per-purpose cap), and also
where a call would make a window of W hours that ends later too full (attempts after the
check's own instant, reported or reserved); a `connected` attempt blocks the
`after_conversation_hours` that follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PER = ("number", "number_and_purpose")


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    id: str  # the jurisdiction ("US-FL"), or "policy" for a tenant's own
    max_calls: int
    within_hours: int
    per: str = "number_and_purpose"
    since: date | None = None  # the law's first day (UTC date of the check's `at`)
    source: str = ""
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        if self.max_calls < 1 or self.within_hours < 1:
            raise ValueError(f"{self.id}: a cap needs max_calls and within_hours of at least 1")
        if self.per not in PER:
            raise ValueError(f"{self.id}: per must be one of {PER}")

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.within_hours)

    @property
    def rule(self) -> str:
        on = " on one purpose" if self.per == "number_and_purpose" else " to one number"
        calls = "call" if self.max_calls == 1 else "calls"
        return f"{self.id}: at most {self.max_calls} {calls} in {self.within_hours} hours{on}"

    def applies(self, at: datetime) -> bool:
        return self.since is None or at.date() >= self.since


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    purpose: str
    disposition: str | None = None  # None: reserved by a check, outcome not reported


@dataclass(frozen=True, slots=True)
class CapBlock:
    """What blocks a check at its instant: the rule, and the attempts it counted."""

    rule: str
    attempts: tuple[Attempt, ...]


def _counted(
    cap: FrequencyCap, attempts: Iterable[Attempt], at: datetime, purpose: str
) -> list[Attempt]:
    """The attempts of the fullest window of the cap's length that holds `at`: a call at `at`
    must not make any such window hold more than the cap. Without attempts later than `at`
    (reported or reserved for a later instant) these are the attempts counting at `at`, those
    in (at - W, at]; with some, a call is refused that would make a window ending after `at`
    too full (fail closed: three reserved at 15:00, 16:00, 17:00 leave no room at 14:00)."""
    window = cap.window
    relevant = sorted(
        (
            a
            for a in attempts
            if at - window < a.at < at + window and (cap.per == "number" or a.purpose == purpose)
        ),
        key=lambda a: a.at,
    )
    fullest: list[Attempt] = []
    # windows [s, s + W) with at - W < s <= at; one starting at an attempt (or at `at`) holds
    # at least as many as any starting between two
    for start in [a.at for a in relevant if a.at <= at] + [at]:
        inside = [a for a in relevant if start <= a.at < start + window]
        if len(inside) > len(fullest):
            fullest = inside
    return fullest


def _conversation_rule(hours: int) -> str:
    return f"policy: no call within {hours} hours after a conversation"


def blocking(
    caps: Sequence[FrequencyCap],
    after_conversation_hours: int | None,
    attempts: Sequence[Attempt],
    at: datetime,
    purpose: str,
) -> CapBlock | None:
    """The first cap (in the given order, then the quiet after a conversation) that blocks a
    call at `at`, or None."""
    for cap in caps:
        if not cap.applies(at):
            continue
        counted = _counted(cap, attempts, at, purpose)
        if len(counted) >= cap.max_calls:
            return CapBlock(cap.rule, tuple(sorted(counted, key=lambda a: a.at)))
    if after_conversation_hours:
        quiet = timedelta(hours=after_conversation_hours)
        talks = [a for a in attempts if a.disposition == "connected" and a.at <= at < a.at + quiet]
        if talks:
            return CapBlock(
                _conversation_rule(after_conversation_hours),
                tuple(sorted(talks, key=lambda a: a.at)),
            )
    return None


def _changes(
    caps: Sequence[FrequencyCap], after_conversation_hours: int | None, attempts: Sequence[Attempt]
) -> list[datetime]:
    """Every instant at which an attempt stops counting for some rule (or a law starts)."""
    instants = {a.at + cap.window for cap in caps for a in attempts}
    if after_conversation_hours:
        quiet = timedelta(hours=after_conversation_hours)
        instants |= {a.at + quiet for a in attempts if a.disposition == "connected"}
    return sorted(instants)


HoursAt = Callable[[datetime], tuple[bool, datetime | None]]  # (allowed at t, next allowed)


def next_allowed(
    caps: Sequence[FrequencyCap],
    after_conversation_hours: int | None,
    attempts: Sequence[Attempt],
    at: datetime,
    purpose: str,
    hours_at: HoursAt,
) -> datetime | None:
    """The first instant from `at` at which no cap blocks and the calling hours allow (None when
    the calling hours never allow within their look-ahead). The caps can only start blocking at
    an attempt's own `at` and stop at one of `_changes`, so the search steps from one candidate
    to the next, asking the hours at each."""
    changes = _changes(caps, after_conversation_hours, attempts)
    # a window starting at an attempt stops holding `t` at the attempt's `at` + W: the fullest
    # window can only shrink there, so those are the instants a block can end
    t = at
    for _ in range(10_000):
        if blocking(caps, after_conversation_hours, attempts, t, purpose) is not None:
            later = [c for c in changes if c > t]
            if not later:  # cannot happen: past the last change no attempt counts
                return None
            t = later[0]
            continue
        allowed, following = hours_at(t)
        if allowed:
            return t
        if following is None or following <= t:
            return None
        t = following
    return None
