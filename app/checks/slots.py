"""The check writer's slots: each holds one pooled connection while it works, and one lane of
hash chains (per tenant, the last sequence number and hash it wrote)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.checks import repository
from app.core.db import Database
from app.core.ids import new_id


@dataclass(slots=True)
class Lane:
    """One writer slot's chains: per tenant, the last sequence number and hash written."""

    id: str = field(default_factory=lambda: new_id("ln"))
    heads: dict[str | None, tuple[int, bytes]] = field(default_factory=dict)


@dataclass(slots=True)
class Slot:
    """One writer slot: its lane, and the connection it holds while it works (its statements
    run one after another, so it never needs a second; no pool checkout per batch)."""

    lane: Lane = field(default_factory=Lane)
    held: AsyncConnection | None = None
    raw: Any = None  # the driver's connection of `held`

    async def hold(self, database: Database) -> Any:
        """The slot's driver connection, taken from the pool the first time (or again after
        a failure). Its prepared lookup keeps one generic plan: PostgreSQL would otherwise
        plan it anew on every execution (custom plans), which cost several times the lookup
        itself; the generic plan is the same index probes in number order."""
        if self.raw is None or self.raw.is_closed():
            await self.release(broken=True)
            self.held = await database.engine.connect()
            try:
                self.raw = (await self.held.get_raw_connection()).driver_connection
                await repository.prefer_generic_plans(self.raw)
            except BaseException:
                await self.release(broken=True)
                raise
        return self.raw

    async def release(self, broken: bool) -> None:
        held, raw, self.held, self.raw = self.held, self.raw, None, None
        if held is None:
            return
        if not broken and raw is not None:
            try:
                await repository.reset_plans(raw)  # back to the pool as it came
            except Exception:
                broken = True
        with contextlib.suppress(Exception):
            if broken:  # statements ran on the driver's connection, unseen by the pool
                await held.invalidate()
        with contextlib.suppress(Exception):
            await held.close()
