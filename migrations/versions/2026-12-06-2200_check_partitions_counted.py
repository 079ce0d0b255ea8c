"""Check records: each month's partition counts its own rows, so a big batch can COPY into it

A binary `COPY` into the partitioned `check_records` stores one row at a time whenever the parent
has a statement trigger with a transition table (PostgreSQL cannot batch a partitioned table's
rows then), and the counting trigger of migration 0013 is one. Into the month's partition, a
plain table, `COPY` stores its rows in batches: 10,000 records about a fifth faster
(docs/BENCHMARKS.md, issue 22, fourth round). So:

- every partition gets the counting trigger too (`check_records_counted`, statement level, the
  same function). A statement fires the triggers of the table it names only: an `INSERT` into
  the parent is counted by the parent's, a `COPY` into a partition by the partition's, never
  both.
- `count_check_records()` refuses rows written into a table that is no longer a partition of
  `check_records` (detached by hand): such records would be out of every read and every chain
  walk, so the statement fails and its checks answer 503 (fail closed).
- `ensure_check_partitions` makes each new month with that trigger (before it is attached) and
  with the parent's `INSERT` grants (a serving role granted `INSERT` on `check_records` may then
  write the month directly; the writer checks, and otherwise writes through the parent).

Revision ID: 0020_check_partitions_counted
Revises: 0019_dnc_registry_compact
Create Date: 2026-12-06 22:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_check_partitions_counted"
down_revision: str | None = "0019_dnc_registry_compact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as migration 0013 wrote it, and (@GUARD@) refusing rows of a table that is not check_records
# or one of its partitions
COUNT_RECORDS = """
CREATE OR REPLACE FUNCTION count_check_records() RETURNS trigger
LANGUAGE plpgsql
-- runs as the tables' owner: a serving role that may only insert records still counts them
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
BEGIN
    @GUARD@
    INSERT INTO check_counts AS c (tenant_id, hour, lane, @COLUMNS@)
    SELECT coalesce(tenant_id, ''), date_trunc('hour', decided_at, 'UTC'), lane,
        count(*) FILTER (WHERE outcome = 'allowed'),
        count(*) FILTER (WHERE outcome = 'invalid'),
        count(*) FILTER (WHERE error = 'opted_out'),
        count(*) FILTER (WHERE error = 'dnc_blocked'),
        count(*) FILTER (WHERE error = 'call_hours_violation')
    FROM new_rows GROUP BY 1, 2, 3
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
GUARD = """IF TG_RELID <> 'check_records'::regclass AND NOT EXISTS (
        SELECT FROM pg_inherits
        WHERE inhrelid = TG_RELID AND inhparent = 'check_records'::regclass
    ) THEN
        RAISE EXCEPTION 'check records written into %, which is not a partition of check_records',
            TG_RELID::regclass USING ERRCODE = 'restrict_violation';
    END IF;"""
COLUMNS = "allowed, invalid_phone, opted_out, dnc_blocked, call_hours_violation"

COUNTED = (
    "CREATE TRIGGER check_records_counted AFTER INSERT ON %I "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION count_check_records()"
)
NO_TRUNCATE = (
    "CREATE TRIGGER check_records_no_truncate BEFORE TRUNCATE ON %I "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
)
# the roles (0: PUBLIC) granted INSERT on the parent, as GRANT names them
INSERTERS = """
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = 'check_records'::regclass AND a.privilege_type = 'INSERT'
  AND a.grantee <> c.relowner
"""

# a new month counted and granted as the parent (@COUNTED@ below)
COUNTED_AND_GRANTED = f"""EXECUTE format('{COUNTED}', name);
            FOR grantee IN {INSERTERS} LOOP
                EXECUTE format('GRANT INSERT ON %I TO %s', name, grantee);
            END LOOP;"""

# as migration 0008 made it, and (@COUNTED@) each new month counting its own rows
ENSURE_PARTITIONS = f"""
CREATE OR REPLACE FUNCTION ensure_check_partitions(ahead integer) RETURNS integer
LANGUAGE plpgsql
-- runs as the tables' owner, so a serving role that may only insert can still make months;
-- its search path is fixed (temporary tables last), so a caller cannot slip in tables of its own
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
DECLARE
    month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    made integer := 0;
    name text;
    grantee text;
BEGIN
    -- processes starting together make each partition once
    PERFORM pg_advisory_xact_lock(hashtext('callguard.ensure_check_partitions'));
    -- never wait long in the lock queue of check_records (the caller retries later)
    PERFORM set_config('lock_timeout', '2s', true);
    FOR i IN 0..ahead LOOP
        name := format('check_records_p%s', to_char(month, 'YYYYMM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I (LIKE check_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                name
            );
            @COUNTED@
            EXECUTE format(
                'ALTER TABLE check_records ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                name,
                (month::timestamp AT TIME ZONE 'UTC'),
                ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC')
            );
            EXECUTE format('{NO_TRUNCATE}', name);
            made := made + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN made;
END
$$
"""

PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'check_records'::regclass
"""


def _on_every_partition(statement: str) -> str:
    return f"""
        DO $$
        DECLARE name text; grantee text;
        BEGIN
            FOR name IN {PARTITIONS} LOOP
                {statement}
            END LOOP;
        END
        $$
        """


def _functions(*, counted: bool) -> None:
    """Both functions, with (upgrade) or without (downgrade: as migrations 0013 and 0008 made
    them) the partitions' own counting."""
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    count_records = COUNT_RECORDS.replace("@GUARD@", GUARD if counted else "")
    op.execute(count_records.replace("@SCHEMA@", schema).replace("@COLUMNS@", COLUMNS))
    ensure = ENSURE_PARTITIONS.replace("@COUNTED@", COUNTED_AND_GRANTED if counted else "")
    op.execute(ensure.replace("@SCHEMA@", schema))


def upgrade() -> None:
    _functions(counted=True)
    op.execute(_on_every_partition(COUNTED_AND_GRANTED))


def downgrade() -> None:
    op.execute(
        _on_every_partition("EXECUTE format('DROP TRIGGER check_records_counted ON %I', name);")
    )
    _functions(counted=False)
