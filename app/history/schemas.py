from typing import Any, Literal

from pydantic import BaseModel, Field

from app.consents.schemas import ConsentOut
from app.core.schemas import UtcDatetime

ItemType = Literal[
    "check", "dnc.added", "dnc.removed", "optout", "optin", "consent.granted", "consent.revoked"
]


class ListHolding(BaseModel):
    list_id: str
    list_name: str
    kind: str = Field(
        description="The list's kind: `registry`, `internal` or `litigator` (API-2.md section 12)."
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
    consents: list[ConsentOut] = Field(
        description="The tenant's consents for the number in force now, newest obtained first "
        "(API-2.md section 13)."
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
