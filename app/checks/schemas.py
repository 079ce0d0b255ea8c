from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from app.core.channels import Channel
from app.core.schemas import DateTimeText, StrictInput, not_a_number

State = Annotated[str, Field(min_length=2, max_length=2, description="e.g. CA, TX, ON")]


class CheckIn(StrictInput):
    to: Annotated[str, Field(max_length=256, description="E.164, e.g. +14155551234")]
    at: Annotated[AwareDatetime, BeforeValidator(not_a_number)] | None = Field(
        default=None,
        description="When the call would be placed: RFC 3339 with its offset (an epoch "
        "number is refused).",
    )
    recipient_state: State | None = None
    channel: Channel = "voice"


class BatchItemIn(StrictInput):
    to: Annotated[str, Field(max_length=256)]
    recipient_state: State | None = None


class BatchIn(StrictInput):
    items: Annotated[list[BatchItemIn], Field(min_length=1, max_length=10_000)]
    at: Annotated[AwareDatetime, BeforeValidator(not_a_number)] | None = None
    channel: Channel = "voice"


class Zone(BaseModel):
    time_zone: str
    local_time: DateTimeText


class CheckOk(BaseModel):
    ok: Literal[True]
    check_id: str
    to: str
    at: DateTimeText
    zones: list[Zone]
    jurisdictions: list[str]
    allowed_until: DateTimeText | None


class BatchFailedItem(BaseModel):
    to: str
    ok: Literal[False]
    error: str
    message: str
    details: dict[str, object]
    check_id: str


class BatchSummary(BaseModel):
    allowed: int
    invalid_phone: int
    opted_out: int
    dnc_blocked: int
    call_hours_violation: int


class BatchOut(BaseModel):
    results: list[CheckOk | BatchFailedItem]
    summary: BatchSummary
