"""A bounded share of the process for long reads (CSV exports, chain verification).

Each holds a database connection for as long as it runs, and an export for as long as its
client takes to read it. Without a bound, a few callers who start exports and stop reading
hold the whole pool, and every tenant's requests wait for a connection until they fail. So:
- at most `slots` long reads run in a process at once, and at most `per_tenant` of them for
  one tenant; one more is refused at once (429, retry shortly), never queued;
- an export's client must take each chunk within `send_timeout_s`, or the export ends and its
  connection goes back to the pool;
- the database ends an export's transaction left idle longer than that (the connection's
  `idle_in_transaction_session_timeout`), whatever happens to this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import AppError

log = logging.getLogger("callguard.longreads")
RETRY_AFTER_S = 5


class LongReadsBusy(AppError):
    code = "rate_limited"
    status = 429
    default_message = "Too many exports or verifications are running; retry shortly."

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            details={"retry_after_s": RETRY_AFTER_S},
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


class LongReads:
    """Per-process admission of long reads, by process and by tenant."""

    def __init__(self, slots: int, per_tenant: int, send_timeout_s: float) -> None:
        self.slots = slots
        self.per_tenant = per_tenant
        self.send_timeout_s = send_timeout_s
        self._running: Counter[str] = Counter()

    def acquire(self, tenant: str | None) -> str:
        owner = tenant or "platform"
        if self._running.total() >= self.slots:
            raise LongReadsBusy(
                f"{self.slots} exports or verifications are running in this process; "
                f"retry in {RETRY_AFTER_S} s."
            )
        if self._running[owner] >= self.per_tenant:
            raise LongReadsBusy(
                f"{self.per_tenant} exports or verifications of this tenant are running; "
                f"retry in {RETRY_AFTER_S} s."
            )
        self._running[owner] += 1
        return owner

    def release(self, owner: str) -> None:
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]

    @contextmanager
    def held(self, tenant: str | None) -> Iterator[None]:
        owner = self.acquire(tenant)
        try:
            yield
        finally:
            self.release(owner)

    def stream(self, tenant: str | None, content: AsyncIterator[bytes], **kwargs: Any) -> Export:
        """A response streaming `content` under one of the slots (taken now: 429 if none)."""
        return Export(content, self, self.acquire(tenant), **kwargs)

    @property
    def idle_in_transaction_ms(self) -> int:
        """For the export's transaction: a little longer than a client may take per chunk."""
        return int((self.send_timeout_s + 5) * 1000)


class Export(StreamingResponse):
    """A StreamingResponse that holds a long-read slot until it ends, and ends when its client
    stops reading."""

    def __init__(
        self, content: AsyncIterator[bytes], reads: LongReads, owner: str, **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self._content = content
        self._reads = reads
        self._owner: str | None = owner

    def _release(self) -> None:
        if self._owner is not None:
            self._reads.release(self._owner)
            self._owner = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()

    async def stream_response(self, send: Send) -> None:
        timeout = self._reads.send_timeout_s

        async def bounded(message: Message) -> None:
            await asyncio.wait_for(send(message), timeout)

        try:
            await super().stream_response(bounded)
        except TimeoutError:
            # the response has started: the connection is closed unfinished, which is how a
            # client learns that a streamed body was cut
            log.warning("export ended: the client took no data for %s s", timeout)
        finally:
            aclose = getattr(self._content, "aclose", None)
            if aclose is not None:
                await aclose()  # the database session inside it ends now, not at collection
