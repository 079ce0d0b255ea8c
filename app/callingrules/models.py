from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class CallingBan(Base):
    """A declared ban (e.g. a state emergency): no calls in the jurisdiction while it holds."""

    __tablename__ = "calling_bans"
    __table_args__ = (Index("ix_calling_bans_lifted_at_ends_at", "lifted_at", "ends_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(String(40))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallingPolicy(Base):
    """A tenant's own calling hours; intersected with the law, so it can only narrow."""

    __tablename__ = "calling_policies"
    __table_args__ = (
        CheckConstraint("on_stale_registry IN ('refuse', 'allow')", name="on_stale_registry"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    windows: Mapped[dict[str, Any]] = mapped_column(JSONB)
    banned_dates: Mapped[list[date]] = mapped_column(ARRAY(Date))
    # while a registry list that applies to a check is stale: refuse (503) or allow
    on_stale_registry: Mapped[str] = mapped_column(String(6), server_default="refuse")
    # the tenant's own frequency caps ([{"max_calls", "within_hours", "per"}], API-2.md 14) and
    # the quiet after a conversation, in hours (null: none)
    frequency_caps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    after_conversation_hours: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
