"""Check records: the append-only, hash-chained audit trail of every decision, by month

Revision ID: 0007_check_records
Revises: 0006_optouts
Create Date: 2026-11-22 08:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_check_records"
down_revision: str | None = "0006_optouts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partitions are months named check_records_pYYYYMM; this function makes the ones missing from
# this month to `ahead` months on. The app calls it at start and every hour.
ENSURE_PARTITIONS = """
CREATE FUNCTION ensure_check_partitions(ahead integer) RETURNS integer
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


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE check_records (
            id varchar(40) NOT NULL,
            decided_at timestamptz NOT NULL,
            tenant_id varchar(40),
            api_key_id varchar(40),
            request_id varchar(128) NOT NULL,
            phone text NOT NULL,
            at timestamptz NOT NULL,
            channel varchar(5) NOT NULL,
            recipient_state varchar(8),
            batch boolean NOT NULL DEFAULT false,
            outcome varchar(8) NOT NULL,
            error varchar(32),
            details jsonb NOT NULL,
            lane varchar(40) NOT NULL,
            lane_seq bigint NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL,
            CONSTRAINT ck_check_records_outcome
                CHECK (outcome IN ('allowed', 'blocked', 'invalid')),
            CONSTRAINT pk_check_records PRIMARY KEY (id, decided_at)
        ) PARTITION BY RANGE (decided_at)
        """
    )
    # the auditors' query: a tenant's records by time, newest first
    op.execute(
        "CREATE INDEX ix_check_records_tenant_decided ON check_records "
        "(tenant_id, decided_at DESC, id DESC)"
    )
    # one record by id, whatever its month
    op.execute("CREATE INDEX ix_check_records_id ON check_records (id)")
    # the chains, walked in order by verify
    op.execute("CREATE INDEX ix_check_records_chain ON check_records (tenant_id, lane, lane_seq)")
    op.execute(
        "CREATE TRIGGER check_records_append_only BEFORE UPDATE OR DELETE ON check_records "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER check_records_no_truncate BEFORE TRUNCATE ON check_records "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
    )
    op.execute(ENSURE_PARTITIONS)
    op.execute("SELECT ensure_check_partitions(3)")


def downgrade() -> None:
    op.execute("DROP TABLE check_records")
    op.execute("DROP FUNCTION ensure_check_partitions(integer)")
