"""Check counts by the hour (audit statistics) and the indexes of a number's history

- `check_counts`: per tenant ('' is the platform's own), UTC hour and writer lane, how many
  decisions of each outcome. A statement-level `AFTER INSERT` trigger on `check_records` with a
  transition table adds each written batch to it: one upsert per batch (the unnest INSERT or the
  binary COPY alike), inside the statement's own transaction, with no extra round trip. Rows
  are per lane because a lane is written by one writer slot at a time: two slots never wait on
  each other's counts, so the counts cost batches no lock wait (a row per tenant and hour would
  hold every other slot's batch of that tenant until this one's commit). The trigger function
  runs as the tables' owner (`SECURITY DEFINER`, fixed search path), so a serving role needs no
  right to change the counts. `compact_check_counts(before)` (also the owner's; upkeep runs it
  every round) merges the lanes of each hour before `before` into one row (lane ''), so reads
  stay at one row per tenant and hour however many slots wrote it; a partial index finds the
  rows still to merge. Existing records are counted here once (the trigger is created
  first: its lock keeps writers out until this migration commits, so none is missed or counted
  twice).
- `check_records.phone` compares byte by byte (`COLLATE "C"`, as the ids since 0009) and gets the
  index `(tenant_id, phone, decided_at, id)`: a number's checks, newest first, read in order.
- `change_events (target, at, id)`: a number's single-number DNC changes, newest first.
Both indexes are built under a lock on their table for as long as that takes.

Revision ID: 0013_check_counts
Revises: 0012_idempotency_request_id
Create Date: 2026-12-06 08:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_check_counts"
down_revision: str | None = "0012_idempotency_request_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the counts of a set of records (`source`), grouped as check_counts keys them
COUNTED = """
SELECT coalesce(tenant_id, ''), date_trunc('hour', decided_at, 'UTC'), lane,
    count(*) FILTER (WHERE outcome = 'allowed'),
    count(*) FILTER (WHERE outcome = 'invalid'),
    count(*) FILTER (WHERE error = 'opted_out'),
    count(*) FILTER (WHERE error = 'dnc_blocked'),
    count(*) FILTER (WHERE error = 'call_hours_violation')
FROM {source} GROUP BY 1, 2, 3
"""
COLUMNS = "allowed, invalid_phone, opted_out, dnc_blocked, call_hours_violation"
INTO = f"INSERT INTO check_counts AS c (tenant_id, hour, lane, {COLUMNS})"

COUNT_RECORDS = f"""
CREATE FUNCTION count_check_records() RETURNS trigger
LANGUAGE plpgsql
-- runs as the tables' owner: a serving role that may only insert records still counts them
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
BEGIN
    {INTO}
    {COUNTED.format(source="new_rows")}
    ON CONFLICT (tenant_id, hour, lane) DO UPDATE SET
        allowed = c.allowed + excluded.allowed,
        invalid_phone = c.invalid_phone + excluded.invalid_phone,
        opted_out = c.opted_out + excluded.opted_out,
        dnc_blocked = c.dnc_blocked + excluded.dnc_blocked,
        call_hours_violation = c.call_hours_violation + excluded.call_hours_violation;
    RETURN NULL;
END
$$
"""


SUMS = ", ".join(f"sum({name})" for name in COLUMNS.split(", "))

COMPACT_COUNTS = f"""
CREATE FUNCTION compact_check_counts(before timestamptz) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
DECLARE
    merged integer;
BEGIN
    WITH gone AS (
        DELETE FROM check_counts WHERE hour < before AND lane <> '' RETURNING *
    ), added AS (
        {INTO}
        SELECT tenant_id, hour, '', {SUMS} FROM gone GROUP BY tenant_id, hour
        ON CONFLICT (tenant_id, hour, lane) DO UPDATE SET
            allowed = c.allowed + excluded.allowed,
            invalid_phone = c.invalid_phone + excluded.invalid_phone,
            opted_out = c.opted_out + excluded.opted_out,
            dnc_blocked = c.dnc_blocked + excluded.dnc_blocked,
            call_hours_violation = c.call_hours_violation + excluded.call_hours_violation
        RETURNING 1
    )
    SELECT count(*) INTO merged FROM gone;
    RETURN merged;
END
$$
"""


def _phone_collation(collation: str) -> None:
    op.execute(f'ALTER TABLE check_records ALTER COLUMN phone TYPE text COLLATE "{collation}"')


def upgrade() -> None:
    count = sa.BigInteger()
    op.create_table(
        "check_counts",
        sa.Column("tenant_id", sa.String(40, collation="C"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lane", sa.String(40, collation="C"), nullable=False),
        *(sa.Column(name, count, nullable=False) for name in COLUMNS.split(", ")),
        sa.PrimaryKeyConstraint("tenant_id", "hour", "lane", name="pk_check_counts"),
    )
    # every tenant's counts over a range of hours (a platform key's statistics)
    op.create_index("ix_check_counts_hour", "check_counts", ["hour"])
    # the rows compaction has still to merge
    op.create_index(
        "ix_check_counts_lanes", "check_counts", ["hour"], postgresql_where=sa.text("lane <> ''")
    )
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    op.execute(COUNT_RECORDS.replace("@SCHEMA@", schema))
    op.execute(COMPACT_COUNTS.replace("@SCHEMA@", schema))
    op.execute("REVOKE EXECUTE ON FUNCTION compact_check_counts(timestamptz) FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER check_records_counted AFTER INSERT ON check_records "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION count_check_records()"
    )
    op.execute(f"{INTO} {COUNTED.format(source='check_records')}")

    _phone_collation("C")
    op.execute(
        "CREATE INDEX ix_check_records_tenant_phone ON check_records "
        "(tenant_id, phone, decided_at, id)"
    )
    op.create_index("ix_change_events_target_at", "change_events", ["target", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_change_events_target_at", "change_events")
    op.execute("DROP INDEX ix_check_records_tenant_phone")
    _phone_collation("default")
    op.execute("DROP TRIGGER check_records_counted ON check_records")
    op.execute("DROP FUNCTION count_check_records()")
    op.execute("DROP FUNCTION compact_check_counts(timestamptz)")
    op.drop_table("check_counts")
