"""One LISTEN connection per process, shared by every in-memory cache that must hear changes.

A change is announced with NOTIFY <channel>, '<payload>' inside the transaction that makes it,
so listeners hear it exactly when it commits. While the connection is down, notifications can be
missed: subscribers are told (`on_lost`) and told again when it is back (`on_ready`), so each can
distrust or reload what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from app.core.db import async_url, plain_url

LISTENER_NAME = "callguard-listener"
log = logging.getLogger("callguard.listener")


@dataclass(frozen=True, slots=True)
class Subscription:
    channel: str
    on_notify: Callable[[str], None]
    on_ready: Callable[[], None]
    on_lost: Callable[[], None]


class ChangeListener:
    def __init__(self, dsn: str, retry_s: float = 0.5) -> None:
        # LISTEN works on the primary only: a URL of several hosts is spelled for asyncpg and
        # asks for the one that takes writes, so after a failover the listener finds the new one
        self.dsn = plain_url(async_url(dsn))
        self.retry_s = retry_s
        self.connected = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, subscription: Subscription) -> None:
        self._subscriptions.append(subscription)
        subscription.on_lost()  # nothing heard yet: start untrusted

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
                )
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                for sub in self._subscriptions:
                    await conn.add_listener(sub.channel, _dispatch(sub.on_notify))
                for sub in self._subscriptions:
                    sub.on_ready()
                self.connected.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("change listener not connected: %s", type(exc).__name__)
            finally:
                self.connected.clear()
                for sub in self._subscriptions:
                    sub.on_lost()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.retry_s)


def _dispatch(on_notify: Callable[[str], None]) -> Callable[[object, int, str, object], None]:
    def handle(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        on_notify(str(payload))

    return handle
