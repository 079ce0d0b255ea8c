from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.channels import sql_in
from app.core.models import Base

# registry: a government registry's copy (waivable by an exemption, has a maximum age);
# internal: this seller's own do-not-call list; litigator: known serial TCPA plaintiffs
LIST_KINDS = ("registry", "internal", "litigator")
REGISTRY_MAX_AGE_DAYS = 31
ENTRY_KEY = "CASE WHEN compact THEN -seq ELSE seq END"


def compact_layout(scope: str, kind: str) -> bool:
    """Whether a new list's entries skip the list-order index: a global registry list's."""
    return scope == "global" and kind == "registry"


class DncList(Base):
    __tablename__ = "dnc_lists"
    __table_args__ = (
        CheckConstraint("scope IN ('tenant', 'global')", name="scope"),
        CheckConstraint("(scope = 'global') = (tenant_id IS NULL)", name="scope_tenant"),
        CheckConstraint(f"kind IN {sql_in(LIST_KINDS)}", name="kind"),
        # a registry copy has a maximum age (31 days unless set); other kinds have none
        CheckConstraint("(kind = 'registry') = (max_age_days IS NOT NULL)", name="max_age_kind"),
        CheckConstraint("max_age_days BETWEEN 1 AND 3660", name="max_age_days"),
        # the registry lists a check must know the freshness of (a few rows)
        Index(
            "ix_dnc_lists_live_registry",
            "tenant_id",
            postgresql_where=text("kind = 'registry' AND deleted_at IS NULL"),
        ),
        # names are unique per tenant among live lists, and among live global lists
        Index(
            "uq_dnc_lists_live_name",
            text("coalesce(tenant_id, '')"),
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # a compact key for the (very many) entries, 4 bytes instead of a 20-byte id
    seq: Mapped[int] = mapped_column(Integer, Identity(always=True), unique=True)
    # set when the list is made, never changed (a trigger refuses it): a global registry list,
    # the operator's copy of a national or state registry, which holds most of all entries.
    # Its entries carry a negative key and are left out of the list-order index (DncEntry)
    compact: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # what the list's entries carry as `list_key`: its seq, negated for a compact list
    entry_key: Mapped[int] = mapped_column(
        Integer, Computed(ENTRY_KEY, persisted=True), unique=True
    )
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"))
    scope: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    kind: Mapped[str] = mapped_column(String(10), server_default="internal")
    # the list's creation, then the finish of each succeeded append or replace upload
    refreshed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    max_age_days: Mapped[int | None] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DncEntry(Base):
    """One number on one list. Numbers are the ten national digits as an integer; the primary
    key (number, list_key) finds every list holding a number in one index probe. `list_key` is
    the list's `entry_key`. No foreign key: bulk loads would pay a trigger per row; lists are
    only ever soft-deleted.

    A list's numbers in order (paged listings, the merges of replace uploads) are read through
    `(list_key, number)`, an index of the lists with a positive key only. A compact list (a
    global registry list: a national registry's copy is hundreds of millions of numbers, most
    of all entries) is read in order through the primary key instead: its entries cost 84
    bytes instead of 115 (docs/BENCHMARKS.md, issue 22; docs/ARCHITECTURE.md says what that
    costs a compact list that is small beside another)."""

    __tablename__ = "dnc_entries"
    __table_args__ = (
        Index(
            "ix_dnc_entries_list_key_number",
            "list_key",
            "number",
            postgresql_where=text("list_key > 0"),
        ),
    )

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    list_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
