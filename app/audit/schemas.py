from typing import Any

from pydantic import BaseModel

from app.core.schemas import UtcDatetime


class CheckRecordOut(BaseModel):
    check_id: str
    decided_at: UtcDatetime
    at: UtcDatetime
    tenant_id: str | None
    api_key_id: str | None
    phone: str
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
    head: str | None
    first_bad: str | None
