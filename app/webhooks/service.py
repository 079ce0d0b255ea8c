"""Webhooks (API-2.md section 17): hooks and their deliveries for the routes; for the delivery
worker, claiming due deliveries with their signed bodies and recording how each attempt ended;
and the registry lists' aging and staleness announced as events."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.auth.scoping import visible_to
from app.core.config import Settings
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import rfc3339_utc
from app.dnc import service as dnc
from app.events.repository import events_by_ids, record_event
from app.webhooks import catalog, guard, repository, signing
from app.webhooks.errors import WebhookDisabled, WebhookNotFound
from app.webhooks.schemas import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut

log = logging.getLogger("callguard.webhooks")
CREATED, DELETED, DISABLED = "webhook.created", "webhook.deleted", "webhook.disabled"


def origin(url: str) -> str:
    """Where a hook's URL points, without its path and query (which may carry a receiver's
    token): what change events and other hooks are told."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def webhook_out(row: repository.Hook) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        tenant_id=row.tenant_id,
        url=row.url,
        events=row.events,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        failing_since=row.failing_since,
        last_success_at=row.last_success_at,
        disabled_at=row.disabled_at,
    )


def delivery_out(row: repository.Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event_id=row.event_id,
        event_type=catalog.EVENT_TYPE_OF[row.change_type],
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


async def create_webhook(
    *,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str | None,
    data: WebhookIn,
    settings: Settings,
) -> WebhookCreated:
    """A hook for the tenant (None: a platform key's hook, for the platform's own events: the
    global lists'); its secret is in this answer only."""
    try:
        guard.checked_url(
            data.url,
            allow_http=settings.webhook_allow_http,
            allow_private=settings.webhook_allow_private,
        )
    except guard.Refused as exc:
        raise ValidationFailed.field(
            "url", exc.problem, f"url: {exc.problem} (webhooks go to public https:// URLs)."
        ) from None
    key = signing.new_secret()
    row = await repository.insert_webhook(
        session,
        id=new_id("whk"),
        tenant_id=tenant_id,
        url=data.url,
        description=data.description,
        events=list(data.events),
        change_types=catalog.change_types_of(list(data.events)),
        secret=key,
        created_by=principal.key_id,
    )
    await record_event(
        session,
        type=CREATED,
        target=row.id,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details={"origin": origin(row.url), "events": row.events},  # never the secret
    )
    return WebhookCreated(**webhook_out(row).model_dump(), secret=signing.secret_text(key))


async def _visible(
    session: AsyncSession, principal: Principal, webhook_id: str, *, for_update: bool = False
) -> repository.Hook:
    row = await repository.live_webhook(
        session,
        webhook_id,
        visible_to(principal, repository.Hook.tenant_id),
        for_update=for_update,
    )
    if row is None:
        raise WebhookNotFound()
    return row


async def get_webhook(
    *, session: AsyncSession, principal: Principal, webhook_id: str
) -> WebhookOut:
    return webhook_out(await _visible(session, principal, webhook_id))


async def list_webhooks(
    *, session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[WebhookOut], str | None]:
    rows = await repository.page_webhooks(
        session, visible_to(principal, repository.Hook.tenant_id), page.after, page.limit + 1
    )
    kept, cursor = cut_page(rows, page)
    return [webhook_out(row) for row in kept], cursor


async def delete_webhook(*, session: AsyncSession, principal: Principal, webhook_id: str) -> None:
    """Delete a hook: nothing more is sent to it, its pending deliveries end `failed`, and its
    secret is wiped. It is gone from every read."""
    row = await _visible(session, principal, webhook_id, for_update=True)
    ended = await repository.delete_webhook(session, row.id)
    await record_event(
        session,
        type=DELETED,
        target=row.id,
        tenant_id=row.tenant_id,
        actor_key_id=principal.key_id,
        details={"origin": origin(row.url), "pending_ended": ended},
    )


async def send_test(*, session: AsyncSession, principal: Principal, webhook_id: str) -> DeliveryOut:
    """A `webhook.test` event for this hook alone, due now."""
    row = await _visible(session, principal, webhook_id)
    if row.disabled_at is not None:
        raise WebhookDisabled()
    event_id = await record_event(
        session,
        type=catalog.TEST_CHANGE,
        target=row.id,
        tenant_id=row.tenant_id,
        actor_key_id=principal.key_id,
        details={"origin": origin(row.url)},
    )
    delivery = await repository.insert_delivery(
        session, webhook_id=row.id, event_id=event_id, change_type=catalog.TEST_CHANGE
    )
    return delivery_out(delivery)


async def list_deliveries(
    *,
    session: AsyncSession,
    principal: Principal,
    webhook_id: str,
    status: str | None,
    page: PageRequest,
) -> tuple[list[DeliveryOut], str | None]:
    row = await _visible(session, principal, webhook_id)
    rows = await repository.page_deliveries(
        session, webhook_id=row.id, status=status, after=page.after, limit=page.limit + 1
    )
    kept, cursor = cut_page(rows, page)
    return [delivery_out(delivery) for delivery in kept], cursor


# --- the delivery worker's side -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery, ready to send: the URL, the body and the signed headers (the
    timestamp is this attempt's), or `ended` if it must not be sent."""

    delivery: repository.Claimed
    url: str
    body: bytes
    headers: dict[str, str]
    ended: str | None = None


def lease_s(settings: Settings) -> float:
    """How long a claim holds a delivery: the attempt's timeout with room to spare. Another
    worker takes the delivery after that (this one died)."""
    return 3 * settings.webhook_timeout_s + 30


async def claim(
    *, session: AsyncSession, settings: Settings, limit: int, claim_id: str, now: datetime
) -> list[Attempt]:
    """Claim up to `limit` due deliveries for this worker and build each attempt."""
    claimed = await repository.claim_due(
        session, limit=limit, lease_s=lease_s(settings), claim=claim_id
    )
    if not claimed:
        return []
    events = {e.id: e for e in await events_by_ids(session, [c.event_id for c in claimed])}
    timestamp = int(now.timestamp())
    attempts = []
    for delivery in claimed:
        event = events.get(delivery.event_id)
        if not delivery.live or event is None:
            why = "webhook deleted or disabled" if not delivery.live else "event not found"
            attempts.append(Attempt(delivery, delivery.url, b"", {}, ended=why))
            continue
        body = catalog.payload(
            change_type=event.type,
            at=event.at,
            tenant_id=event.tenant_id,
            target=event.target,
            details=event.details,
        )
        headers = signing.headers(delivery.secret, event.id, timestamp, body)
        attempts.append(Attempt(delivery, delivery.url, body, headers))
    return attempts


def backoff_s(attempts: int, settings: Settings, rng: random.Random) -> float:
    """The delay before the next attempt after `attempts` failed ones: exponential from
    `webhook_retry_min_s` (5 s), doubling, never over `webhook_retry_max_s` (1 h), with jitter
    in the upper half of each step (so retries of many deliveries spread out)."""
    ceiling = min(
        settings.webhook_retry_min_s * 2 ** max(attempts, 1), settings.webhook_retry_max_s
    )
    floor = max(min(settings.webhook_retry_min_s, ceiling), ceiling / 2)
    return rng.uniform(floor, ceiling)


async def end_unsent(*, session: AsyncSession, attempt: Attempt, claim_id: str) -> None:
    await repository.end_delivery(
        session, delivery_id=attempt.delivery.id, claim=claim_id, why=attempt.ended or "ended"
    )


async def record_outcome(
    *,
    session: AsyncSession,
    settings: Settings,
    attempt: Attempt,
    claim_id: str,
    ok: bool,
    status_code: int | None,
    error: str | None,
    rng: random.Random,
) -> str | None:
    """Write how an attempt ended; the delivery's status after it (None: the claim was no
    longer this worker's). A hook failing for `webhook_disable_after_s` (24 h) straight, or
    whose delivery just ran out of retries with no success since it was made, is disabled:
    its pending deliveries end, and a `webhook.disabled` event says so."""
    delivery = attempt.delivery
    if ok:
        assert status_code is not None
        done = await repository.record_success(
            session,
            delivery_id=delivery.id,
            claim=claim_id,
            status_code=status_code,
            webhook_id=delivery.webhook_id,
        )
        return "succeeded" if done else None
    failure = await repository.record_failure(
        session,
        delivery_id=delivery.id,
        claim=claim_id,
        webhook_id=delivery.webhook_id,
        status_code=status_code,
        error=(error or "failed")[:500],
        delay_s=backoff_s(delivery.attempts, settings, rng),
        retry_for_s=settings.webhook_retry_for_s,
    )
    if failure.failing_since is not None:
        streak = failure.now - failure.failing_since
        gave_up = failure.status == "failed" and (
            failure.last_success_at is None or failure.last_success_at < delivery.created_at
        )
        if streak >= timedelta(seconds=settings.webhook_disable_after_s) or gave_up:
            await _disable(session, delivery.webhook_id, failure.failing_since, error)
    return failure.status


async def _disable(
    session: AsyncSession, webhook_id: str, failing_since: datetime, error: str | None
) -> None:
    hook = await repository.disable_webhook(session, webhook_id)
    if hook is None:
        return
    log.warning("webhook disabled after failing", extra={"webhook_id": webhook_id})
    await record_event(
        session,
        type=DISABLED,
        target=hook.id,
        tenant_id=hook.tenant_id,
        actor_key_id=None,
        details={
            "origin": origin(hook.url),
            "failing_since": rfc3339_utc(failing_since),
            "disabled_at": rfc3339_utc(hook.disabled_at) if hook.disabled_at else None,
            "last_error": error,
        },
    )


# --- registry freshness as events ---------------------------------------------------------


async def announce_registry_ages(*, session: AsyncSession, now: datetime | None = None) -> int:
    """Record a `registry.aging` event for each live registry list within 7 days of turning
    stale, and a `registry.stale` one for each that is stale, once per refresh (a list
    refreshed again, or given another maximum age, is announced again when it ages again);
    how many were recorded. Staleness is never stored (app/dnc/freshness.py): it is read
    here, every minute, from the same ages /readyz and /metrics show."""
    recorded = 0
    for age in await dnc.registry_ages(session=session, now=now):
        if age.state == "fresh":
            continue
        state = "stale" if age.state == "stale" else "aging"
        if not await repository.first_notice(
            session, list_id=age.list_id, state=state, stale_at=age.stale_at
        ):
            continue
        await record_event(
            session,
            type=f"registry.{state}",
            target=age.list_id,
            tenant_id=age.tenant_id,
            actor_key_id=None,
            details={
                "list_id": age.list_id,
                "scope": age.scope,
                "refreshed_at": rfc3339_utc(age.refreshed_at),
                "max_age_days": age.max_age_days,
                "stale_at": rfc3339_utc(age.stale_at),
            },
        )
        recorded += 1
    return recorded
