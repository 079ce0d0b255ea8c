from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class ChangeEvent(Base):
    """Every change to what decides a check, recorded in the transaction that makes it."""

    __tablename__ = "change_events"
    __table_args__ = (
        Index("ix_change_events_tenant_id_at", "tenant_id", "at"),
        # every listing of them, newest first (migration 0020)
        Index("ix_change_events_at", "at", "id"),
        # what happened to one thing (a number's DNC changes), newest first
        Index("ix_change_events_target_at", "target", "at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    actor_key_id: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
