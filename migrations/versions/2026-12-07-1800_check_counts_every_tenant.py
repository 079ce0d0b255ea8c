"""Every tenant's checks per hour, kept as one row an hour (a scale review, 2026-12-07)

`check_counts` gets, for each hour upkeep has merged, a row of every tenant's decisions together
(tenant_id '*', lane ''): `compact_check_counts(before)` adds the lanes it merges to it in the
same statement, beside each tenant's own row. The platform's statistics of every tenant then
read that row for merged hours and the lanes not merged yet, not a row per tenant and hour:
summing the tenants' rows took 0.6 s for 30 days and 8 s for a year of 1,000 tenants (a
scratch copy on PostgreSQL 15; past the statement timeout), growing with the tenants
(docs/BENCHMARKS.md, issue 22, tenth round). The hours merged before this migration are summed
into their '*' rows here, in two steps: the new function is committed first (so no merge
starts with the old one after), then, under a lock on `check_counts` that waits for any merge
still running with the old one and keeps the next ones out until this migration commits, each
hour's '*' row is set to the sum of its merged rows. That lock keeps the checks' counting (so
the checks) waiting too, for as long as the sum takes: 4.3-5.6 s for 8.76 million rows of
counts (1,000 tenants over a year) on a quiet 2-core machine, where a request's own timeout is 5
s; on a large installation run this migration when checks are few. A tenant's id is never '*' (ids
are `ten_…`; the platform is ''). The check's own write (the trigger) is unchanged. Undone the same
way: the old function committed first, then the '*' rows deleted under the lock.

Revision ID: 0021_check_counts_every_tenant
Revises: 0020_change_events_at
Create Date: 2026-12-07 18:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_check_counts_every_tenant"
down_revision: str | None = "0020_change_events_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVERY_TENANT = "*"
COLUMNS = "allowed, invalid_phone, opted_out, dnc_blocked, call_hours_violation"
SUMS = ", ".join(f"sum({name})" for name in COLUMNS.split(", "))
ADD = ",\n            ".join(f"{name} = c.{name} + excluded.{name}" for name in COLUMNS.split(", "))
INTO = f"INSERT INTO check_counts AS c (tenant_id, hour, lane, {COLUMNS})"


def _compact(every_tenant: bool) -> str:
    """compact_check_counts(before): merge the lanes of every hour before `before` into one row
    per tenant and hour (and, with `every_tenant`, into the hour's row of every tenant)."""
    everyone = (
        f"""
    ), everyone AS (
        {INTO}
        SELECT '{EVERY_TENANT}', hour, '', {SUMS} FROM gone GROUP BY hour
        ON CONFLICT (tenant_id, hour, lane) DO UPDATE SET
            {ADD}
        RETURNING 1"""
        if every_tenant
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION compact_check_counts(before timestamptz) RETURNS integer
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
            {ADD}
        RETURNING 1{everyone}
    )
    SELECT count(*) INTO merged FROM gone;
    RETURN merged;
END
$$
"""


def _schema() -> str:
    return str(op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one())


OVERWRITE = ",\n    ".join(f"{name} = excluded.{name}" for name in COLUMNS.split(", "))


def _replace(every_tenant: bool) -> None:
    """The function replaced and committed at once: a merge that starts after runs the new
    one, and the lock taken next waits for any still running the old one."""
    sql = _compact(every_tenant).replace("@SCHEMA@", _schema())
    with op.get_context().autocommit_block():
        op.execute(sql)


def upgrade() -> None:
    _replace(every_tenant=True)
    op.execute("LOCK TABLE check_counts IN SHARE ROW EXCLUSIVE MODE")
    # set, not added: a merge that ran the new function before the lock is in its hour's sum
    op.execute(
        f"{INTO} SELECT '{EVERY_TENANT}', hour, '', {SUMS} FROM check_counts "
        f"WHERE lane = '' AND tenant_id <> '{EVERY_TENANT}' GROUP BY hour "
        f"ON CONFLICT (tenant_id, hour, lane) DO UPDATE SET {OVERWRITE}"
    )


def downgrade() -> None:
    _replace(every_tenant=False)
    op.execute("LOCK TABLE check_counts IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"DELETE FROM check_counts WHERE tenant_id = '{EVERY_TENANT}'")
