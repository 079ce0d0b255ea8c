"""The read replica (`CALLGUARD_READ_DATABASE_URL`, optional): where the audit trail's listings
and CSV exports, its statistics, chain verification and a number's history are read, so that
auditors' long reads do not take the primary's CPU and I/O from the checks.

Checks, uploads and every write never use it (they take `SessionDep`, the check writer's slots
and the upload runner, all on the primary). A read that finds the replica unreachable goes to
the primary instead, and says so in a log line; the replica is tried again `retry_s` later, so
while it is down reads cost no connection attempt each. Its replay lag is read at each
`/metrics` scrape.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, hosts_of, is_unavailable

log = logging.getLogger("callguard.replica")

# On a standby: how far behind the primary its replay is. When it has replayed everything it
# received the lag is 0 (an idle primary sends nothing, which is not lag); otherwise the age of
# the last transaction it replayed. On a server that is not in recovery (a replica URL that
# reaches a primary): 0.
_LAG = text(
    "SELECT pg_is_in_recovery() AS standby, "
    "CASE WHEN NOT pg_is_in_recovery() "
    "  OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "  ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) "
    "END::float8 AS lag_s, "
    "coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::float8 "
    "AS pending_bytes"
)


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """What a scrape saw: reachable or not, and if so its lag."""

    reachable: bool
    standby: bool = False
    lag_s: float = 0.0
    pending_bytes: float = 0.0


class ReadReplica:
    """A per-process handle on the read replica: its pool, and whether to try it now."""

    def __init__(self, database: Database, retry_s: float = 5.0) -> None:
        self.database = database
        self.retry_s = retry_s
        self._retry_at = 0.0
        self._down = False
        self.fallbacks = 0  # reads sent to the primary because the replica did not answer

    @property
    def hosts(self) -> str:
        return ",".join(hosts_of(self.database.engine.url))

    def _failed(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + self.retry_s
        log.warning(
            "read replica %s unreachable (%s): audit, statistics and history reads go to the "
            "primary; trying the replica again in %.0f s",
            self.hosts,
            type(exc).__name__,
            self.retry_s,
        )
        self._down = True

    def _answered(self) -> None:
        if self._down:
            log.warning("read replica %s answers again: reads go to it", self.hosts)
        self._down = False

    async def session(self) -> AsyncSession | None:
        """A session on the replica with its connection already taken (the pool pings it),
        or None when the replica cannot be used now (the caller reads from the primary)."""
        if time.monotonic() < self._retry_at:
            self.fallbacks += 1
            return None
        session = self.database.sessionmaker()
        try:
            await session.connection()
        except Exception as exc:
            await _close_quietly(session)
            if not is_unavailable(exc):
                raise
            self._failed(exc)
            self.fallbacks += 1
            return None
        self._answered()
        return session

    async def usable(self) -> bool:
        """Whether a read started now may go to the replica (one pinged checkout)."""
        session = await self.session()
        if session is None:
            return False
        await _close_quietly(session)
        return True

    async def state(self) -> ReplicaState:
        """The replica's replay lag, for /metrics (unreachable: only that)."""
        try:
            async with self.database.sessionmaker() as session:
                row = (await session.execute(_LAG)).one()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return ReplicaState(reachable=False)
        return ReplicaState(
            reachable=True,
            standby=bool(row.standby),
            lag_s=float(row.lag_s),
            pending_bytes=float(row.pending_bytes),
        )

    async def dispose(self) -> None:
        await self.database.dispose()


async def _close_quietly(session: AsyncSession) -> None:
    try:
        await session.close()
    except Exception as exc:  # a connection that failed to open has nothing to give back
        log.debug("closing a replica session: %s", type(exc).__name__)
