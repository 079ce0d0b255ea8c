"""Check partitions: made without locking out checks, each refusing TRUNCATE itself

`CREATE TABLE … PARTITION OF` takes an ACCESS EXCLUSIVE lock on check_records, which queues every
check's insert behind it; a table made alone and then attached (`ATTACH PARTITION` takes SHARE
UPDATE EXCLUSIVE, which inserts do not conflict with) does not. A statement trigger on the parent
does not fire for a `TRUNCATE` of one partition, so each partition gets its own. The index on
`id` alone goes: the primary key `(id, decided_at)` serves the same lookups.

Revision ID: 0008_check_partitions_attach
Revises: 0007_check_records
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_check_partitions_attach"
down_revision: str | None = "0007_check_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_TRUNCATE = (
    "CREATE TRIGGER check_records_no_truncate BEFORE TRUNCATE ON %I "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
)

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

PREVIOUS = """
CREATE OR REPLACE FUNCTION ensure_check_partitions(ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    made integer := 0;
    name text;
BEGIN
    FOR i IN 0..ahead LOOP
        name := format('check_records_p%s', to_char(month, 'YYYYMM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF check_records FOR VALUES FROM (%L) TO (%L)',
                name,
                (month::timestamp AT TIME ZONE 'UTC'),
                ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC')
            );
            made := made + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN made;
END
$$
"""

EXISTING = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'check_records'::regclass
"""


def on_every_partition(statement: str) -> str:
    """A block running `statement` (a format() pattern, %I the partition) on each partition."""
    return f"""
        DO $$
        DECLARE name text;
        BEGIN
            FOR name IN {EXISTING} LOOP
                EXECUTE format('{statement}', name);
            END LOOP;
        END
        $$
        """


def upgrade() -> None:
    # the primary key (id, decided_at) finds a record by id already: one index less per insert
    op.execute("DROP INDEX ix_check_records_id")
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    op.execute(ENSURE_PARTITIONS.replace("@SCHEMA@", schema))
    # the owner (and whoever it grants EXECUTE to) may make partitions; not every role
    op.execute("REVOKE EXECUTE ON FUNCTION ensure_check_partitions(integer) FROM PUBLIC")
    op.execute(on_every_partition(NO_TRUNCATE))


def downgrade() -> None:
    op.execute("DROP FUNCTION ensure_check_partitions(integer)")
    op.execute(on_every_partition("DROP TRIGGER IF EXISTS check_records_no_truncate ON %I"))
    op.execute(PREVIOUS)
    op.execute("CREATE INDEX ix_check_records_id ON check_records (id)")
