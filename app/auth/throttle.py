"""In-process request throttles: failed key attempts per client address, budgets per key."""

from __future__ import annotations

import math
import time
from collections import deque


class FailedAttempts:
    """`limit` failures within `window_s` block the address for `block_s`."""

    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        block_s: float = 60.0,
        max_addresses: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def retry_after(self, address: str) -> int | None:
        """Seconds until the address may try again, or None if it is not blocked."""
        until = self._blocked_until.get(address)
        if until is None:
            return None
        remaining = until - time.monotonic()
        if remaining <= 0:
            del self._blocked_until[address]
            return None
        return max(1, math.ceil(remaining))

    def record_failure(self, address: str) -> None:
        now = time.monotonic()
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            self._prune(now)
        failures = self._failures.setdefault(address, deque())
        failures.append(now)
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        if len(failures) >= self.limit:
            if len(self._blocked_until) >= self.max_addresses:
                self._prune(now)
            self._blocked_until[address] = now + self.block_s
            failures.clear()

    def _prune(self, now: float) -> None:
        for address, failures in list(self._failures.items()):
            if not failures or now - failures[-1] > self.window_s:
                del self._failures[address]
        if len(self._failures) >= self.max_addresses:
            self._failures.clear()
        for address, until in list(self._blocked_until.items()):
            if until <= now:
                del self._blocked_until[address]


class KeyBudgets:
    """A token bucket per key: `rate_per_s` refill, `burst` capacity. A request costs one token;
    a batch of checks costs one per item, so a key's budget bounds the work it asks for, not
    how it packs it. A cost above the burst is granted on a full bucket (full but for the one
    token its own request took) and leaves the key in debt until the refill pays it back."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str, cost: float = 1.0) -> int | None:
        """Spend `cost` tokens; None if granted, else whole seconds until it would be."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        needed = min(cost, max(1.0, self.burst - 1.0))
        if tokens >= needed:
            self._buckets[key_id] = (tokens - cost, now)
            return None
        self._buckets[key_id] = (tokens, now)
        return max(1, math.ceil((needed - tokens) / self.rate))
