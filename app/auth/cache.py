"""Verified keys kept in memory, so that a request does not pay a database round trip.

Every change to a key (revoke, rotate) sends NOTIFY callguard_keys with its id, in the same
transaction. Each process LISTENs and drops the entry when the change commits. An entry read
from the database before an invalidation is never stored after it (no stale re-caching), and
while the listener is not connected the cache stores nothing, so no change can be missed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from app.core.listener import Subscription

CHANNEL = "callguard_keys"


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


def key_subscription(cache: KeyCache) -> Subscription:
    def ready() -> None:
        cache.clear()  # anything cached before now may have missed a change
        cache.trusted = True

    def lost() -> None:
        cache.trusted = False
        cache.clear()

    return Subscription(CHANNEL, cache.invalidate, ready, lost)
