"""Scrub jobs (API-2.md section 15): a campaign file decided row by row as checks would be

- `scrubs`: one job a file: its instant, channel and purpose, its status and heartbeat (a job
  whose process died is failed by the sweeper, as uploads are), live `rows_read`, the summary,
  the SHA-256 of the input as sent and of the whole result, and when its result file expires.
  The result itself is a file in the data folder, never rows here: a scrub writes no check
  record (it plans a campaign; it does not license a call).

Revision ID: 0018_scrubs
Revises: 0017_webhooks
Create Date: 2026-12-06 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_scrubs"
down_revision: str | None = "0017_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scrubs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40)),
        sa.Column("created_by", sa.String(40)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(5), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text()),
        sa.Column("gzip", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("summary", postgresql.JSONB()),
        sa.Column("input_sha256", sa.String(64)),
        sa.Column("result_sha256", sa.String(64)),
        sa.Column("failure", postgresql.JSONB()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "heartbeat_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("result_deleted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="ck_scrubs_status"
        ),
    )
    op.create_index("ix_scrubs_tenant_id_created_at", "scrubs", ["tenant_id", "created_at", "id"])
    op.create_index("ix_scrubs_status_heartbeat_at", "scrubs", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_table("scrubs")
