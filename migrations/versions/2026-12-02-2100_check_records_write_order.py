"""Check records: cheaper to write in bulk (ascending auditors' index, details as json)

Two changes that cut what PostgreSQL does per stored record, measured on copies of the table
with 10,000-record COPYs:
- The auditors' index becomes `(tenant_id, decided_at, id)`, ascending. Newest-first queries read
  it backwards just as fast, but a batch's entries (whose ids now ascend in the batch's order)
  now go one after another at the end of the tenant's range instead of each at its start.
- `details` becomes `json`: the text is kept as written (the chain's canonical spelling, sorted
  keys) and only checked, where `jsonb` parsed it into its binary form for every record. Nothing
  queries inside details; readers get the same objects. Records hash the same (verification
  re-spells the details it reads), so existing chains still verify.
Both rebuild under a lock on check_records for as long as that takes.

Revision ID: 0010_check_records_write_order
Revises: 0009_check_records_c_collation
Create Date: 2026-12-02 21:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_check_records_write_order"
down_revision: str | None = "0009_check_records_c_collation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_check_records_tenant_decided")
    op.execute(
        "CREATE INDEX ix_check_records_tenant_decided ON check_records (tenant_id, decided_at, id)"
    )
    op.execute("ALTER TABLE check_records ALTER COLUMN details TYPE json USING details::json")


def downgrade() -> None:
    op.execute("ALTER TABLE check_records ALTER COLUMN details TYPE jsonb USING details::jsonb")
    op.execute("DROP INDEX ix_check_records_tenant_decided")
    op.execute(
        "CREATE INDEX ix_check_records_tenant_decided ON check_records "
        "(tenant_id, decided_at DESC, id DESC)"
    )
