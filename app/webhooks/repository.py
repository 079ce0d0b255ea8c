"""All SQL of webhooks: hooks, their deliveries (made by the fan-out trigger on change_events,
or one at a time for a test), the workers' claims and results, and registry notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.webhooks.models import Webhook, WebhookDelivery

Hook = Webhook  # what the service gets (other features do not import the model)
Delivery = WebhookDelivery


async def insert_webhook(session: AsyncSession, **columns: Any) -> Webhook:
    """A new hook in the request's transaction, as stored (`created_at` the moment written)."""
    row = Webhook(**columns, created_at=func.clock_timestamp())
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def live_webhook(
    session: AsyncSession,
    webhook_id: str,
    visible: ColumnElement[bool],
    *,
    for_update: bool = False,
) -> Webhook | None:
    """A hook not deleted that the caller may see (`visible`: auth's `visible_to`)."""
    stmt = select(Webhook).where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None), visible)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).first()


async def page_webhooks(
    session: AsyncSession,
    visible: ColumnElement[bool],
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Webhook]:
    """Up to `limit` live hooks the caller may see, newest first, after the cursor."""
    stmt = (
        select(Webhook)
        .where(Webhook.deleted_at.is_(None), visible)
        .order_by(Webhook.created_at.desc(), Webhook.id.desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Webhook.created_at, Webhook.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


_END_PENDING = text(
    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, claim = NULL, "
    "finished_at = clock_timestamp(), "
    "last_error = :why || coalesce(' (last attempt: ' || last_error || ')', '') "
    "WHERE webhook_id = :id AND status = 'pending'"
)


async def delete_webhook(session: AsyncSession, webhook_id: str) -> int:
    """Delete a hook (kept, marked, its secret wiped) and end its pending deliveries; how
    many were ended. An attempt in flight finds its delivery ended and writes nothing."""
    await session.execute(
        text(
            "UPDATE webhooks SET deleted_at = clock_timestamp(), secret = ''::bytea "
            "WHERE id = :id AND deleted_at IS NULL"
        ),
        {"id": webhook_id},
    )
    ended = await session.execute(_END_PENDING, {"id": webhook_id, "why": "webhook deleted"})
    return int(getattr(ended, "rowcount", 0) or 0)


async def insert_delivery(
    session: AsyncSession, *, webhook_id: str, event_id: str, change_type: str
) -> WebhookDelivery:
    """One delivery due now (a test: the fan-out makes all others)."""
    row = WebhookDelivery(
        webhook_id=webhook_id,
        event_id=event_id,
        change_type=change_type,
        next_attempt_at=func.clock_timestamp(),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def page_deliveries(
    session: AsyncSession,
    *,
    webhook_id: str,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    """Up to `limit` of a hook's deliveries, newest first, after the cursor."""
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if after is not None:
        stmt = stmt.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


# --- the delivery workers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker holds until `lease` runs out, with what it needs to send it."""

    id: str
    webhook_id: str
    event_id: str
    change_type: str
    attempts: int
    created_at: datetime
    url: str
    secret: bytes
    tenant_id: str | None
    live: bool  # False: its hook was deleted or disabled after the delivery was made


_CLAIM = text(
    "WITH due AS ("
    " SELECT id FROM webhook_deliveries"
    " WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()"
    " ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "UPDATE webhook_deliveries d SET"
    " attempts = d.attempts"
    "  + CASE WHEN w.deleted_at IS NULL AND w.disabled_at IS NULL THEN 1 ELSE 0 END,"
    " claim = :claim, last_attempt_at = clock_timestamp(),"
    " next_attempt_at = clock_timestamp() + make_interval(secs => CAST(:lease AS float8)) "
    "FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id "
    "RETURNING d.id, d.webhook_id, d.event_id, d.change_type, d.attempts, d.created_at,"
    " w.url, w.secret, w.tenant_id, (w.deleted_at IS NULL AND w.disabled_at IS NULL) AS live"
)


async def claim_due(
    session: AsyncSession, *, limit: int, lease_s: float, claim: str
) -> list[Claimed]:
    """Take up to `limit` due deliveries for `lease_s` seconds (rows another worker is taking
    are skipped, never waited for): the next attempt of each, counted."""
    result = await session.execute(_CLAIM, {"limit": limit, "lease": lease_s, "claim": claim})
    return [Claimed(**row._mapping) for row in result]


_SUCCEEDED = text(
    "UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, claim = NULL,"
    " last_status_code = :code, last_error = NULL, finished_at = clock_timestamp() "
    "WHERE id = :id AND claim = :claim AND status = 'pending' RETURNING id"
)
# written (and locked) only when the streak ends or the last success is a second old: a busy
# hook's successes do not all queue on its row
_HOOK_SUCCEEDED = text(
    "UPDATE webhooks SET failing_since = NULL, last_success_at = clock_timestamp() "
    "WHERE id = :id AND (failing_since IS NOT NULL OR last_success_at IS NULL"
    " OR last_success_at < clock_timestamp() - interval '1 second')"
)


async def record_success(
    session: AsyncSession, *, delivery_id: str, claim: str, status_code: int, webhook_id: str
) -> bool:
    """The attempt succeeded: the delivery is done and its hook's failing streak ends. False
    when the claim was no longer the delivery's (its hook was deleted meanwhile)."""
    # the hook's row first, as every transaction that changes a hook and its deliveries does
    # (deleting, disabling, a failure): one lock order, no deadlock
    await session.execute(_HOOK_SUCCEEDED, {"id": webhook_id})
    done = await session.execute(
        _SUCCEEDED, {"id": delivery_id, "claim": claim, "code": status_code}
    )
    return done.first() is not None


_FAILED = text(
    "WITH t AS (SELECT clock_timestamp() AS now) "
    "UPDATE webhook_deliveries d SET"
    " last_status_code = :code, last_error = :error, claim = NULL,"
    " status = CASE WHEN t.now >= d.created_at + make_interval(secs => CAST(:retry_for AS float8))"
    "  THEN 'failed' ELSE 'pending' END,"
    " next_attempt_at = CASE"
    "  WHEN t.now >= d.created_at + make_interval(secs => CAST(:retry_for AS float8)) THEN NULL"
    "  ELSE least(t.now + make_interval(secs => CAST(:delay AS float8)),"
    "             d.created_at + make_interval(secs => CAST(:retry_for AS float8))) END,"
    " finished_at = CASE"
    "  WHEN t.now >= d.created_at + make_interval(secs => CAST(:retry_for AS float8))"
    "  THEN t.now END "
    "FROM t WHERE d.id = :id AND d.claim = :claim AND d.status = 'pending' "
    "RETURNING d.status"
)
_HOOK_FAILED = text(
    "UPDATE webhooks SET failing_since = coalesce(failing_since, clock_timestamp()) "
    "WHERE id = :id AND deleted_at IS NULL AND disabled_at IS NULL "
    "RETURNING failing_since, last_success_at, clock_timestamp() AS now"
)


@dataclass(frozen=True, slots=True)
class Failure:
    status: str | None  # the delivery's status now (None: no longer the claim's)
    failing_since: datetime | None  # None: the hook is no longer live
    last_success_at: datetime | None
    now: datetime


async def record_failure(
    session: AsyncSession,
    *,
    delivery_id: str,
    claim: str,
    webhook_id: str,
    status_code: int | None,
    error: str | None,
    delay_s: float,
    retry_for_s: float,
) -> Failure:
    """The attempt failed: retry in `delay_s` (never past `retry_for_s` after the delivery was
    made; an attempt at or after that instant that fails ends it `failed`), and the hook's
    failing streak starts if it had not."""
    hook = (await session.execute(_HOOK_FAILED, {"id": webhook_id})).first()  # first: see above
    done = await session.execute(
        _FAILED,
        {
            "id": delivery_id,
            "claim": claim,
            "code": status_code,
            "error": error,
            "delay": delay_s,
            "retry_for": retry_for_s,
        },
    )
    status = done.scalar()
    if hook is None:
        now = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        return Failure(status, None, None, now)
    return Failure(status, hook.failing_since, hook.last_success_at, hook.now)


async def end_delivery(session: AsyncSession, *, delivery_id: str, claim: str, why: str) -> None:
    """End a claimed delivery without an attempt (its hook is gone)."""
    await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,"
            " claim = NULL, finished_at = clock_timestamp(), last_error = :why "
            "WHERE id = :id AND claim = :claim AND status = 'pending'"
        ),
        {"id": delivery_id, "claim": claim, "why": why},
    )


async def disable_webhook(session: AsyncSession, webhook_id: str) -> Webhook | None:
    """Disable a live hook and end its pending deliveries; the hook, or None if it was not
    live (another worker disabled it first, or it was deleted)."""
    done = await session.execute(
        text(
            "UPDATE webhooks SET disabled_at = clock_timestamp() "
            "WHERE id = :id AND disabled_at IS NULL AND deleted_at IS NULL RETURNING id"
        ),
        {"id": webhook_id},
    )
    if done.first() is None:
        return None
    await session.execute(_END_PENDING, {"id": webhook_id, "why": "webhook disabled"})
    return await session.get(Webhook, webhook_id, populate_existing=True)


PURGE_BATCH = 10_000  # finished deliveries deleted per statement (and transaction)


async def purge_finished(engine: AsyncEngine, *, older_than_days: int) -> int:
    """Delete deliveries that ended more than `older_than_days` ago, PURGE_BATCH at a time, each
    batch its own short statement and transaction (one DELETE of a backlog of millions, after
    retention was shortened or upkeep was down, outlasted the statement timeout and failed
    every round); how many."""
    old = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status != "pending",
            WebhookDelivery.finished_at < func.now() - func.make_interval(0, 0, 0, older_than_days),
        )
        .limit(PURGE_BATCH)
        .scalar_subquery()
    )
    purged = 0
    while True:
        async with engine.begin() as conn:
            done = await conn.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
        count = int(done.rowcount or 0)
        purged += count
        if count < PURGE_BATCH:
            return purged


# --- registry notices ---------------------------------------------------------------------


async def first_notice(
    session: AsyncSession, *, list_id: str, state: str, stale_at: datetime
) -> bool:
    """Remember that this list's `state` (for the refresh that turns stale at `stale_at`) was
    announced; True only for the first to do so (several processes may try at once)."""
    done = await session.execute(
        text(
            "INSERT INTO registry_notices (list_id, state, stale_at) "
            "VALUES (:list_id, :state, :stale_at) ON CONFLICT DO NOTHING RETURNING list_id"
        ),
        {"list_id": list_id, "state": state, "stale_at": stale_at},
    )
    return done.first() is not None
