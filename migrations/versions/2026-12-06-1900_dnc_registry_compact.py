"""Compact lists: a global registry list's entries leave the list-order index (issue 22, storage)

- `dnc_lists.compact`, set when a list is made (a global registry list: the operator's copy of a
  national or state registry) and never changed: a trigger refuses a change, since the entries
  would no longer match their list. Lists made before this migration are not compact.
- `dnc_lists.entry_key`, generated: the list's `seq`, negated for a compact list. Entries carry
  it as `list_key` (the column `list_seq` renamed: it no longer always holds the seq). Every
  existing list keeps its seq as its key: no entry is rewritten.
- The index of a list's numbers in order, `(list_key, number)`, now holds the positive keys
  only. A compact list is read in order through the primary key `(number, list_key)`, so its
  entries cost 84 bytes instead of 115 (docs/BENCHMARKS.md). The index is built again here:
  minutes at registry scale, with the table locked against writes meanwhile.

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

ENTRY_KEY = "CASE WHEN compact THEN -seq ELSE seq END"  # as app/dnc/models.py

FIXED_LAYOUT = """
CREATE FUNCTION refuse_layout_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a DNC list''s layout is fixed when it is made (list %)', OLD.id
    USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.add_column(
        "dnc_lists",
        sa.Column("compact", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "dnc_lists",
        sa.Column(
            "entry_key", sa.Integer(), sa.Computed(ENTRY_KEY, persisted=True), nullable=False
        ),
    )
    op.create_unique_constraint("uq_dnc_lists_entry_key", "dnc_lists", ["entry_key"])
    op.execute(FIXED_LAYOUT)
    op.execute(
        "CREATE TRIGGER dnc_lists_layout_fixed BEFORE UPDATE OF compact ON dnc_lists "
        "FOR EACH ROW WHEN (NEW.compact IS DISTINCT FROM OLD.compact) "
        "EXECUTE FUNCTION refuse_layout_change()"
    )
    op.drop_index("ix_dnc_entries_list_seq_number", table_name="dnc_entries")
    op.alter_column("dnc_entries", "list_seq", new_column_name="list_key")
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
        "WHERE l.entry_key = e.list_key AND l.compact"
    )
    op.alter_column("dnc_entries", "list_key", new_column_name="list_seq")
    op.create_index("ix_dnc_entries_list_seq_number", "dnc_entries", ["list_seq", "number"])
    op.execute("DROP TRIGGER dnc_lists_layout_fixed ON dnc_lists")
    op.execute("DROP FUNCTION refuse_layout_change()")
    op.drop_constraint("uq_dnc_lists_entry_key", "dnc_lists", type_="unique")
    op.drop_column("dnc_lists", "entry_key")
    op.drop_column("dnc_lists", "compact")
