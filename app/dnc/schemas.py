from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.core.schemas import RequestTime, TextInput, UtcDatetime


class ListIn(TextInput):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    scope: Literal["tenant", "global"] = "tenant"
    description: Annotated[str, Field(max_length=2000)] = ""


class ListOut(BaseModel):
    id: str
    name: str
    scope: str
    tenant_id: str | None
    description: str
    entry_count: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class EntryIn(TextInput):
    reason: Annotated[str, Field(max_length=500)] | None = None
    expires_at: RequestTime | None = None


class EntryOut(BaseModel):
    phone: str
    listed_at: UtcDatetime
    reason: str | None
    expires_at: UtcDatetime | None


class ListMatch(BaseModel):
    list_id: str
    list_name: str
    scope: str
    listed_at: UtcDatetime


class NumberLookup(BaseModel):
    phone: str
    listed: bool
    lists: list[ListMatch]


class NumberEntry(BaseModel):
    """A number's entry on one list, with the list it is on."""

    list_id: str
    list_name: str
    kind: str
    scope: str
    listed_at: UtcDatetime
    reason: str | None
    expires_at: UtcDatetime | None
