"""The per-process cache of allowed hours verdicts (a check reuses one while it holds)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytz

from app.callingrules.decide import HoursDecision
from app.reference.snapshot import Snapshot
from app.rules.engine import LOOKAHEAD


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
        self._entries: dict[
            tuple[str, str | None, str | None], tuple[Snapshot, datetime, HoursDecision]
        ] = {}

    def get(
        self, key: tuple[str, str | None, str | None], snapshot: Snapshot, at: datetime
    ) -> HoursDecision | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        cached_snapshot, since, hours = entry
        until = hours.verdict.allowed_until
        if cached_snapshot is not snapshot or until is None or not since <= at < until:
            return None
        verdict = dataclasses.replace(
            hours.verdict,
            next_allowed_at=at,
            local_times=tuple((zone, at.astimezone(pytz.timezone(zone))) for zone in hours.zones),
        )
        return dataclasses.replace(hours, verdict=verdict)

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
        self._entries[key] = (snapshot, at, hours)
