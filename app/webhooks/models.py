"""The webhooks' tables. `webhook_deliveries` rows are made by the trigger `webhooks_fan_out` on
`change_events` (migration 0017), in the transaction that records the event: an event and its
deliveries commit together or not at all. `registry_notices` remembers which registry lists'
aging and staleness were announced, so each is announced once."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base

DELIVERY_STATUSES = ("pending", "succeeded", "failed")
# the PL/pgSQL of the fan-out (migration 0017), named here so the models say where rows come from
FAN_OUT_TRIGGER = "webhooks_fan_out"
NOTIFY_CHANNEL = "callguard_webhooks"


class Webhook(Base):
    """A receiver of a tenant's events (or, with no tenant, of the platform's). `secret` is the
    32 raw bytes of the HMAC key: signing needs the key itself, so it is kept as it is (never
    returned after the creation's answer, wiped when the hook is deleted). `change_types` are the
    change events' types its `events` stand for (app/webhooks/catalog.py), which the fan-out
    matches."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("char_length(url) <= 2048", name="url_length"),
        CheckConstraint("char_length(description) <= 500", name="description_length"),
        # the fan-out's probe: the live hooks of an event's tenant (NULL: the platform's)
        Index(
            "ix_webhooks_live_tenant",
            "tenant_id",
            postgresql_where=text("deleted_at IS NULL AND disabled_at IS NULL"),
        ),
        # a tenant's hooks, newest first (the page's cursor)
        Index("ix_webhooks_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    change_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(String(40))
    # the first failure since the last success (null: the last attempt succeeded, or none yet)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event for one hook: `pending` until an attempt succeeds (`succeeded`) or its retries
    run out, or its hook is deleted or disabled (`failed`). While an attempt is in flight,
    `next_attempt_at` is its lease's end and `claim` the claimer's token: another worker takes
    it only once the lease has run out (the claimer died), and a result is written only by the
    claim it answers."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint(
            "(status = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_next"
        ),
        # what the workers claim: due pending deliveries, soonest first
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # a hook's deliveries, newest first (the page's cursor); one per event
        Index("ix_webhook_deliveries_hook_created", "webhook_id", "created_at", "id"),
        Index("uq_webhook_deliveries_webhook_id_event_id", "webhook_id", "event_id", unique=True),
        # the purge of old finished deliveries
        Index(
            "ix_webhook_deliveries_finished",
            "finished_at",
            postgresql_where=text("status <> 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(
        String(40), primary_key=True, server_default=text("webhook_delivery_id()")
    )
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[str] = mapped_column(String(40))  # the change event: the webhook-id header
    change_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegistryNotice(Base):
    """A registry list's aging or staleness, announced once (a `registry.aging` or
    `registry.stale` change event) for the refresh it is about: a list refreshed again (or
    given another maximum age) turns stale at another instant, and is announced again."""

    __tablename__ = "registry_notices"

    list_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(6), primary_key=True)
    stale_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
