"""Verified keys kept in memory, so that a request does not pay a database round trip.

Every change to a key (revoke, rotate) sends NOTIFY callguard_keys with its id, in the same
transaction. Each process LISTENs and drops the entry when the change commits. An entry read
from the database before an invalidation is never stored after it (no stale re-caching), and
while the listener is not connected the cache stores nothing, so no change can be missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

CHANNEL = "callguard_keys"
LISTENER_NAME = "callguard-key-listener"
log = logging.getLogger("callguard.auth")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    tenant_id: str | None
    scopes: frozenset[str]
    secret_hash: bytes
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCache:
    def __init__(self, ttl_s: float = 60.0, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._by_hash: dict[bytes, tuple[KeyRecord, float]] = {}
        self._invalidated: dict[str, float] = {}
        self._cleared_at = 0.0
        self.trusted = True  # False while changes could go unheard

    def get(self, secret_hash: bytes) -> KeyRecord | None:
        hit = self._by_hash.get(secret_hash)
        if hit is None:
            return None
        record, stored = hit
        if time.monotonic() - stored > self.ttl_s:
            del self._by_hash[secret_hash]
            return None
        return record

    def put(self, record: KeyRecord, read_started: float) -> None:
        """Store a record read from the database at `read_started` (time.monotonic())."""
        if not self.trusted or read_started <= self._cleared_at:
            return
        if read_started <= self._invalidated.get(record.id, 0.0):
            return
        if len(self._by_hash) >= self.max_entries:
            self._by_hash.clear()
        self._by_hash[record.secret_hash] = (record, time.monotonic())

    def invalidate(self, key_id: str) -> None:
        self._invalidated[key_id] = time.monotonic()
        for secret_hash, (record, _) in list(self._by_hash.items()):
            if record.id == key_id:
                del self._by_hash[secret_hash]

    def clear(self) -> None:
        self._cleared_at = time.monotonic()
        self._by_hash.clear()


class KeyChangeListener:
    """LISTENs for key changes on its own connection and reconnects when it drops."""

    def __init__(self, dsn: str, cache: KeyCache, retry_s: float = 0.5) -> None:
        self.dsn = dsn
        self.cache = cache
        self.retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self.cache.trusted = False
        self._task = asyncio.create_task(self._run(), name="key-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.cache.invalidate(str(payload))

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
                )
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self.cache.clear()  # anything cached before now may have missed a change
                self.cache.trusted = True
                self.connected.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("key-change listener not connected: %s", type(exc).__name__)
            finally:
                self.cache.trusted = False
                self.cache.clear()
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.retry_s)
