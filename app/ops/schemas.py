from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import UtcDatetime


class Health(BaseModel):
    status: str


class ReadinessWarning(BaseModel):
    """A registry list past its maximum age (`registry_stale`) or within 7 days of it
    (`registry_aging`): the service is ready, but an operator should refresh the list."""

    code: Literal["registry_stale", "registry_aging"] = Field(examples=["registry_stale"])
    list_id: str = Field(examples=["lst_01JEXAMPLE0000000000000000"])
    tenant_id: str | None = Field(description="null for a global list.")
    refreshed_at: UtcDatetime
    stale_at: UtcDatetime = Field(description="When the list is (or was) past its maximum age.")


class Readiness(BaseModel):
    status: str
    schema_revision: str
    warnings: list[ReadinessWarning] = Field(
        default_factory=list,
        description="Registry lists stale or within 7 days of it, by `stale_at`; they do not "
        "make the service unready (checks answer as each tenant's on_stale_registry says).",
    )
