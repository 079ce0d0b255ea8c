"""Reference data a check needs, kept in memory: area codes (with overrides), bans, policies.

A change sends NOTIFY callguard_reference in its transaction; every process marks its snapshot
dirty and the next reader reloads it (a few hundred rows). The changing process reloads right
after its own commit, before it answers. While the listener is disconnected every reader reloads,
so a change can never be missed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.listener import Subscription


@dataclass(frozen=True, slots=True)
class AreaCode:
    """One NPA as checks see it (app/areacodes: the shipped table and its overrides)."""

    npa: str
    country: str
    region: str | None
    time_zones: tuple[str, ...]
    geographic: bool
    in_service: bool
    parent_npa: str | None
    source: str


CHANNEL = "callguard_reference"
# belt and braces: even with no notification (listener disabled), reload at least this often
MAX_AGE_S = 60.0
# NANPA files these with a neighbour's NPAs (902 NS/PE, 867 NT/YT/NU): same zones
REGION_ALIASES = {"CA-PE": "CA-NS", "CA-YT": "CA-NT", "CA-NU": "CA-NT"}


@dataclass(frozen=True, slots=True)
class Snapshot:
    area_codes: Mapping[str, AreaCode]
    in_service: frozenset[str]
    region_zones: Mapping[str, tuple[str, ...]]  # "US-TX" -> every zone of the state's NPAs
    country_zones: Mapping[str, tuple[str, ...]]
    extras: Mapping[str, object] = field(default_factory=dict)  # bans, policies (calling rules)


Loader = Callable[[AsyncSession], Awaitable[Snapshot]]


def build_snapshot(codes: Mapping[str, AreaCode], extras: Mapping[str, object]) -> Snapshot:
    region: dict[str, set[str]] = {}
    country: dict[str, set[str]] = {}
    for code in codes.values():
        if not code.in_service:
            continue
        country.setdefault(code.country, set()).update(code.time_zones)
        if code.geographic and code.region:
            region.setdefault(f"{code.country}-{code.region}", set()).update(code.time_zones)
    for alias, region_of in REGION_ALIASES.items():
        if region_of in region and alias not in region:
            region[alias] = region[region_of]
    return Snapshot(
        area_codes=dict(codes),
        in_service=frozenset(npa for npa, code in codes.items() if code.in_service),
        region_zones={k: tuple(sorted(v)) for k, v in region.items()},
        country_zones={k: tuple(sorted(v)) for k, v in country.items()},
        extras=dict(extras),
    )


class ReferenceData:
    def __init__(self, loader: Loader) -> None:
        self._loader = loader
        self._snapshot: Snapshot | None = None
        self._dirty = True
        self._listening = True  # False while changes could go unheard
        self._lock = asyncio.Lock()
        self._loaded_at = 0.0

    def mark_dirty(self, _payload: str = "") -> None:
        self._dirty = True

    def _fresh(self) -> bool:
        return (
            self._snapshot is not None
            and not self._dirty
            and self._listening
            and time.monotonic() - self._loaded_at < MAX_AGE_S
        )

    async def current(self, sessionmaker: async_sessionmaker[AsyncSession]) -> Snapshot:
        if self._fresh():
            assert self._snapshot is not None
            return self._snapshot
        async with self._lock:
            if not self._fresh():
                self._dirty = False
                try:
                    async with sessionmaker() as session:
                        self._snapshot = await self._loader(session)
                    self._loaded_at = time.monotonic()
                except BaseException:
                    self._dirty = True
                    raise
            assert self._snapshot is not None
            return self._snapshot

    async def current_in(self, session: AsyncSession) -> Snapshot:
        """A snapshot as this transaction sees it (not cached): for validating a change."""
        return await self._loader(session)

    def subscription(self) -> Subscription:
        def ready() -> None:
            self._listening = True
            self._dirty = True

        def lost() -> None:
            self._listening = False

        return Subscription(CHANNEL, self.mark_dirty, ready, lost)
