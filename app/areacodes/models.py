from datetime import datetime

from sqlalchemy import ARRAY, Boolean, DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class AreaCodeRow(Base):
    """The shipped table, loaded from data/area_codes.csv by a data migration."""

    __tablename__ = "area_codes"

    npa: Mapped[str] = mapped_column(String(3), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(8))
    time_zones: Mapped[list[str]] = mapped_column(ARRAY(Text))
    geographic: Mapped[bool] = mapped_column(Boolean)
    in_service: Mapped[bool] = mapped_column(Boolean)
    parent_npa: Mapped[str | None] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(Text)


class AreaCodeOverride(Base):
    """An operator's correction of the shipped data; a null field keeps the shipped value."""

    __tablename__ = "area_code_overrides"

    npa: Mapped[str] = mapped_column(String(3), primary_key=True)
    time_zones: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    region: Mapped[str | None] = mapped_column(String(8))
    in_service: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(40))
