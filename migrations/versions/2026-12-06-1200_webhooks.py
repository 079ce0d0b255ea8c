"""Webhooks (API-2.md section 17): hooks, their deliveries, the fan-out, registry notices

- `webhooks`: a tenant's (or, with no tenant, the platform's) receivers, with the events they
  subscribed to, the change event types those stand for (`change_types`), and the 32 raw bytes
  of their HMAC key (signing needs the key itself; never returned after the creation's answer,
  wiped on deletion).
- `webhook_deliveries`: one event for one hook, `pending` until it `succeeded` or `failed`.
- The transactional outbox: `change_events` is the outbox. The trigger `webhooks_fan_out`
  (AFTER INSERT on `change_events`, each row) adds a delivery for every live hook of the
  event's tenant (the platform's hooks for an event of no tenant) subscribed to its type, in
  the transaction that records the event, which is the one that makes the change: a change
  never commits without its deliveries, and a rolled-back change leaves none. It sends
  `NOTIFY callguard_webhooks` when it made one, heard when that transaction commits.
- `registry_notices`: which registry lists' aging and staleness were announced as events.

Revision ID: 0017_webhooks
Revises: 0016_call_attempts
Create Date: 2026-12-06 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_webhooks"
down_revision: str | None = "0016_call_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")

# `dlv_` and 16 base62 characters from the random bits of a v4 UUID (md5 spreads them over 16
# bytes); ids grant nothing (every read is scoped to the hook's tenant)
DELIVERY_ID = """
CREATE FUNCTION webhook_delivery_id() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT 'dlv_' || string_agg(
        substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
               get_byte(r.b, i.n) % 62 + 1, 1), '' ORDER BY i.n)
    FROM (SELECT decode(md5(gen_random_uuid()::text), 'hex') AS b) AS r,
         generate_series(0, 15) AS i(n)
$$
"""

FAN_OUT = """
CREATE FUNCTION webhooks_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id IS NULL THEN
        INSERT INTO webhook_deliveries (webhook_id, event_id, change_type, next_attempt_at)
        SELECT w.id, NEW.id, NEW.type, clock_timestamp() FROM webhooks w
        WHERE w.tenant_id IS NULL AND w.deleted_at IS NULL AND w.disabled_at IS NULL
          AND NEW.type = ANY (w.change_types);
    ELSE
        INSERT INTO webhook_deliveries (webhook_id, event_id, change_type, next_attempt_at)
        SELECT w.id, NEW.id, NEW.type, clock_timestamp() FROM webhooks w
        WHERE w.tenant_id = NEW.tenant_id AND w.deleted_at IS NULL AND w.disabled_at IS NULL
          AND NEW.type = ANY (w.change_types);
    END IF;
    IF FOUND THEN
        PERFORM pg_notify('callguard_webhooks', '');
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(DELIVERY_ID)
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("change_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("char_length(url) <= 2048", name=op.f("ck_webhooks_url_length")),
        sa.CheckConstraint(
            "char_length(description) <= 500", name=op.f("ck_webhooks_description_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhooks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(
        "ix_webhooks_live_tenant",
        "webhooks",
        ["tenant_id"],
        postgresql_where=sa.text("deleted_at IS NULL AND disabled_at IS NULL"),
    )
    op.create_index("ix_webhooks_tenant_created", "webhooks", ["tenant_id", "created_at", "id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "id", sa.String(40), server_default=sa.text("webhook_delivery_id()"), nullable=False
        ),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("change_type", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (next_attempt_at IS NOT NULL)",
            name=op.f("ck_webhook_deliveries_pending_has_next"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_hook_created",
        "webhook_deliveries",
        ["webhook_id", "created_at", "id"],
    )
    op.create_index(
        "uq_webhook_deliveries_webhook_id_event_id",
        "webhook_deliveries",
        ["webhook_id", "event_id"],
        unique=True,
    )
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["finished_at"],
        postgresql_where=sa.text("status <> 'pending'"),
    )

    op.create_table(
        "registry_notices",
        sa.Column("list_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(6), nullable=False),
        sa.Column("stale_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("list_id", "state", "stale_at", name=op.f("pk_registry_notices")),
    )

    op.execute(FAN_OUT)
    op.execute(
        "CREATE TRIGGER webhooks_fan_out AFTER INSERT ON change_events "
        "FOR EACH ROW EXECUTE FUNCTION webhooks_fan_out()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhooks_fan_out ON change_events")
    op.execute("DROP FUNCTION webhooks_fan_out()")
    op.drop_table("registry_notices")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.execute("DROP FUNCTION webhook_delivery_id()")
