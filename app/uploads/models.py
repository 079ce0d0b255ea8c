from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.channels import OPTOUT_CHANNELS, SOURCES, sql_in
from app.core.models import Base


class Upload(Base):
    """A bulk file: DNC numbers into a list (`kind` dnc), a tenant's opt-outs (`optout`) or
    consents (`consent`, each row with its own channel)."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_status_heartbeat_at", "status", "heartbeat_at"),
        CheckConstraint(
            "(kind = 'dnc' AND list_id IS NOT NULL AND channel IS NULL) OR "
            f"(kind = 'optout' AND list_id IS NULL AND tenant_id IS NOT NULL "
            f"AND channel IN {sql_in(OPTOUT_CHANNELS)} AND source IN {sql_in(SOURCES)} "
            "AND mode = 'append') OR "
            "(kind = 'consent' AND list_id IS NULL AND tenant_id IS NOT NULL AND mode = 'append')",
            name="kind",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), server_default="dnc")
    list_id: Mapped[str | None] = mapped_column(ForeignKey("dnc_lists.id"))
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(5))
    source: Mapped[str | None] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(8))
    force: Mapped[bool] = mapped_column(server_default=text("false"))
    column_name: Mapped[str | None] = mapped_column(Text)
    gzip: Mapped[bool] = mapped_column(server_default=text("false"))
    status: Mapped[str] = mapped_column(String(10))
    # while running: `reading` the file, then `merging` it into its target
    phase: Mapped[str | None] = mapped_column(String(10))
    rows_read: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_accepted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # valid rows whose number came earlier in the file: rows_read = accepted + rejected + these
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_added: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_removed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSONB, server_default=text("'[]'"))
    failure: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
