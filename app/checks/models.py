"""The check records table as metadata (it is created by migration 0007 as a table partitioned
by month, and read and written in SQL only: rows are never loaded as ORM objects), and the
hourly counts of its decisions that a trigger keeps (migration 0013)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from app.core.models import Base

# the counted outcomes: `allowed`, `invalid` (invalid_phone) and the three reasons to block
COUNTED = ("allowed", "invalid_phone", "opted_out", "dnc_blocked", "call_hours_violation")

check_records = Table(
    "check_records",
    Base.metadata,
    # the indexed ids compare byte by byte (migration 0009)
    Column("id", String(40, collation="C"), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("tenant_id", String(40, collation="C")),
    Column("api_key_id", String(40)),
    Column("request_id", String(128), nullable=False),
    Column("phone", Text(collation="C"), nullable=False),  # byte order too (migration 0013)
    Column("at", DateTime(timezone=True), nullable=False),
    Column("channel", String(5), nullable=False),
    Column("recipient_state", String(8)),
    Column("batch", Boolean, nullable=False, server_default=text("false")),
    Column("outcome", String(8), nullable=False),
    Column("error", String(32)),
    Column("details", JSON, nullable=False),  # kept as written (migration 0010)
    Column("lane", String(40, collation="C"), nullable=False),
    Column("lane_seq", BigInteger, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    CheckConstraint("outcome IN ('allowed', 'blocked', 'invalid')", name="outcome"),
    PrimaryKeyConstraint("id", "decided_at", name="pk_check_records"),
    # ascending: newest-first reads go backwards, and a batch's entries are appended in order
    Index("ix_check_records_tenant_decided", "tenant_id", "decided_at", "id"),
    Index("ix_check_records_chain", "tenant_id", "lane", "lane_seq"),
    # a number's records, newest first (its history)
    Index("ix_check_records_tenant_phone", "tenant_id", "phone", "decided_at", "id"),
    postgresql_partition_by="RANGE (decided_at)",
)

# How many decisions of each outcome a tenant's checks had in an hour (UTC), per writer lane:
# the statement-level trigger `check_records_counted` (migration 0013) adds every written batch
# in the batch's own statement; a lane is one slot's, so concurrent batches never touch the same
# row. Upkeep merges the lanes of past hours into one row (lane ''), and adds them to the hour's
# row of every tenant together (`tenant_id` '*', migration 0021). `tenant_id` '' is the
# platform's own checks (a key column cannot be NULL).
check_counts = Table(
    "check_counts",
    Base.metadata,
    Column("tenant_id", String(40, collation="C"), nullable=False),
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("lane", String(40, collation="C"), nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in COUNTED),
    PrimaryKeyConstraint("tenant_id", "hour", "lane", name="pk_check_counts"),
    # made for every tenant's sums, which read the '*' rows now (migration 0021); left for now
    Index("ix_check_counts_hour", "hour"),
    # the rows `compact_check_counts` has still to merge into one per tenant and hour
    Index("ix_check_counts_lanes", "hour", postgresql_where=text("lane <> ''")),
)
