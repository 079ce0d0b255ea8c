"""area codes (loaded from data/area_codes.csv), overrides, calling bans, tenant policies

Revision ID: 0003_reference
Revises: 0002_auth
Create Date: 2026-11-22 05:30:00+00:00

The area-code rows are the data file as it was when this revision was written; a later change
to the file ships as a new data migration, so every database can say which data it holds.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_reference"
down_revision: str | None = "0002_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
DATA = Path(__file__).resolve().parents[2] / "data" / "area_codes.csv"


def _rows() -> list[dict[str, object]]:
    with DATA.open(newline="", encoding="utf-8") as handle:
        return [
            {
                "npa": row["npa"],
                "country": row["country"],
                "region": row["region"] or None,
                "time_zones": row["time_zones"].split(),
                "geographic": row["geographic"] == "true",
                "in_service": row["in_service"] == "true",
                "parent_npa": row["parent_npa"] or None,
                "source": row["source"],
            }
            for row in csv.DictReader(handle)
        ]


def upgrade() -> None:
    area_codes = op.create_table(
        "area_codes",
        sa.Column("npa", sa.String(3), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("time_zones", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("geographic", sa.Boolean(), nullable=False),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.Column("parent_npa", sa.String(3), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("npa", name="pk_area_codes"),
    )
    op.bulk_insert(area_codes, _rows())
    op.create_table(
        "area_code_overrides",
        sa.Column("npa", sa.String(3), nullable=False),
        sa.Column("time_zones", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("in_service", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_by", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("npa", name="pk_area_code_overrides"),
    )
    op.create_table(
        "calling_bans",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calling_bans"),
    )
    op.create_index("ix_calling_bans_lifted_at_ends_at", "calling_bans", ["lifted_at", "ends_at"])
    op.create_table(
        "calling_policies",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("windows", postgresql.JSONB(), nullable=False),
        sa.Column("banned_dates", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_calling_policies_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_calling_policies"),
    )


def downgrade() -> None:
    op.drop_table("calling_policies")
    op.drop_table("calling_bans")
    op.drop_table("area_code_overrides")
    op.drop_table("area_codes")
