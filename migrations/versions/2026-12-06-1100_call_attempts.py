"""Call attempts (API-2.md section 14): append-only, partitioned by the month of `at`

Monthly partitions are made ahead by `ensure_attempt_partitions(ahead)` (the checks' upkeep runs
it; made alone then attached, so inserts never queue behind it), and an attempt in a month not
made (far past or future) lands in the default partition. Old months are dropped after
`CALLGUARD_ATTEMPT_RETENTION_DAYS` by `drop_attempt_partitions(before)` (whole months; what
the default partition holds is kept). Rows are never updated or deleted one by one (a trigger
refuses it), so a month the default partition already holds attempts of is not made.

The calling policy gains the tenant's own caps (`frequency_caps`, a JSON array) and
`after_conversation_hours`.

Revision ID: 0016_call_attempts
Revises: 0015_list_kinds_consents
Create Date: 2026-12-06 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_call_attempts"
down_revision: str | None = "0015_list_kinds_consents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENSURE = """
CREATE FUNCTION ensure_attempt_partitions(ahead integer) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
DECLARE
    month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date - interval '1 month';
    made integer := 0;
    name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('callguard.ensure_attempt_partitions'));
    PERFORM set_config('lock_timeout', '2s', true);
    FOR i IN 0..ahead + 1 LOOP
        name := format('call_attempts_p%s', to_char(month, 'YYYYMM'));
        -- a month the default partition already holds attempts of stays there (rows are never
        -- moved: the table is append-only)
        IF to_regclass(name) IS NULL AND NOT EXISTS (
            SELECT 1 FROM call_attempts_default
            WHERE at >= (month::timestamp AT TIME ZONE 'UTC')
              AND at < ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC')
        ) THEN
            EXECUTE format(
                'CREATE TABLE %I (LIKE call_attempts INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                name
            );
            EXECUTE format(
                'ALTER TABLE call_attempts ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
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

DROP_OLD = """
CREATE FUNCTION drop_attempt_partitions(before timestamptz) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = @SCHEMA@, pg_temp
AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    PERFORM set_config('lock_timeout', '2s', true);
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'call_attempts'::regclass AND c.relname ~ '^call_attempts_p[0-9]{6}$'
    LOOP
        -- a month's partition goes once its whole month is older than `before`
        IF (to_date(substr(part.relname, 16), 'YYYYMM') + interval '1 month')::timestamp
           AT TIME ZONE 'UTC' <= before THEN
            EXECUTE format('ALTER TABLE call_attempts DETACH PARTITION %I', part.relname);
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$
"""


def upgrade() -> None:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    op.execute(
        """
        CREATE TABLE call_attempts (
            id varchar(40) COLLATE "C" NOT NULL,
            at timestamptz NOT NULL,
            tenant_id varchar(40) COLLATE "C" NOT NULL,
            number bigint NOT NULL,
            purpose varchar(64) NOT NULL DEFAULT 'default',
            channel varchar(5) NOT NULL DEFAULT 'voice',
            disposition varchar(10),
            check_id varchar(40) COLLATE "C",
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_call_attempts_channel CHECK (channel IN ('voice', 'sms')),
            CONSTRAINT ck_call_attempts_disposition
                CHECK (disposition IN ('connected', 'no_answer', 'busy', 'voicemail', 'failed')),
            CONSTRAINT pk_call_attempts PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at)
        """
    )
    op.execute(
        "CREATE INDEX ix_call_attempts_tenant_number_at ON call_attempts (tenant_id, number, at)"
    )
    op.execute("CREATE TABLE call_attempts_default PARTITION OF call_attempts DEFAULT")
    op.execute(
        "CREATE TRIGGER call_attempts_append_only BEFORE UPDATE OR DELETE ON call_attempts "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(ENSURE.replace("@SCHEMA@", str(schema)))
    op.execute(DROP_OLD.replace("@SCHEMA@", str(schema)))
    op.execute("SELECT ensure_attempt_partitions(3)")
    op.add_column(
        "calling_policies",
        sa.Column(
            "frequency_caps",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "calling_policies", sa.Column("after_conversation_hours", sa.Integer(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("calling_policies", "after_conversation_hours")
    op.drop_column("calling_policies", "frequency_caps")
    op.execute("DROP TABLE call_attempts")
    op.execute("DROP FUNCTION ensure_attempt_partitions(integer)")
    op.execute("DROP FUNCTION drop_attempt_partitions(timestamptz)")
