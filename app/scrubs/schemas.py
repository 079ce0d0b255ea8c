from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import UtcDatetime

ScrubStatus = Literal["queued", "running", "succeeded", "failed"]
Only = Literal["all", "allowed", "blocked", "invalid"]


class ScrubOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="scr_…")
    tenant_id: str | None
    status: ScrubStatus
    rows_read: int = Field(description="Rows decided so far (live while it runs).")
    summary: dict[str, int] | None = Field(
        description="Once succeeded: rows by result (allowed, invalid_phone, opted_out, "
        "dnc_blocked, call_hours_violation)."
    )
    at: UtcDatetime = Field(description="The instant every row was decided at.")
    channel: str
    purpose: str
    input_sha256: str | None = Field(description="SHA-256 of the file as it was sent.")
    result_sha256: str | None = Field(
        description="SHA-256 of the whole result (`only=all`), once succeeded."
    )
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    expires_at: UtcDatetime | None = Field(description="When the result file is deleted.")
    failure: dict[str, Any] | None


SCRUB_EXAMPLE: dict[str, Any] = {
    "id": "scr_4fJq9LmT2xVb7nRk",
    "tenant_id": "ten_1PW5YeL8GWGfC5dL8",
    "status": "succeeded",
    "rows_read": 2000000,
    "summary": {
        "allowed": 1702311,
        "invalid_phone": 9920,
        "opted_out": 19877,
        "dnc_blocked": 198412,
        "call_hours_violation": 69480,
    },
    "at": "2026-12-07T15:00:00Z",
    "channel": "voice",
    "purpose": "default",
    "input_sha256": "9f2c0e5b1d8a4c7e3b6f9a0d2c5e8b1f4a7d0c3e6b9f2a5d8c1e4b7a0d3c6f9e",
    "result_sha256": "1b4e7a0d3c6f9e2b5a8d1c4f7e0b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f1e4b",
    "created_at": "2026-12-06T10:00:00Z",
    "finished_at": "2026-12-06T10:00:09Z",
    "expires_at": "2026-12-13T10:00:09Z",
    "failure": None,
}
