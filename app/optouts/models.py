from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.channels import OPTOUT_CHANNELS, SOURCES, sql_in
from app.core.models import Base


class OptOutEvent(Base):
    """One opt-out or opt-in, as it happened. Append-only: a trigger refuses UPDATE and DELETE."""

    __tablename__ = "optout_events"
    __table_args__ = (
        CheckConstraint(f"channel IN {sql_in(OPTOUT_CHANNELS)}", name="channel"),
        CheckConstraint("kind IN ('opt_out', 'opt_in')", name="kind"),
        CheckConstraint(f"source IN {sql_in(SOURCES)}", name="source"),
        # a number's history, newest first
        Index(
            "ix_optout_events_history",
            "tenant_id",
            "number",
            text("occurred_at DESC"),
            text("seq DESC"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    note: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[str | None] = mapped_column(String(40))
    upload_id: Mapped[str | None] = mapped_column(String(40))


class OptOutState(Base):
    """Per tenant and number, the newest event deciding each channel (its own or `all`), kept
    in the transaction of every event: the check reads it with one primary-key probe."""

    __tablename__ = "optout_state"
    __table_args__ = (
        Index(
            "ix_optout_state_opted_out",
            "tenant_id",
            "number",
            postgresql_where=text("voice_out OR sms_out"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    voice_out: Mapped[bool] = mapped_column(server_default=false())
    voice_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voice_event_id: Mapped[str | None] = mapped_column(String(40))
    voice_channel: Mapped[str | None] = mapped_column(String(5))
    voice_source: Mapped[str | None] = mapped_column(String(10))
    sms_out: Mapped[bool] = mapped_column(server_default=false())
    sms_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sms_event_id: Mapped[str | None] = mapped_column(String(40))
    sms_channel: Mapped[str | None] = mapped_column(String(5))
    sms_source: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
