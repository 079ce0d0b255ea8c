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
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.channels import OPTOUT_CHANNELS, sql_in
from app.core.models import Base

BASES = ("express_written_consent", "ebr_transaction", "ebr_inquiry")


class Consent(Base):
    """A consent or established business relationship a tenant holds for a number (API-2.md
    section 13). Never deleted and never changed, except that it is revoked once: a trigger
    refuses DELETE and any UPDATE but setting `revoked_at` (and who revoked it) from null."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(f"basis IN {sql_in(BASES)}", name="basis"),
        CheckConstraint(f"channel IN {sql_in(OPTOUT_CHANNELS)}", name="channel"),
        CheckConstraint("expires_at IS NULL OR expires_at > obtained_at", name="expires_after"),
        CheckConstraint("char_length(evidence) <= 1000", name="evidence_length"),
        CheckConstraint("char_length(source) <= 200", name="source_length"),
        # the check's probe: a tenant's consents for a number
        Index("ix_consents_tenant_number", "tenant_id", "number"),
        # a tenant's consents, newest first (the page's cursor)
        Index("ix_consents_tenant_created", "tenant_id", "created_at", "id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column(BigInteger)  # the ten national digits
    basis: Mapped[str] = mapped_column(String(24))
    obtained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(5), server_default="all")
    source: Mapped[str] = mapped_column(Text, server_default="api")
    evidence: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(String(40))
    upload_id: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(40))
