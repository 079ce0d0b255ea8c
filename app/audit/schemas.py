from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import UtcDatetime


class CheckRecordOut(BaseModel):
    check_id: str
    decided_at: UtcDatetime
    at: UtcDatetime
    tenant_id: str | None
    api_key_id: str | None
    phone: str
    channel: str = Field(description="The check's input, as asked: voice or sms.")
    recipient_state: str | None = Field(description="The check's input, as asked (or null).")
    outcome: str
    error: str | None
    details: dict[str, Any]
    request_id: str


class EventOut(BaseModel):
    id: str
    at: UtcDatetime
    actor_key_id: str | None
    type: str
    target: str
    details: dict[str, Any]


class VerifyOut(BaseModel):
    ok: bool
    records: int
    tenants: int = Field(description="Whose chains were walked (a platform key: every tenant's).")
    head: str | None
    first_bad: str | None
    first_bad_tenant_id: str | None = Field(description="The tenant of `first_bad`.")


class Counts(BaseModel):
    allowed: int
    invalid_phone: int
    opted_out: int
    dnc_blocked: int
    call_hours_violation: int


class Bucket(BaseModel):
    start: UtcDatetime = Field(description="The bucket's first instant (UTC hour or day).")
    allowed: int
    invalid_phone: int
    opted_out: int
    dnc_blocked: int
    call_hours_violation: int


class StatsOut(BaseModel):
    since: UtcDatetime = Field(description="`since`, rounded down to its bucket.")
    until: UtcDatetime = Field(description="`until`, rounded up to a bucket's end.")
    bucket: Literal["hour", "day"]
    buckets: list[Bucket] = Field(description="Every bucket of the range, oldest first.")
    totals: Counts
