"""The per-process cache of allowed hours verdicts (a check reuses one while it holds)."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timezone, tzinfo

import pytz

from app.callingrules.decide import HoursDecision
from app.reference.snapshot import Snapshot
from app.rules.engine import LOOKAHEAD
from app.rules.model import Verdict

Entry = tuple[Snapshot, datetime, HoursDecision, tuple[tuple[str, tzinfo], ...]]


def _clocks(
    zones: tuple[str, ...], since: datetime, until: datetime
) -> tuple[tuple[str, tzinfo], ...]:
    """Each zone's clock over [since, until): a fixed UTC offset when the zone keeps one offset
    over the whole span (a calling-hours span nearly always does: clocks change at night), the
    zone itself otherwise. Local times read off a fixed offset cost a tenth of pytz's."""
    low = since.astimezone(UTC).replace(tzinfo=None)
    high = until.astimezone(UTC).replace(tzinfo=None)
    clocks: list[tuple[str, tzinfo]] = []
    for name in zones:
        zone = pytz.timezone(name)
        offset = since.astimezone(zone).utcoffset()
        changes = getattr(zone, "_utc_transition_times", [])  # sorted naive UTC, as pytz keeps them
        after = bisect.bisect_right(changes, low)  # the first change after `since`
        steady = after == len(changes) or changes[after] >= high
        clocks.append((name, timezone(offset) if steady and offset is not None else zone))
    return tuple(clocks)


class HoursCache:
    """Per process: the last allowed verdict per (area code, recipient state, tenant).

    A verdict that allows a call at t0 holds, unchanged, for every instant from t0 up to its
    `allowed_until` (by definition the first instant after t0 that is not allowed), so a later
    check in that span reuses it, with only the local clocks recomputed, instead of evaluating
    every rule again (about 100-150 µs). Only for the same reference snapshot (bans, policies,
    area codes): a change makes a new snapshot and so misses. Blocked verdicts are not reused.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str | None, str | None], Entry] = {}

    def get(
        self, key: tuple[str, str | None, str | None], snapshot: Snapshot, at: datetime
    ) -> HoursDecision | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        cached_snapshot, since, hours, clocks = entry
        cached = hours.verdict
        until = cached.allowed_until
        if cached_snapshot is not snapshot or until is None or not since <= at < until:
            return None
        # built field by field (dataclasses.replace inspects the fields on every call); a field
        # added to either class must be added here (the equality tests in
        # tests/checks/test_hours_cache.py compare every field with a fresh evaluation's)
        verdict = Verdict(
            allowed=cached.allowed,
            rule=cached.rule,
            next_allowed_at=at,
            allowed_until=until,
            local_times=tuple((name, at.astimezone(clock)) for name, clock in clocks),
            failed_zone=cached.failed_zone,
        )
        return HoursDecision(
            zones=hours.zones, jurisdictions=hours.jurisdictions, verdict=verdict, note=hours.note
        )

    def put(
        self,
        key: tuple[str, str | None, str | None],
        snapshot: Snapshot,
        at: datetime,
        hours: HoursDecision,
    ) -> None:
        until = hours.verdict.allowed_until
        # an allowed span cut by the engine's look-ahead has no real end: not reusable
        if not hours.verdict.allowed or until is None or until >= at + LOOKAHEAD:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (snapshot, at, hours, _clocks(hours.zones, at, until))
