from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import UtcDatetime

ItemType = Literal["check", "dnc.added", "dnc.removed", "optout", "optin"]


class ListHolding(BaseModel):
    list_id: str
    list_name: str
    kind: str = Field(
        description="`registry`, `internal` or `litigator`; every list is `internal` until list "
        "kinds exist."
    )
    scope: str
    listed_at: UtcDatetime


class ChannelsNow(BaseModel):
    voice: bool
    sms: bool


class NumberNow(BaseModel):
    lists: list[ListHolding] = Field(
        description="The live lists that hold the number now (unexpired) and decide the "
        "tenant's checks: global lists and the tenant's own."
    )
    opted_out: ChannelsNow
    consents: list[dict[str, Any]] = Field(
        description="Consents in force: always empty until consents exist (API-2.md section 13)."
    )
    attempts_24h: int = Field(
        description="Call attempts in the last 24 hours: always 0 until attempts exist "
        "(API-2.md section 14)."
    )


class HistoryItem(BaseModel):
    at: UtcDatetime = Field(description="When it happened (a check: when it was decided).")
    type: ItemType
    summary: str = Field(description="One sentence for a person.")
    details: dict[str, Any]


class NumberHistory(BaseModel):
    phone: str
    now: NumberNow
    data: list[HistoryItem] = Field(description="The timeline, newest first.")
    next_cursor: str | None
