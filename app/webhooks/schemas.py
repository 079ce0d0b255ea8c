from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.core.schemas import TextInput, UtcDatetime
from app.webhooks.catalog import DESCRIPTIONS, EventType

DeliveryStatus = Literal["pending", "succeeded", "failed"]
MAX_DESCRIPTION = 500

_EVENTS_DOC = "; ".join(f"`{name}`: {text}" for name, text in DESCRIPTIONS.items())


class WebhookIn(TextInput):
    url: Annotated[str, Field(min_length=1, max_length=2048)] = Field(
        description="Where events are POSTed: an `https://` URL whose host resolves to public "
        "addresses only (checked again at every attempt). No user name or password in it."
    )
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(DESCRIPTIONS))] = Field(
        description=f"The event types to receive. {_EVENTS_DOC}."
    )
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] = Field(
        default="", description="Free text, e.g. which system receives them."
    )

    @field_validator("events")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("name each event type once")
        return value


class WebhookOut(BaseModel):
    id: str
    tenant_id: str | None = Field(
        description="The tenant whose events it receives; null: the platform's (global lists)."
    )
    url: str
    events: list[EventType]
    description: str
    created_at: UtcDatetime
    created_by: str | None = Field(description="The key that created it.")
    failing_since: UtcDatetime | None = Field(
        description="The first failed attempt since the last success (null: not failing)."
    )
    last_success_at: UtcDatetime | None
    disabled_at: UtcDatetime | None = Field(
        description="When it was disabled after failing for 24 h straight (null: enabled); a "
        "disabled hook is sent nothing more."
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="`whsec_` and the base64 of the 32-byte HMAC key: shown in this answer "
        "only, never again."
    )


class DeliveryOut(BaseModel):
    id: str
    event_id: str = Field(description="The event's id: the `webhook-id` header of every attempt.")
    event_type: EventType
    status: DeliveryStatus = Field(
        description="`pending` until an attempt is answered 2xx (`succeeded`), or retries run "
        "out after 24 h or the hook is deleted or disabled (`failed`)."
    )
    attempts: int
    last_status_code: int | None = Field(description="The last attempt's HTTP status, if any.")
    last_error: str | None = Field(
        description="Why the last attempt failed: a status, a timeout, a refused address."
    )
    last_attempt_at: UtcDatetime | None
    next_attempt_at: UtcDatetime | None = Field(
        description="When the next attempt is due (null once the delivery has ended)."
    )
    created_at: UtcDatetime
    finished_at: UtcDatetime | None


EXAMPLE: dict[str, Any] = {
    "id": "whk_5Tq8Zr2Mx7Lc1Vb4",
    "tenant_id": "ten_3Bd9",
    "url": "https://dialer.example.com/hooks/callguard",
    "events": ["optout.recorded", "dnc.number_added", "upload.finished"],
    "description": "Dialer fleet, east",
    "created_at": "2026-12-08T09:12:40Z",
    "created_by": "key_7Hc2",
    "failing_since": None,
    "last_success_at": "2026-12-08T09:30:02Z",
    "disabled_at": None,
}
CREATED_EXAMPLE: dict[str, Any] = {
    **EXAMPLE,
    "last_success_at": None,
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9aXk1Rb3Tn0=",
}
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": "dlv_8Hs2Kd9Qm4Wz0Tn1",
    "event_id": "evt_2Lw9Xc4Rt7Bn0Qd5",
    "event_type": "optout.recorded",
    "status": "pending",
    "attempts": 2,
    "last_status_code": 503,
    "last_error": "answered 503",
    "last_attempt_at": "2026-12-08T09:31:15Z",
    "next_attempt_at": "2026-12-08T09:31:33Z",
    "created_at": "2026-12-08T09:31:02Z",
    "finished_at": None,
}
