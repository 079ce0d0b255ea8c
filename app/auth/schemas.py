from typing import Annotated

from pydantic import BaseModel, Field

from app.auth.principal import Scope
from app.core.schemas import RequestTime, TextInput, UtcDatetime

Name = Annotated[str, Field(min_length=1, max_length=200)]


class TenantIn(TextInput):
    name: Name


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: UtcDatetime


class ApiKeyIn(TextInput):
    name: Annotated[str, Field(max_length=200)] = ""
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expires_at: RequestTime | None = None
    tenant_id: str | None = Field(default=None, description="Admin only: the key's tenant.")


class ApiKeyOut(BaseModel):
    id: str
    prefix: str = Field(description="The first characters of the key, to recognise it by.")
    name: str
    scopes: list[str]
    tenant_id: str | None
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    rotated_at: UtcDatetime | None
    replaced_by: str | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown once, in this response only.")


class RotateIn(TextInput):
    grace_seconds: Annotated[int, Field(ge=0, le=30 * 86400)] = 86400


class MeOut(BaseModel):
    """The calling key, as the console shows who is signed in and what it may do."""

    key_id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it by.")
    tenant_id: str | None = Field(description="null for a platform key.")
    tenant_name: str | None
    scopes: list[str] = Field(description="As granted; `admin` implies every other scope.")
    expires_at: UtcDatetime | None
