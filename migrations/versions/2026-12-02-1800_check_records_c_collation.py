"""Check records: byte-order collation for the indexed ids

Every check record adds three index entries keyed by `id`, `tenant_id` and `lane`. Under a libc
locale such as C.UTF-8 each key comparison goes through strcoll; under "C" it is a memcmp, which
made writing a batch's records about a fifth cheaper. On a C or C.UTF-8 database (the embedded
one) the ids' order is the same either way, so audit cursors stay valid; under another locale
(en_US.UTF-8, say) mixed-case ids sort differently, and a cursor issued before the migration may
skip or repeat records of one batch when used after it. Changing the collation rebuilds these
indexes (not the table), under a lock on check_records for as long as that takes.

Revision ID: 0009_check_records_c_collation
Revises: 0008_check_partitions_attach
Create Date: 2026-12-02 18:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_check_records_c_collation"
down_revision: str | None = "0008_check_partitions_attach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("id", "tenant_id", "lane")


def _collate(collation: str) -> None:
    changes = ", ".join(
        f'ALTER COLUMN {column} TYPE varchar(40) COLLATE "{collation}"' for column in COLUMNS
    )
    op.execute(f"ALTER TABLE check_records {changes}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
