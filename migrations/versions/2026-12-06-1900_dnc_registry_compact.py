"""A registry list's entries leave the list-order index (issue 22, storage)

- `dnc_lists.entry_key`, generated: the list's `seq`, negated for a registry list. Entries
  carry it as `list_key` (the column `list_seq` renamed: it no longer always holds the seq).
- The index of a list's numbers in order, `(list_key, number)`, now holds the lists with a
  positive key only. A registry list (a government registry's copy: most of all entries) is
  read in order through the primary key `(number, list_key)`, so its entries cost 84 bytes
  instead of 115 (docs/BENCHMARKS.md).
- Existing registry lists' entries are re-keyed here: one pass over them (a rewrite of those
  rows; a big registry wants a VACUUM after).

Revision ID: 0019_dnc_registry_compact
Revises: 0018_scrubs
Create Date: 2026-12-06 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dnc_registry_compact"
down_revision: str | None = "0018_scrubs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTRY_KEY = "CASE WHEN kind = 'registry' THEN -seq ELSE seq END"  # as app/dnc/models.py


def upgrade() -> None:
    op.add_column(
        "dnc_lists",
        sa.Column(
            "entry_key", sa.Integer(), sa.Computed(ENTRY_KEY, persisted=True), nullable=False
        ),
    )
    op.create_unique_constraint("uq_dnc_lists_entry_key", "dnc_lists", ["entry_key"])
    op.drop_index("ix_dnc_entries_list_seq_number", table_name="dnc_entries")
    op.alter_column("dnc_entries", "list_seq", new_column_name="list_key")
    op.execute(
        "UPDATE dnc_entries e SET list_key = l.entry_key FROM dnc_lists l "
        "WHERE l.seq = e.list_key AND l.entry_key <> l.seq"
    )
    op.create_index(
        "ix_dnc_entries_list_key_number",
        "dnc_entries",
        ["list_key", "number"],
        postgresql_where=sa.text("list_key > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_dnc_entries_list_key_number", table_name="dnc_entries")
    op.execute(
        "UPDATE dnc_entries e SET list_key = l.seq FROM dnc_lists l "
        "WHERE l.entry_key = e.list_key AND l.entry_key <> l.seq"
    )
    op.alter_column("dnc_entries", "list_key", new_column_name="list_seq")
    op.create_index("ix_dnc_entries_list_seq_number", "dnc_entries", ["list_seq", "number"])
    op.drop_constraint("uq_dnc_lists_entry_key", "dnc_lists", type_="unique")
    op.drop_column("dnc_lists", "entry_key")
