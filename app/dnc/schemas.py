from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.schemas import RequestTime, TextInput, UtcDatetime
from app.uploads.schemas import UploadSummary

ListKind = Literal["registry", "internal", "litigator"]
KIND_DOC = (
    "`registry`: a copy of a government registry (the US National DNC Registry, a state list,"
    " Canada's DNCL); only its matches can be waived by an exemption, and it has a maximum age."
    " `internal`: people who asked this seller not to call (never waived). `litigator`: numbers"
    " of known serial TCPA plaintiffs (never waived)."
)
Kind = Annotated[ListKind, Field(description=KIND_DOC, examples=["registry"])]
Description = Annotated[str, Field(max_length=2000)]
MaxAgeDays = Annotated[
    int,
    Field(
        ge=1,
        le=3660,
        description=(
            "Registry lists only: the days a copy may be used after `refreshed_at` before it is"
            " stale (31 when not given: the US and Canadian rule; about 92 for a state list"
            " published quarterly)."
        ),
        examples=[31],
    ),
]


class ListIn(TextInput):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    scope: Literal["tenant", "global"] = "tenant"
    description: Description = ""
    kind: Kind = "internal"
    max_age_days: MaxAgeDays | None = None

    @model_validator(mode="after")
    def _age_of_a_registry(self) -> "ListIn":
        if self.max_age_days is not None and self.kind != "registry":
            raise ValueError("max_age_days is for registry lists only (send kind: registry)")
        return self


class ListPatch(TextInput):
    """A partial change: only the fields given change. A list that becomes `registry` without a
    `max_age_days` gets 31; one that stops being `registry` loses its `max_age_days`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "registry", "max_age_days": 92}]}
    )

    kind: Kind | None = None
    description: Description | None = None
    max_age_days: MaxAgeDays | None = Field(
        default=None,
        description=(
            "Registry lists only (1 to 3660). null on a registry list puts back the default, 31."
        ),
    )

    @model_validator(mode="after")
    def _no_null_kind_or_description(self) -> "ListPatch":
        for name in ("kind", "description"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may be left out, but not null")
        return self


class ListOut(BaseModel):
    id: str
    name: str
    scope: str
    tenant_id: str | None
    description: str
    kind: Kind
    refreshed_at: UtcDatetime = Field(
        description=(
            "The list's creation, then the finish of each succeeded `append` or `replace`"
            " upload (`remove` uploads and single numbers do not refresh a list)."
        )
    )
    max_age_days: int | None = Field(
        description="Registry lists: the days a copy may be used after `refreshed_at`; null"
        " for other kinds.",
        examples=[31],
    )
    stale_at: UtcDatetime | None = Field(
        description=(
            "Registry lists: `refreshed_at` + `max_age_days` days; past this instant the list is"
            " stale until an `append` or `replace` upload refreshes it. null for other kinds."
        )
    )
    stale: bool = Field(
        description="True when a registry list is past `stale_at`: checks it applies to answer"
        " as the tenant's policy's `on_stale_registry` says (503 by default). Always false for"
        " other kinds."
    )
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
    kind: Kind
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
    kind: Kind
    scope: str
    listed_at: UtcDatetime
    reason: str | None
    expires_at: UtcDatetime | None


class RegistryAge(BaseModel):
    """A live registry list's freshness at an instant (/readyz, /metrics)."""

    list_id: str
    tenant_id: str | None
    scope: str
    refreshed_at: UtcDatetime
    max_age_days: int
    stale_at: UtcDatetime
    age_seconds: float
    state: Literal["fresh", "aging", "stale"]


class DncUploadSummary(UploadSummary):
    """A DNC upload in a listing: its counts without its row errors (read one upload for
    those), and the list it merges into."""

    list_id: str
    list_name: str | None = Field(
        default=None, description="The list's name (deleted lists keep theirs).", examples=["FTC"]
    )
