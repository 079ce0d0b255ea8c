"""DNC uploads

Revision ID: 0005_dnc_uploads
Revises: 0004_dnc
Create Date: 2026-11-22 06:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_dnc_uploads"
down_revision: str | None = "0004_dnc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "dnc_uploads",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("list_id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("force", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("gzip", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_accepted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_added", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_removed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("errors", postgresql.JSONB(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("failure", postgresql.JSONB(), nullable=True),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["dnc_lists.id"], name="fk_dnc_uploads_list_id_dnc_lists"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dnc_uploads"),
    )
    op.create_index("ix_dnc_uploads_status_heartbeat_at", "dnc_uploads", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_table("dnc_uploads")
