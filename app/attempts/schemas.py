"""Call attempts in and out (API-2.md section 14)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.core.channels import Channel
from app.core.schemas import RequestTime, TextInput, UtcDatetime

MAX_ITEMS = 10_000
MAX_PURPOSE = 64
Disposition = Literal["connected", "no_answer", "busy", "voicemail", "failed"]


class AttemptIn(TextInput):
    phone: Annotated[str, Field(max_length=64, description="E.164, e.g. +14155551234")]
    at: RequestTime = Field(
        description="When the call was placed (or the text sent), with its offset; at most 5 "
        "minutes ahead of the server's clock, and not older than the attempts are kept."
    )
    purpose: Annotated[str, Field(min_length=1, max_length=MAX_PURPOSE)] = Field(
        default="default",
        description="What the call was about (the caps' “same subject”); the check's `purpose`.",
    )
    channel: Channel = Field(default="voice", description="`voice` (a call) or `sms` (a text).")
    check_id: Annotated[str | None, Field(max_length=40)] = Field(
        default=None, description="The check that allowed it (`chk_…`), if any."
    )
    disposition: Disposition = Field(
        description="How it ended: `connected` (a conversation: starts the policy's "
        "`after_conversation_hours`), `no_answer`, `busy`, `voicemail` or `failed`. Every "
        "attempt counts against the caps, answered or not."
    )


class AttemptsIn(TextInput):
    items: Annotated[list[AttemptIn], Field(min_length=1, max_length=MAX_ITEMS)]


class AttemptsRecorded(BaseModel):
    recorded: int = Field(description="How many attempts were recorded (all of the request's).")


class AttemptOut(BaseModel):
    id: str = Field(description="att_…")
    phone: str
    at: UtcDatetime
    purpose: str
    channel: str
    disposition: Disposition | None = Field(
        description="null: reserved by an allowed check (`reserve`), its outcome not reported."
    )
    check_id: str | None
    recorded_at: UtcDatetime = Field(description="When callguard recorded it.")


REQUEST_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "phone": "+14155552671",
            "at": "2026-12-06T15:04:05Z",
            "purpose": "renewal",
            "channel": "voice",
            "check_id": "chk_1Dk3Jq0aB7xYz2mN4",
            "disposition": "no_answer",
        }
    ]
}

EXAMPLE: dict[str, Any] = {
    "id": "att_1Dk3Jq0aB7xYz2mN",
    "phone": "+14155552671",
    "at": "2026-12-06T15:04:05Z",
    "purpose": "renewal",
    "channel": "voice",
    "disposition": "no_answer",
    "check_id": "chk_1Dk3Jq0aB7xYz2mN4",
    "recorded_at": "2026-12-06T15:04:09Z",
}
