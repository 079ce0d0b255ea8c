"""Opt-outs: append-only events, a current-state row per number, uploads of either kind

Revision ID: 0006_optouts
Revises: 0005_dnc_uploads
Create Date: 2026-11-22 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_optouts"
down_revision: str | None = "0005_dnc_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
CHANNELS = "('voice', 'sms', 'all')"
SOURCES = "('sms_stop', 'ivr', 'agent', 'web', 'email', 'api')"

# Shared by every append-only table (opt-out events here, check records later).
REFUSE_CHANGE = """
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _channel_state(channel: str) -> list[sa.Column[object]]:
    """The newest event deciding one channel: for that channel or for `all`."""
    return [
        sa.Column(f"{channel}_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(f"{channel}_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(f"{channel}_event_id", sa.String(40), nullable=True),
        sa.Column(f"{channel}_channel", sa.String(5), nullable=True),
        sa.Column(f"{channel}_source", sa.String(10), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "optout_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(5), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_key_id", sa.String(40), nullable=True),
        sa.Column("upload_id", sa.String(40), nullable=True),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="ck_optout_events_channel"),
        sa.CheckConstraint("kind IN ('opt_out', 'opt_in')", name="ck_optout_events_kind"),
        sa.CheckConstraint(f"source IN {SOURCES}", name="ck_optout_events_source"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_optout_events_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_optout_events"),
    )
    # a number's history, newest first
    op.execute(
        "CREATE INDEX ix_optout_events_history ON optout_events "
        "(tenant_id, number, occurred_at DESC, seq DESC)"
    )
    op.execute(REFUSE_CHANGE)
    op.execute(
        "CREATE TRIGGER optout_events_append_only BEFORE UPDATE OR DELETE ON optout_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )

    op.create_table(
        "optout_state",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        *_channel_state("voice"),
        *_channel_state("sms"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "number", name="pk_optout_state"),
    )
    # the listing of numbers opted out now, in number order
    op.create_index(
        "ix_optout_state_opted_out",
        "optout_state",
        ["tenant_id", "number"],
        postgresql_where=sa.text("voice_out OR sms_out"),
    )

    # uploads of DNC numbers (into a list) and of opt-outs (into a tenant's events)
    op.rename_table("dnc_uploads", "uploads")
    op.execute("ALTER INDEX pk_dnc_uploads RENAME TO pk_uploads")
    op.execute(
        "ALTER INDEX ix_dnc_uploads_status_heartbeat_at RENAME TO ix_uploads_status_heartbeat_at"
    )
    op.execute(
        "ALTER TABLE uploads RENAME CONSTRAINT fk_dnc_uploads_list_id_dnc_lists "
        "TO fk_uploads_list_id_dnc_lists"
    )
    op.add_column("uploads", sa.Column("kind", sa.String(8), server_default="dnc", nullable=False))
    op.add_column("uploads", sa.Column("channel", sa.String(5), nullable=True))
    op.add_column("uploads", sa.Column("source", sa.String(10), nullable=True))
    op.alter_column("uploads", "list_id", nullable=True)
    op.create_check_constraint(
        op.f("ck_uploads_kind"),
        "uploads",
        "(kind = 'dnc' AND list_id IS NOT NULL AND channel IS NULL) OR "
        f"(kind = 'optout' AND list_id IS NULL AND tenant_id IS NOT NULL "
        f"AND channel IN {CHANNELS} AND source IN {SOURCES} AND mode = 'append')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM uploads WHERE kind = 'optout'")
    op.drop_constraint(op.f("ck_uploads_kind"), "uploads")
    op.alter_column("uploads", "list_id", nullable=False)
    op.drop_column("uploads", "source")
    op.drop_column("uploads", "channel")
    op.drop_column("uploads", "kind")
    op.execute(
        "ALTER TABLE uploads RENAME CONSTRAINT fk_uploads_list_id_dnc_lists "
        "TO fk_dnc_uploads_list_id_dnc_lists"
    )
    op.execute(
        "ALTER INDEX ix_uploads_status_heartbeat_at RENAME TO ix_dnc_uploads_status_heartbeat_at"
    )
    op.execute("ALTER INDEX pk_uploads RENAME TO pk_dnc_uploads")
    op.rename_table("uploads", "dnc_uploads")
    op.drop_table("optout_state")
    op.execute("DROP TRIGGER optout_events_append_only ON optout_events")
    op.drop_table("optout_events")
    op.execute("DROP FUNCTION refuse_change()")
