from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.core.channels import OptOutChannel
from app.core.channels import Source as Source
from app.core.schemas import RequestTime, TextInput, UtcDatetime

Channel = OptOutChannel


class OptOutIn(TextInput):
    phone: Annotated[str, Field(max_length=64, description="E.164, e.g. +14155551234")]
    channel: Channel = "all"
    source: Source = "api"
    occurred_at: RequestTime | None = Field(
        default=None, description="When consent was revoked (default now; not in the future)."
    )
    note: Annotated[str, Field(max_length=1000)] | None = None


class OptOutEventOut(BaseModel):
    id: str
    phone: str
    channel: str
    source: str
    occurred_at: UtcDatetime
    note: str | None
    kind: Literal["opt_out", "opt_in"]


class RecordedOptOutEvent(OptOutEventOut):
    """An event as a number's history shows it: also who recorded it, when, from which upload."""

    recorded_at: UtcDatetime
    actor_key_id: str | None
    upload_id: str | None


class ChannelState(BaseModel):
    voice: bool
    sms: bool


class OptOutStateOut(BaseModel):
    phone: str
    opted_out: ChannelState
    history: list[OptOutEventOut] = Field(description="Every event, newest first.")


class OptedOutNumber(BaseModel):
    phone: str
    opted_out: ChannelState
    updated_at: UtcDatetime = Field(description="When the newest deciding event occurred.")
