from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.core.schemas import RequestDate, RequestTime, TextInput, UtcDatetime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]
# a day's window, [start, end]: an array of two clock times (minItems and maxItems 2), plain JSON
# Schema that every client generator and schemathesis read, not a tuple (prefixItems; API-2.md)
DayWindow = Annotated[list[Clock], Field(min_length=2, max_length=2)] | None
StaleRegistry = Annotated[
    Literal["refuse", "allow"],
    Field(
        description=(
            "While a registry list that applies to a check is stale (older than its max_age_days):"
            " `refuse` answers 503 service_unavailable with details.reason `registry_stale` (fail"
            " closed: a stale copy could miss a registration); `allow` answers as usual, with a"
            " `registry_stale` warning. Default `refuse`."
        ),
        examples=["refuse"],
    ),
]
MAX_POLICY_CAPS = 20
CapPer = Annotated[
    Literal["number", "number_and_purpose"],
    Field(
        description=(
            "`number`: every attempt at the number counts; `number_and_purpose`: only those on"
            " the check's `purpose`."
        ),
        examples=["number"],
    ),
]


class PolicyCap(TextInput):
    """At most `max_calls` attempts (calls and texts, answered or not) within a rolling
    `within_hours`; an attempt counts from its `at` up to, not including, `at` + the window."""

    max_calls: Annotated[int, Field(ge=1, le=1000, examples=[7])]
    within_hours: Annotated[int, Field(ge=1, le=8760, examples=[168])]
    per: CapPer = "number"


AfterConversationHours = Annotated[
    int | None,
    Field(
        ge=1,
        le=8760,
        description=(
            "No call for this many hours after an attempt with disposition `connected` (e.g."
            " Regulation F's 168); null: none."
        ),
        examples=[168],
    ),
]


class LawCapOut(BaseModel):
    """A frequency cap the law sets (data/frequency_caps.csv), applied when its jurisdiction
    applies to the check (the area code's state or `recipient_state`)."""

    id: str = Field(examples=["US-FL"])
    max_calls: int = Field(examples=[3])
    within_hours: int = Field(examples=[24])
    per: CapPer
    since: date | None = Field(description="The law's first day.", examples=["2021-07-01"])
    source: str
    confidence: str = Field(examples=["confirmed"])


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
    on_stale_registry: StaleRegistry = "refuse"
    frequency_caps: Annotated[
        list[PolicyCap],
        Field(
            default_factory=list,
            max_length=MAX_POLICY_CAPS,
            description=(
                "The tenant's own frequency caps, added to the law's (they can only narrow);"
                " default none."
            ),
        ),
    ]
    after_conversation_hours: AfterConversationHours = None

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
    on_stale_registry: StaleRegistry
    frequency_caps: list[PolicyCap]
    after_conversation_hours: AfterConversationHours
    updated_at: UtcDatetime


class JurisdictionOut(BaseModel):
    id: str
    windows: dict[str, DayWindow]
    banned_days: list[str] = Field(description="Holiday calendars whose days are banned.")
    source: str
    confidence: str


class CallingRulesOut(BaseModel):
    jurisdictions: list[JurisdictionOut]
    frequency_caps: list[LawCapOut] = Field(
        description="The laws' frequency caps, with their sources."
    )
    bans: list[BanOut]
    policy: PolicyOut | None
