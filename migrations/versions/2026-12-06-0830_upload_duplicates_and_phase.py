"""Uploads: rows_duplicate (so the counts add up) and phase (reading, merging)

`rows_read = rows_accepted + rows_rejected + rows_duplicate`: a valid row whose number came
earlier in the file was counted nowhere. `phase` says what a running upload does, so a long
merge does not look stuck. Existing uploads get the duplicates their counts imply (0 for those
that failed before counting) and no phase.

Revision ID: 0014_upload_duplicates_and_phase
Revises: 0013_check_counts
Create Date: 2026-12-06 08:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_upload_duplicates_and_phase"
down_revision: str | None = "0013_check_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "uploads",
        sa.Column("rows_duplicate", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column("uploads", sa.Column("phase", sa.String(length=10), nullable=True))
    op.execute(
        "UPDATE uploads SET rows_duplicate = rows_read - rows_rejected - rows_accepted "
        "WHERE status = 'succeeded' AND rows_read - rows_rejected - rows_accepted > 0"
    )


def downgrade() -> None:
    op.drop_column("uploads", "phase")
    op.drop_column("uploads", "rows_duplicate")
