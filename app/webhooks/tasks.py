"""The webhooks' background work: the delivery worker each serving process runs, the registry
lists' aging and staleness announced every minute, and old deliveries purged.

The worker claims due deliveries (`FOR UPDATE SKIP LOCKED`: rows another process is claiming
are skipped, never waited for, so several processes and hosts share the work), each for a lease
during which no other worker takes it, sends each attempt, and writes its result only if its
claim still holds. A process killed mid-attempt leaves its deliveries to be claimed again when
their lease ends: at least once, never twice at the same time. It wakes when a delivery is made
(`NOTIFY callguard_webhooks`, sent by the fan-out when its transaction commits) and otherwise
looks every `CALLGUARD_WEBHOOK_POLL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import Database, is_unavailable
from app.core.ids import new_id
from app.core.listener import Subscription
from app.webhooks import repository, service
from app.webhooks.delivery import Outcome, Sender
from app.webhooks.guard import Resolver, system_resolver
from app.webhooks.models import NOTIFY_CHANNEL

log = logging.getLogger("callguard.webhooks")
STOP_GRACE_S = 5.0  # attempts in flight at shutdown get this long to end, then are dropped


class DeliveryWorker:
    """One per serving process (app.state.webhooks): started and stopped by the lifespan."""

    def __init__(
        self,
        database: Callable[[], Database],
        settings: Settings,
        *,
        resolve: Resolver = system_resolver,
    ) -> None:
        self._database = database
        self.settings = settings
        self.resolve = resolve
        self.claim_id = new_id("clm")  # this worker's claims
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._rng = random.Random()
        self._sender: Sender | None = None

    def wake(self) -> None:
        """Look for due deliveries now (one was just made, or an attempt just ended)."""
        self._wake.set()

    def subscription(self) -> Subscription:
        """The fan-out's NOTIFY wakes this worker (app/core/listener.py)."""
        return Subscription(
            channel=NOTIFY_CHANNEL,
            on_notify=lambda _payload: self.wake(),
            on_ready=self.wake,
            on_lost=lambda: None,  # polling goes on regardless
        )

    def start(self) -> None:
        if self._task is not None:
            return
        self._sender = Sender(
            timeout_s=self.settings.webhook_timeout_s,
            allow_http=self.settings.webhook_allow_http,
            allow_private=self.settings.webhook_allow_private,
            resolve=self.resolve,
        )
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._in_flight:
            # whatever does not end in time is attempted again when its lease runs out
            _, late = await asyncio.wait(self._in_flight, timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._sender is not None:
            await self._sender.close()
            self._sender = None

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                claimed = await self._claim()
                failures = 0
            except Exception as exc:  # never die: retried next round
                claimed = 0
                failures += 1
                if is_unavailable(exc):
                    log.warning("webhook deliveries: database unavailable")
                else:
                    log.exception("webhook deliveries: claiming failed")
            free = self.settings.webhook_sends - len(self._in_flight)
            if claimed and free > 0:
                continue  # there may be more due right now
            wait = self.settings.webhook_poll_s * min(2**failures, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _claim(self) -> int:
        free = self.settings.webhook_sends - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._database().sessionmaker() as session, session.begin():
            attempts = await service.claim(
                session=session,
                settings=self.settings,
                limit=free,
                claim_id=self.claim_id,
                now=datetime.now(UTC),
            )
        for attempt in attempts:
            task = asyncio.create_task(self._attempt(attempt), name="webhook-attempt")
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return len(attempts)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.wake()  # a slot is free

    async def _attempt(self, attempt: service.Attempt) -> None:
        assert self._sender is not None
        try:
            if attempt.ended is not None:
                async with self._database().sessionmaker() as session, session.begin():
                    await service.end_unsent(
                        session=session, attempt=attempt, claim_id=self.claim_id
                    )
                return
            outcome = await self._sender.send(attempt.url, attempt.headers, attempt.body)
            await self._record(attempt, outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # the delivery stays claimed until its lease ends, then is attempted again
            if is_unavailable(exc):
                log.warning("webhook attempt not recorded: database unavailable")
            else:
                log.exception("webhook attempt failed unexpectedly")

    async def _record(self, attempt: service.Attempt, outcome: Outcome) -> None:
        async with self._database().sessionmaker() as session, session.begin():
            await service.record_outcome(
                session=session,
                settings=self.settings,
                attempt=attempt,
                claim_id=self.claim_id,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
                rng=self._rng,
            )


async def announce_registry_ages(database: Database) -> int:
    async with database.sessionmaker() as session, session.begin():
        return await service.announce_registry_ages(session=session)


async def purge_deliveries(engine: AsyncEngine, settings: Settings) -> int:
    purged = await repository.purge_finished(
        engine, older_than_days=settings.webhook_retention_days
    )
    if purged:
        log.info("purged finished webhook deliveries", extra={"count": purged})
    return purged
