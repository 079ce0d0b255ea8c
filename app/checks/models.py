"""The check records table as metadata (it is created by migration 0007 as a table partitioned
by month, and read and written in SQL only: rows are never loaded as ORM objects)."""

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

check_records = Table(
    "check_records",
    Base.metadata,
    # the indexed ids compare byte by byte (migration 0009)
    Column("id", String(40, collation="C"), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("tenant_id", String(40, collation="C")),
    Column("api_key_id", String(40)),
    Column("request_id", String(128), nullable=False),
    Column("phone", Text, nullable=False),
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
    postgresql_partition_by="RANGE (decided_at)",
)
