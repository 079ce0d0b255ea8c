from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base

SCRUB_STATUSES = ("queued", "running", "succeeded", "failed")


class Scrub(Base):
    """A campaign file decided row by row as checks at one instant would decide it (API-2.md
    section 15). Its result is a file in the data folder, kept until `expires_at`; the job, its
    summary and its hashes stay."""

    __tablename__ = "scrubs"
    __table_args__ = (
        Index("ix_scrubs_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_scrubs_status_heartbeat_at", "status", "heartbeat_at"),
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(5))
    purpose: Mapped[str] = mapped_column(Text)
    column_name: Mapped[str | None] = mapped_column(Text)
    gzip: Mapped[bool] = mapped_column(Boolean, server_default="false")
    rows_read: Mapped[int] = mapped_column(BigInteger, server_default="0")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    input_sha256: Mapped[str | None] = mapped_column(String(64))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the result file was deleted (retention); the job and its hashes stay
    result_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
