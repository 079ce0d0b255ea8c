"""The call attempts table as metadata (migration 0016 makes it partitioned by the month of `at`,
with a default partition for months not made; read and written in SQL only)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

from app.core.channels import CHANNELS, sql_in
from app.core.models import Base

DISPOSITIONS = ("connected", "no_answer", "busy", "voicemail", "failed")

call_attempts = Table(
    "call_attempts",
    Base.metadata,
    Column("id", String(40, collation="C"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("tenant_id", String(40, collation="C"), nullable=False),
    Column("number", BigInteger, nullable=False),  # the ten national digits
    Column("purpose", String(64), nullable=False, server_default="default"),
    Column("channel", String(5), nullable=False, server_default="voice"),
    # null for an attempt reserved by an allowed check (its outcome is not known then)
    Column("disposition", String(10)),
    Column("check_id", String(40, collation="C")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"channel IN {sql_in(CHANNELS)}", name="channel"),
    CheckConstraint(f"disposition IN {sql_in(DISPOSITIONS)}", name="disposition"),
    PrimaryKeyConstraint("id", "at", name="pk_call_attempts"),
    # the check's probe: a tenant's attempts at a number in a window ending at the check's `at`
    Index("ix_call_attempts_tenant_number_at", "tenant_id", "number", "at"),
    postgresql_partition_by="RANGE (at)",
)
