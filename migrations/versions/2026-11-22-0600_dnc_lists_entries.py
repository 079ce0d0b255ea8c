"""DNC lists and entries

Revision ID: 0004_dnc
Revises: 0003_reference
Create Date: 2026-11-22 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dnc"
down_revision: str | None = "0003_reference"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "dnc_lists",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("entry_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('tenant', 'global')", name="ck_dnc_lists_scope"),
        sa.CheckConstraint(
            "(scope = 'global') = (tenant_id IS NULL)", name="ck_dnc_lists_scope_tenant"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_dnc_lists_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dnc_lists"),
        sa.UniqueConstraint("seq", name="uq_dnc_lists_seq"),
    )
    op.create_index(
        "uq_dnc_lists_live_name",
        "dnc_lists",
        [sa.text("coalesce(tenant_id, '')"), "name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "dnc_entries",
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("list_seq", sa.Integer(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("number", "list_seq", name="pk_dnc_entries"),
    )
    op.create_index("ix_dnc_entries_list_seq_number", "dnc_entries", ["list_seq", "number"])


def downgrade() -> None:
    op.drop_table("dnc_entries")
    op.drop_table("dnc_lists")
