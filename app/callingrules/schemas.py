from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.core.schemas import RequestDate, RequestTime, TextInput, UtcDatetime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]
# a day's window, [start, end]: an array of two clock times (minItems and maxItems 2), plain JSON
# Schema that every client generator and schemathesis read, not a tuple (prefixItems; API-2.md)
DayWindow = Annotated[list[Clock], Field(min_length=2, max_length=2)] | None
JurisdictionId = Annotated[str, Field(pattern=r"^[A-Z]{2}(-[A-Z]{2})?$", examples=["US-LA"])]


class BanIn(TextInput):
    jurisdiction: JurisdictionId
    starts_at: RequestTime
    ends_at: RequestTime
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _ordered(self) -> "BanIn":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class BanOut(BaseModel):
    id: str
    jurisdiction: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: str
    created_at: UtcDatetime
    lifted_at: UtcDatetime | None


class PolicyIn(TextInput):
    """Every day must be given: a window ["HH:MM", "HH:MM"] (start inclusive, end exclusive) or
    null for no calls that day."""

    windows: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], DayWindow]
    banned_dates: Annotated[list[RequestDate], Field(default_factory=list, max_length=1000)]

    @model_validator(mode="after")
    def _complete(self) -> "PolicyIn":
        missing = [day for day in DAYS if day not in self.windows]
        if missing:
            raise ValueError(f"windows needs every day; missing {', '.join(missing)}")
        for day, window in self.windows.items():
            if window is not None and not window[0] < window[1]:
                raise ValueError(f"{day}: the window must start before it ends")
        return self


class PolicyOut(BaseModel):
    tenant_id: str
    windows: dict[str, DayWindow]
    banned_dates: list[date]
    updated_at: UtcDatetime


class JurisdictionOut(BaseModel):
    id: str
    windows: dict[str, DayWindow]
    banned_days: list[str] = Field(description="Holiday calendars whose days are banned.")
    source: str
    confidence: str


class CallingRulesOut(BaseModel):
    jurisdictions: list[JurisdictionOut]
    bans: list[BanOut]
    policy: PolicyOut | None
